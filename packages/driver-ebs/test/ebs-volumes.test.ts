import { CreateVolumeCommand, DescribeVolumesCommand, type Volume } from '@aws-sdk/client-ec2';
import { ErrorKind, createLogger } from '@stowage/core';
import { describe, expect, it } from 'vitest';
import { clientToken } from '../src/client-token.js';
import { CLUSTER_TAG, VOLUME_NAME_TAG } from '../src/index.js';
import { Deadline } from '../src/call-budget.js';
import { EbsVolumes } from '../src/ebs-volumes.js';
import { capturingLogger } from './support/capturing-logger.js';
import { expectStowageError as failure } from '@stowage/core/testing';
import { FakeEc2, awsError, describeFrom, filterValues } from './support/fake-ec2.js';

const tags = (name: string) => [
  { Key: VOLUME_NAME_TAG, Value: name },
  { Key: CLUSTER_TAG, Value: 'hash' },
];
const logger = createLogger({ level: 'silent' });
const timing = { minDelay: 1, maxDelay: 1, availableSeconds: 5, attachSeconds: 5 };

describe('EbsVolumes.listAll', () => {
  it('reads 1201 volumes in three DescribeVolumes pages of at most 500, filtered by the cluster tag', async () => {
    const all: Volume[] = Array.from({ length: 1201 }, (_, i) => ({
      VolumeId: `vol-${i}`,
      State: 'available',
      Tags: tags(`v${i}`),
    }));
    const ec2 = new FakeEc2({
      DescribeVolumesCommand: ({ input }) => {
        const start = Number(input.NextToken ?? 0);
        const size = Number(input.MaxResults);
        const next = start + size;
        return { Volumes: all.slice(start, next), NextToken: next < all.length ? String(next) : undefined };
      },
    });
    const volumes = await new EbsVolumes(ec2, 'c', 'hash', logger, timing).listAll();
    expect(volumes).toHaveLength(1201);
    expect(ec2.calls).toHaveLength(3);
    for (const call of ec2.calls) {
      expect(call.input).toMatchObject({ MaxResults: 500, Filters: [{ Name: 'tag:StackID', Values: ['hash'] }] });
    }
  });
});

describe('EbsVolumes.create', () => {
  it('moves to the next client token when EC2 answers IdempotentParameterMismatch', async () => {
    const tokens: unknown[] = [];
    const fresh: Volume = { VolumeId: 'vol-new', State: 'available', CreateTime: new Date(), Tags: tags('db') };
    const ec2 = new FakeEc2({
      CreateVolumeCommand: ({ input }) => {
        tokens.push(input.ClientToken);
        if (tokens.length < 3) throw awsError('IdempotentParameterMismatch');
        return fresh;
      },
      DescribeVolumesCommand: () => ({ Volumes: [fresh] }),
    });
    const volume = await new EbsVolumes(ec2, 'cluster', 'hash', logger, timing).create('db', 'us-east-1a', { Size: 1 });
    expect(volume.VolumeId).toBe('vol-new');
    expect(tokens).toEqual([0, 1, 2].map((g) => clientToken('cluster', 'db', g)));
  });

  it('moves on when the token replays a volume removed long ago, but waits for one just created', async () => {
    const old: Volume = { VolumeId: 'vol-old', State: 'creating', CreateTime: new Date(Date.now() - 3_600_000) };
    const fresh: Volume = { VolumeId: 'vol-new', State: 'available', CreateTime: new Date(), Tags: tags('db') };
    let creates = 0;
    let freshLookups = 0;
    const ec2 = new FakeEc2({
      CreateVolumeCommand: () => (++creates === 1 ? old : fresh),
      DescribeVolumesCommand: ({ input }) => {
        const ids = filterValues(input, 'volume-id');
        // EC2 has forgotten the old volume: the volume-id filter matches nothing.
        if (ids?.includes('vol-old')) return { Volumes: [] };
        // Eventual consistency: a new volume is not describable at once.
        if (ids?.includes('vol-new') && ++freshLookups === 1) return { Volumes: [] };
        return { Volumes: [fresh] };
      },
    });
    const volume = await new EbsVolumes(ec2, 'cluster', 'hash', logger, timing).create('db', 'us-east-1a', { Size: 1 });
    expect(volume.VolumeId).toBe('vol-new');
    expect(creates).toBe(2);
    const createInputs = ec2.calls
      .filter((c) => c.command === CreateVolumeCommand.name)
      .map((c) => c.input.ClientToken);
    expect(createInputs).toEqual([clientToken('cluster', 'db', 0), clientToken('cluster', 'db', 1)]);
    expect(ec2.calls.some((c) => c.command === DescribeVolumesCommand.name)).toBe(true);
  });
});

