import { CreateVolumeCommand, DescribeVolumesCommand, EC2Client, type Volume } from '@aws-sdk/client-ec2';
import { createLogger } from '@stowage/core';
import { describe, expect, it } from 'vitest';
import { clientToken, CLUSTER_TAG, VOLUME_NAME_TAG } from '../src/index.js';
import { EbsVolumes } from '../src/ebs-volumes.js';

type Handler = (command: { input: Record<string, unknown> }) => unknown;

/** An EC2Client (so the SDK paginator accepts it) whose calls are answered by `handlers`, by command class. */
class FakeEc2 extends EC2Client {
  readonly calls: Array<{ command: string; input: Record<string, unknown> }> = [];
  constructor(private readonly answers: Record<string, Handler>) {
    super({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  }
  override send(command: unknown): Promise<never> {
    const c = command as { constructor: { name: string }; input: Record<string, unknown> };
    this.calls.push({ command: c.constructor.name, input: structuredClone(c.input) });
    const handler = this.answers[c.constructor.name];
    if (!handler) return Promise.reject(new Error(`unexpected ${c.constructor.name}`));
    try {
      return Promise.resolve(handler(c) as never);
    } catch (error) {
      return Promise.reject(error);
    }
  }
}

function awsError(name: string): Error {
  return Object.assign(new Error(name), { name });
}

const tags = (name: string) => [
  { Key: VOLUME_NAME_TAG, Value: name },
  { Key: CLUSTER_TAG, Value: 'hash' },
];
const logger = createLogger({ level: 'silent' });
const timing = { minDelay: 1, maxDelay: 1, availableSeconds: 5, attachSeconds: 5 };

describe('EbsVolumes.listAll', () => {
  it('reads 1201 volumes in three DescribeVolumes pages of at most 500, filtered by the cluster tag', async () => {
    const all: Volume[] = Array.from({ length: 1201 }, (_, i) => ({ VolumeId: `vol-${i}`, State: 'available', Tags: tags(`v${i}`) }));
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
        const ids = input.VolumeIds as string[] | undefined;
        if (ids?.[0] === 'vol-old') throw awsError('InvalidVolume.NotFound');
        // Eventual consistency: a new volume is not describable at once.
        if (ids?.[0] === 'vol-new' && ++freshLookups === 1) throw awsError('InvalidVolume.NotFound');
        return { Volumes: [fresh] };
      },
    });
    const volume = await new EbsVolumes(ec2, 'cluster', 'hash', logger, timing).create('db', 'us-east-1a', { Size: 1 });
    expect(volume.VolumeId).toBe('vol-new');
    expect(creates).toBe(2);
    const createInputs = ec2.calls.filter((c) => c.command === CreateVolumeCommand.name).map((c) => c.input.ClientToken);
    expect(createInputs).toEqual([clientToken('cluster', 'db', 0), clientToken('cluster', 'db', 1)]);
    expect(ec2.calls.some((c) => c.command === DescribeVolumesCommand.name)).toBe(true);
  });
});
