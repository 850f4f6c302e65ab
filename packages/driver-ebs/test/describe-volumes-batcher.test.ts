import { DescribeVolumesCommand, waitUntilVolumeInUse, type Volume } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { batchedWaiterClient } from '../src/batched-waiter-client.js';
import { DescribeVolumesBatcher, MAX_FILTER_VALUES } from '../src/describe-volumes-batcher.js';
import { FakeEc2, awsError, describeFrom, filterValues } from './support/fake-ec2.js';

const NAME_TAG = 'stowage:volume';
const SCOPE = [{ Name: 'tag:StackID', Values: ['cluster-hash'] }];

function volume(id: string, name: string, extra: Partial<Volume> = {}): Volume {
  return {
    VolumeId: id,
    State: 'available',
    Tags: [
      { Key: NAME_TAG, Value: name },
      { Key: 'StackID', Value: 'cluster-hash' },
    ],
    ...extra,
  };
}

function batcherOver(ec2: FakeEc2, options: { attachmentsTtlMs?: number } = {}): DescribeVolumesBatcher {
  return new DescribeVolumesBatcher(ec2, { nameTag: NAME_TAG, scope: SCOPE, ...options });
}

/** A promise and the function that settles it, to hold a fake call in flight. */
function gate<T>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

describe('DescribeVolumesBatcher', () => {
  it('answers concurrent lookups by id with one call using the volume-id filter; a missing id fails only its own lookup', async () => {
    const ec2 = new FakeEc2({
      DescribeVolumesCommand: ({ input }) => describeFrom([volume('vol-a', 'a'), volume('vol-b', 'b')])(input),
    });
    const batcher = batcherOver(ec2);
    const [a, b, gone, aAgain] = await Promise.all(
      ['vol-a', 'vol-b', 'vol-gone', 'vol-a'].map((id) => batcher.volume(id)),
    );
    expect([a?.VolumeId, b?.VolumeId, gone, aAgain?.VolumeId]).toEqual(['vol-a', 'vol-b', undefined, 'vol-a']);
    expect(ec2.calls).toHaveLength(1);
    // Filters, not VolumeIds: EC2 would fail the whole call for vol-gone. Identical lookups are one value.
    expect(ec2.calls[0]?.input).toMatchObject({
      Filters: [{ Name: 'volume-id', Values: ['vol-a', 'vol-b', 'vol-gone'] }],
    });
    expect(ec2.calls[0]?.input.VolumeIds).toBeUndefined();
  });

  it('answers concurrent lookups by name with one call holding every name, scoped to the cluster, exact names only', async () => {
    const ec2 = new FakeEc2({
      DescribeVolumesCommand: ({ input }) =>
        describeFrom([volume('vol-1', 'db'), volume('vol-2', 'db'), volume('vol-3', 'web'), volume('vol-4', 'db2')])(
          input,
        ),
    });
    const batcher = batcherOver(ec2);
    const [db, web, none] = await Promise.all(['db', 'web', 'cache'].map((name) => batcher.named(name)));
    expect(db?.map((v) => v.VolumeId)).toEqual(['vol-1', 'vol-2']);
    expect(web?.map((v) => v.VolumeId)).toEqual(['vol-3']);
    expect(none).toEqual([]);
    expect(ec2.calls).toHaveLength(1);
    expect(ec2.calls[0]?.input.Filters).toEqual([
      ...SCOPE,
      { Name: `tag:${NAME_TAG}`, Values: ['db', 'web', 'cache'] },
    ]);
  });

  it(`splits a batch over EC2's ${MAX_FILTER_VALUES} filter values into several calls`, async () => {
    const all = Array.from({ length: 450 }, (_, i) => volume(`vol-${i}`, `v${i}`));
    const ec2 = new FakeEc2({ DescribeVolumesCommand: ({ input }) => describeFrom(all)(input) });
    const batcher = batcherOver(ec2);
    const found = await Promise.all(all.map((v) => batcher.volume(v.VolumeId as string)));
    expect(found.map((v) => v?.VolumeId)).toEqual(all.map((v) => v.VolumeId));
    expect(ec2.calls.map((c) => filterValues(c.input, 'volume-id')?.length)).toEqual([200, 200, 50]);
  });

  it("delivers a failed call's error to every lookup waiting on it, and does not keep the failure", async () => {
    let fail = true;
    const ec2 = new FakeEc2({
      DescribeVolumesCommand: ({ input }) => {
        if (fail) throw awsError('RequestLimitExceeded');
        return describeFrom([volume('vol-a', 'a')])(input);
      },
    });
    const batcher = batcherOver(ec2);
    const outcomes = await Promise.allSettled([
      batcher.volume('vol-a'),
      batcher.volume('vol-b'),
      batcher.named('a'),
      batcher.attachedTo('i-1'),
    ]);
    expect(outcomes.map((o) => (o.status === 'rejected' ? (o.reason as Error).name : 'fulfilled'))).toEqual([
      'RequestLimitExceeded',
      'RequestLimitExceeded',
      'RequestLimitExceeded',
      'RequestLimitExceeded',
    ]);
    fail = false;
    expect((await batcher.volume('vol-a'))?.VolumeId).toBe('vol-a');
    expect(await batcher.attachedTo('i-1')).toEqual([]);
  });

  it('keeps one call in flight per kind: lookups made meanwhile go together in the next call, never answered by the earlier one', async () => {
    const held = gate<void>();
    let call = 0;
    const ec2 = new FakeEc2({
      DescribeVolumesCommand: async ({ input }) => {
        const n = ++call;
        if (n === 1) await held.promise;
        // Each call sees a later state, so an answer tells which call it came from.
        return describeFrom([
          volume('vol-a', 'a', { State: n === 1 ? 'creating' : 'available' }),
          volume('vol-b', 'b'),
        ])(input);
      },
    });
    const batcher = batcherOver(ec2);
    const first = batcher.volume('vol-a');
    await until(() => ec2.calls.length === 1);
    const meanwhile = [batcher.volume('vol-a'), batcher.volume('vol-b'), batcher.volume('vol-b')];
    // While the first call is out, nothing else is sent.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(ec2.calls).toHaveLength(1);
    held.open();
    expect((await first)?.State).toBe('creating');
    const [a, b] = await Promise.all(meanwhile);
    expect(a?.State).toBe('available');
    expect(b?.VolumeId).toBe('vol-b');
    expect(ec2.calls).toHaveLength(2);
    expect(filterValues(ec2.calls[1]?.input ?? {}, 'volume-id')).toEqual(['vol-a', 'vol-b']);
  });

  it("shares an instance's attachments with lookups in flight and caches them until forgotten or expired", async () => {
    const attached = volume('vol-a', 'a', {
      State: 'in-use',
      Attachments: [{ InstanceId: 'i-1', Device: '/dev/xvdf', State: 'attached' }],
    });
    const ec2 = new FakeEc2({
      DescribeVolumesCommand: ({ input }) => describeFrom([attached, volume('vol-b', 'b')])(input),
    });
    const batcher = batcherOver(ec2, { attachmentsTtlMs: 60_000 });
    const [one, two] = await Promise.all([batcher.attachedTo('i-1'), batcher.attachedTo('i-1')]);
    expect(one.map((v) => v.VolumeId)).toEqual(['vol-a']);
    expect(two).toEqual(one);
    expect(await batcher.attachedTo('i-1')).toEqual(one);
    expect(ec2.calls).toHaveLength(1);
    expect(ec2.calls[0]?.input.Filters).toEqual([{ Name: 'attachment.instance-id', Values: ['i-1'] }]);

    batcher.forgetAttachments('i-1');
    await batcher.attachedTo('i-1');
    expect(ec2.calls).toHaveLength(2);

    const shortLived = batcherOver(ec2, { attachmentsTtlMs: 1 });
    await shortLived.attachedTo('i-1');
    await new Promise((resolve) => setTimeout(resolve, 50));
    await shortLived.attachedTo('i-1');
    expect(ec2.calls).toHaveLength(4);
  });
});