/**
 * EC2 as far as creating and describing volumes goes, honouring ClientToken: a repeated token answers the volume it
 * made. `volumes` is what DescribeVolumes shows; a test changes a volume's state there to move time on.
 */
function tokenHonouringEc2(made: Omit<Volume, 'VolumeId'>) {
  const volumes: Volume[] = [];
  const byToken = new Map<string, Volume>();
  const ec2 = new FakeEc2({
    CreateVolumeCommand: ({ input }) => {
      const token = input.ClientToken as string;
      const known = byToken.get(token);
      if (known) return structuredClone(known);
      const volume: Volume = { ...made, VolumeId: `vol-${volumes.length + 1}`, CreateTime: new Date() };
      byToken.set(token, structuredClone(volume));
      volumes.push(volume);
      return structuredClone(volume);
    },
    DescribeVolumesCommand: ({ input }) => describeFrom(volumes)(input),
    DetachVolumeCommand: () => ({}),
  });
  return { ec2, volumes };
}

describe('EbsVolumes waits answer within their bound', () => {
  it('a create cut short by its deadline says the volume is still being made, and the retried create answers with that volume', async () => {
    const { ec2, volumes } = tokenHonouringEc2({ State: 'creating', Tags: tags('db') });
    const ebs = new EbsVolumes(ec2, 'cluster', 'hash', logger, timing);
    const error = await failure(
      ebs.create('db', 'us-east-1a', { Size: 1 }, new Deadline(300)),
      ErrorKind.BackendFailure,
    );
    expect(error.message).toMatch(
      /^EBS volume vol-1 for "db" is still being created \(state creating after \d+ s\); retry shortly/,
    );
    expect(volumes).toHaveLength(1);

    (volumes[0] as Volume).State = 'available';
    const retried = await ebs.create('db', 'us-east-1a', { Size: 1 }, new Deadline(5_000));
    expect(retried.VolumeId).toBe('vol-1');
    expect(volumes).toHaveLength(1);
    expect(ec2.inputsOf('CreateVolumeCommand').map((i) => i.ClientToken)).toEqual([
      clientToken('cluster', 'db', 0),
      clientToken('cluster', 'db', 0),
    ]);
  });

  it('logs what a long wait waits for, how long so far and the state it saw, until the wait ends', async () => {
    const { ec2, volumes } = tokenHonouringEc2({ State: 'creating', Tags: tags('db') });
    const { logger: capturing, next } = capturingLogger();
    const ebs = new EbsVolumes(ec2, 'cluster', 'hash', capturing, { ...timing, progressLogMs: 20 });
    const created = ebs.create('db', 'us-east-1a', { Size: 1 });
    // Lines go on until the wait ends; one from after EC2 first described the volume:
    const line = await next(
      (l) =>
        l.msg === 'still waiting for new EBS volume vol-1 for "db" to become available' &&
        l.state !== 'not described yet',
    );
    expect(line).toMatchObject({
      volume: 'db',
      volumeId: 'vol-1',
      state: 'creating',
      waitedSeconds: expect.any(Number),
    });
    (volumes[0] as Volume).State = 'available';
    expect((await created).VolumeId).toBe('vol-1');
  });

  it('a detach EC2 has not finished within its bound is reported as going on, naming the volume and the instance', async () => {
    const detaching: Volume = {
      VolumeId: 'vol-1',
      State: 'in-use',
      Tags: tags('db'),
      Attachments: [{ InstanceId: 'i-1', State: 'detaching' }],
    };
    const ec2 = new FakeEc2({
      DetachVolumeCommand: () => ({}),
      DescribeVolumesCommand: ({ input }) => describeFrom([detaching])(input),
    });
    const ebs = new EbsVolumes(ec2, 'cluster', 'hash', logger, timing);
    const error = await failure(ebs.detach('vol-1', 'i-1', { boundMs: 300 }), ErrorKind.BackendFailure);
    expect(error.message).toMatch(
      /^EBS volume vol-1 is still detaching from i-1 \(state in-use, attachment detaching to i-1 after \d+ s\); EC2 goes on/,
    );
    // Detached meanwhile elsewhere, or never attached there: nothing to wait for.
    detaching.Attachments = [{ InstanceId: 'i-2', State: 'attached' }];
    await ebs.detach('vol-1', 'i-1', { boundMs: 300 });
  });

  it('an attach cut short by the deadline is reported as still attaching and left to EC2; a stuck one is detached and reported', async () => {
    const attaching: Volume = {
      VolumeId: 'vol-1',
      State: 'available',
      Tags: tags('db'),
      Attachments: [{ InstanceId: 'i-1', State: 'attaching' }],
    };
    const ec2 = new FakeEc2({
      DetachVolumeCommand: () => ({}),
      DescribeVolumesCommand: ({ input }) => describeFrom([attaching])(input),
    });
    const ebs = new EbsVolumes(ec2, 'cluster', 'hash', logger, { ...timing, attachSeconds: 90 });
    const cut = await failure(ebs.waitAttached('vol-1', 'i-1', new Deadline(300)), ErrorKind.BackendFailure);
    expect(cut.message).toMatch(/^EBS volume vol-1 is still attaching to i-1 \(.*\); retry shortly/);
    expect(ec2.inputsOf('DetachVolumeCommand')).toEqual([]);

    // Attaching since longer than attachSeconds: stuck.
    const stuck = await failure(
      ebs.waitAttached('vol-1', 'i-1', new Deadline(300), Date.now() - 90_000),
      ErrorKind.BackendFailure,
    );
    expect(stuck.message).toMatch(
      /did not finish attaching to i-1 within 90 s; it was detached again, retry the mount/,
    );
    expect(ec2.inputsOf('DetachVolumeCommand')).toEqual([{ VolumeId: 'vol-1', InstanceId: 'i-1' }]);
  });
});

describe('EbsVolumes lookups', () => {
  const attachmentCalls = (ec2: FakeEc2) =>
    ec2.calls.filter((c) => filterValues(c.input, 'attachment.instance-id') !== undefined);

  it('finds concurrent names with one DescribeVolumes, live volumes only, oldest first', async () => {
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
    const all: Volume[] = [
      { VolumeId: 'vol-2', State: 'available', CreateTime: at(2), Tags: tags('db') },
      { VolumeId: 'vol-1', State: 'in-use', CreateTime: at(1), Tags: tags('db') },
      { VolumeId: 'vol-3', State: 'deleting', CreateTime: at(0), Tags: tags('db') },
      { VolumeId: 'vol-4', State: 'available', CreateTime: at(0), Tags: tags('web') },
    ];
    const ec2 = new FakeEc2({ DescribeVolumesCommand: ({ input }) => describeFrom(all)(input) });
    const volumes = new EbsVolumes(ec2, 'c', 'hash', logger, timing);
    const [db, web] = await Promise.all([volumes.findAll('db'), volumes.find('web')]);
    expect(db.map((v) => v.VolumeId)).toEqual(['vol-1', 'vol-2']);
    expect(web?.VolumeId).toBe('vol-4');
    expect(ec2.calls).toHaveLength(1);
  });

  it("reuses an instance's attachments for device names, with its own attaches added, until EC2 refuses a name or it detaches", async () => {
    const ec2 = new FakeEc2({
      DescribeVolumesCommand: ({ input }) =>
        describeFrom([{ VolumeId: 'vol-1', State: 'available', Tags: tags('db') }])(input),
      AttachVolumeCommand: ({ input }) => {
        if (input.Device === '/dev/xvdg')
          throw Object.assign(awsError('InvalidParameterValue'), {
            message: 'Attachment point /dev/xvdg is already in use',
          });
        return {};
      },
      DetachVolumeCommand: () => ({}),
    });
    const volumes = new EbsVolumes(ec2, 'c', 'hash', logger, timing);
    const devices = async () =>
      (await volumes.attachedTo('i-1')).flatMap((v) => (v.Attachments ?? []).map((a) => a.Device));
    expect(await devices()).toEqual([]);
    expect(await devices()).toEqual([]);
    expect(attachmentCalls(ec2)).toHaveLength(1);

    // Its own attach shows at once, without asking EC2 again (EC2's answer is older than the attach).
    expect(await volumes.attach('vol-1', 'i-1', '/dev/xvdf')).toBe('attached');
    expect(await devices()).toEqual(['/dev/xvdf']);
    expect(attachmentCalls(ec2)).toHaveLength(1);

    // A name EC2 refused: the view it was chosen from was out of date, the next one is asked for.
    expect(await volumes.attach('vol-1', 'i-1', '/dev/xvdg')).toBe('device-in-use');
    await devices();
    expect(attachmentCalls(ec2)).toHaveLength(2);

    await volumes.detach('vol-1', 'i-1', { boundMs: 5_000 });
    expect(await devices()).toEqual([]);
    expect(attachmentCalls(ec2)).toHaveLength(3);
  });
});