describe('DescribeVolumesBatcher own attaches', () => {
  it('adds attaches made since the cached answer to it, until detached or until every cached answer is younger', async () => {
    const ec2 = new FakeEc2({ DescribeVolumesCommand: ({ input }) => describeFrom([volume('vol-a', 'a')])(input) });
    const devices = async (batcher: DescribeVolumesBatcher) =>
      (await batcher.attachedTo('i-1')).flatMap((v) => (v.Attachments ?? []).map((a) => `${a.VolumeId}@${a.Device}`));
    const batcher = batcherOver(ec2, { attachmentsTtlMs: 60_000 });
    expect(await devices(batcher)).toEqual([]);
    batcher.attached('i-1', 'vol-a', '/dev/xvdf');
    batcher.attached('i-2', 'vol-b', '/dev/xvdf');
    expect(await devices(batcher)).toEqual(['vol-a@/dev/xvdf']);
    batcher.detached('i-1', 'vol-a');
    expect(await devices(batcher)).toEqual([]);
    expect(ec2.calls).toHaveLength(2);

    const shortLived = batcherOver(ec2, { attachmentsTtlMs: 1 });
    shortLived.attached('i-1', 'vol-a', '/dev/xvdf');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await devices(shortLived)).toEqual([]);
  });
});

describe('batchedWaiterClient', () => {
  it("routes the SDK waiters' polls through the batcher: concurrent waiters share calls", async () => {
    const inUse = (id: string) =>
      volume(id, id, { State: 'in-use', Attachments: [{ InstanceId: 'i-1', State: 'attached' }] });
    const ec2 = new FakeEc2({
      DescribeVolumesCommand: ({ input }) => describeFrom([inUse('vol-a'), inUse('vol-b'), inUse('vol-c')])(input),
    });
    const client = batchedWaiterClient(ec2, batcherOver(ec2));
    const waiter = { client, maxWaitTime: 30, minDelay: 1, maxDelay: 1 };
    const results = await Promise.all(
      ['vol-a', 'vol-b', 'vol-c'].map((id) => waitUntilVolumeInUse(waiter, { VolumeIds: [id] })),
    );
    expect(results.map((r) => r.state)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS']);
    expect(ec2.calls).toHaveLength(1);
    expect(filterValues(ec2.calls[0]?.input ?? {}, 'volume-id')).toEqual(['vol-a', 'vol-b', 'vol-c']);
  });

  it('answers a missing id as EC2 does (InvalidVolume.NotFound) and passes every other call through unchanged', async () => {
    const ec2 = new FakeEc2({ DescribeVolumesCommand: ({ input }) => describeFrom([volume('vol-a', 'a')])(input) });
    const client = batchedWaiterClient(ec2, batcherOver(ec2));
    const error = await client
      .send(new DescribeVolumesCommand({ VolumeIds: ['vol-a', 'vol-gone'] }))
      .catch((e: unknown) => e as Error);
    expect(error).toMatchObject({ name: 'InvalidVolume.NotFound' });
    expect((error as Error).message).toContain('vol-gone');

    const filtered = { Filters: [{ Name: 'volume-id', Values: ['vol-a'] }], MaxResults: 5 };
    const answer = await client.send(new DescribeVolumesCommand(filtered));
    expect(answer.Volumes?.map((v) => v.VolumeId)).toEqual(['vol-a']);
    expect(ec2.calls.at(-1)?.input).toEqual(filtered);
  });
});

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}
