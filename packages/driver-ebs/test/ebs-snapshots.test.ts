import type { Snapshot } from '@aws-sdk/client-ec2';
import { ErrorKind, createLogger } from '@stowage/core';
import { describe, expect, it } from 'vitest';
import { CLUSTER_TAG } from '../src/index.js';
import { EbsSnapshots, SNAPSHOT_PURPOSE_TAG, progressOf } from '../src/ebs-snapshots.js';
import { expectStowageError as failure } from '@stowage/core/testing';
import { FakeEc2, awsError } from './support/fake-ec2.js';
import { FakeSnapshotStore, TEST_STACK, snapshotTags, stowageVolume } from './support/fake-snapshot-store.js';

const logger = createLogger({ level: 'silent' });
const fast = { minDelayMs: 1, maxDelayMs: 2, completeSeconds: 30 };

/** A client whose DescribeSnapshots of one id answers `states` in turn, then the last one forever. */
function describing(states: Array<Pick<Snapshot, 'State' | 'Progress' | 'StateMessage'>>) {
  let call = 0;
  return new FakeEc2({
    DescribeSnapshotsCommand: ({ input }) => {
      const state = states[Math.min(call++, states.length - 1)];
      return { Snapshots: [{ SnapshotId: (input.SnapshotIds as string[])[0], ...state }] };
    },
  });
}

describe('EbsSnapshots.create', () => {
  it('snapshots the volume tagged with cluster, name, source volume and purpose, plus extra tags', async () => {
    const store = new FakeSnapshotStore();
    store.createAs = 'pending';
    const ec2 = new FakeEc2(store.handlers());
    const snapshot = await new EbsSnapshots(ec2, TEST_STACK, logger).create(stowageVolume('db', 'vol-0abc'), 'move', [
      { Key: 'stowage:move', Value: 'm1' },
    ]);

    expect(snapshot).toMatchObject({ VolumeId: 'vol-0abc', State: 'pending' });
    expect(snapshot).not.toHaveProperty('$metadata');
    const [input] = ec2.inputsOf('CreateSnapshotCommand');
    expect(input).toMatchObject({ VolumeId: 'vol-0abc', TagSpecifications: [{ ResourceType: 'snapshot' }] });
    const tags = (input?.TagSpecifications as Array<{ Tags: Array<{ Key: string; Value: string }> }>)[0]?.Tags;
    expect(Object.fromEntries((tags ?? []).map((t) => [t.Key, t.Value]))).toEqual({
      StackID: TEST_STACK,
      'stowage:volume': 'db',
      'stowage:source-volume': 'vol-0abc',
      'stowage:snapshot': 'move',
      Name: 'db',
      'stowage:move': 'm1',
    });
  });

  it('refuses a volume without the Stowage name tag before any API call', async () => {
    const ec2 = new FakeEc2({});
    const error = await failure(
      new EbsSnapshots(ec2, TEST_STACK, logger).create({ VolumeId: 'vol-x', Tags: [] }, 'periodic'),
      ErrorKind.InvalidArgument,
    );
    expect(error.message).toContain('vol-x');
    expect(ec2.calls).toHaveLength(0);
  });

  it('reports an EC2 refusal as a BackendFailure naming the volume', async () => {
    const store = new FakeSnapshotStore();
    store.failing.add('vol-db');
    const error = await failure(
      new EbsSnapshots(new FakeEc2(store.handlers()), TEST_STACK, logger).create(stowageVolume('db'), 'periodic'),
      ErrorKind.BackendFailure,
    );
    expect(error.message).toMatch(/cannot snapshot EBS volume vol-db of "db": volume vol-db cannot be snapshotted/);
  });
});

describe('EbsSnapshots.waitCompleted', () => {
  it('reports each new percentage once, in order, and answers the completed snapshot', async () => {
    const ec2 = describing([
      { State: 'pending', Progress: '' },
      { State: 'pending', Progress: '0%' },
      { State: 'pending', Progress: '42%' },
      { State: 'pending', Progress: '42%' },
      { State: 'pending', Progress: '99.5%' },
      { State: 'completed', Progress: '100%' },
    ]);
    const seen: number[] = [];
    const snapshot = await new EbsSnapshots(ec2, TEST_STACK, logger, fast).waitCompleted('snap-1', (p) => seen.push(p));
    expect(seen).toEqual([0, 42, 99, 100]);
    expect(snapshot).toMatchObject({ SnapshotId: 'snap-1', State: 'completed' });
    expect(ec2.inputsOf('DescribeSnapshotsCommand')).toHaveLength(6);
  });

  it('keeps polling through a snapshot not yet visible (eventual consistency)', async () => {
    let call = 0;
    const ec2 = new FakeEc2({
      DescribeSnapshotsCommand: () => {
        if (++call === 1) throw awsError('InvalidSnapshot.NotFound');
        return { Snapshots: [{ SnapshotId: 'snap-1', State: 'completed', Progress: '100%' }] };
      },
    });
    expect(await new EbsSnapshots(ec2, TEST_STACK, logger, fast).waitCompleted('snap-1')).toMatchObject({
      State: 'completed',
    });
    expect(call).toBe(2);
  });

  it('fails with the snapshot id and EC2 state message when the snapshot errs', async () => {
    const ec2 = describing([
      { State: 'pending', Progress: '10%' },
      { State: 'error', Progress: '10%', StateMessage: 'Snapshot creation failed: internal error' },
    ]);
    const error = await failure(
      new EbsSnapshots(ec2, TEST_STACK, logger, fast).waitCompleted('snap-bad'),
      ErrorKind.BackendFailure,
    );
    expect(error.message).toContain('snap-bad');
    expect(error.message).toContain('Snapshot creation failed: internal error');
  });

  it('gives up past completeSeconds with how far the snapshot got', async () => {
    const ec2 = describing([{ State: 'pending', Progress: '7%' }]);
    const snapshots = new EbsSnapshots(ec2, TEST_STACK, logger, {
      minDelayMs: 10,
      maxDelayMs: 20,
      completeSeconds: 0.3,
    });
    const error = await failure(snapshots.waitCompleted('snap-slow'), ErrorKind.BackendFailure);
    expect(error.message).toMatch(/snap-slow did not complete within 0.3 s \(7% done\)/);
  });

  it('stops waiting when the signal aborts, even in the middle of a long pause between polls', async () => {
    const ec2 = describing([{ State: 'pending', Progress: '3%' }]);
    // Pauses of a minute: only the abort can end this wait within the test's time.
    const snapshots = new EbsSnapshots(ec2, TEST_STACK, logger, {
      minDelayMs: 60_000,
      maxDelayMs: 60_000,
      completeSeconds: 3600,
    });
    const abort = new AbortController();
    const waiting = snapshots.waitCompleted(
      'snap-1',
      () => setTimeout(() => abort.abort(new Error('closing')), 50),
      abort.signal,
    );
    const error = await failure(waiting, ErrorKind.BackendFailure);
    expect(error.message).toMatch(/stopped waiting for EBS snapshot snap-1 \(3% done\)/);
    expect((error.cause as Error).message).toBe('closing');
  });

  it('stops at once for a signal aborted before the wait', async () => {
    const ec2 = describing([{ State: 'pending', Progress: '3%' }]);
    const snapshots = new EbsSnapshots(ec2, TEST_STACK, logger, {
      minDelayMs: 60_000,
      maxDelayMs: 60_000,
      completeSeconds: 3600,
    });
    await failure(snapshots.waitCompleted('snap-1', undefined, AbortSignal.abort()), ErrorKind.BackendFailure);
    expect(ec2.inputsOf('DescribeSnapshotsCommand')).toHaveLength(1);
  });
});

describe('progressOf', () => {
  it.each([
    [{ Progress: '42%' }, 42],
    [{ Progress: '0%' }, 0],
    [{ Progress: '100%' }, 100],
    [{ Progress: '57.25%' }, 57],
    [{ Progress: '' }, undefined],
    [{}, undefined],
    [{ Progress: 'soon' }, undefined],
    [{ State: 'completed' }, 100],
  ] as Array<[Snapshot, number | undefined]>)('%o is %s', (snapshot, percent) => {
    expect(progressOf(snapshot)).toBe(percent);
  });
});

describe('EbsSnapshots.forVolume', () => {
  function storeWithHistory() {
    const store = new FakeSnapshotStore();
    const periodicOld = store.add({ State: 'completed', Tags: snapshotTags('db', 'periodic') });
    const move = store.add({ State: 'completed', Tags: snapshotTags('db', 'move', 'vol-older') });
    const failed = store.add({ State: 'error', Tags: snapshotTags('db', 'periodic') });
    store.add({ State: 'completed', Tags: snapshotTags('db2', 'periodic') }); // another volume
    store.add({ State: 'completed', Tags: snapshotTags('db', 'backup') }); // not a purpose of ours
    store.add({
      State: 'completed',
      Tags: snapshotTags('db', 'periodic').filter((t) => t.Key !== SNAPSHOT_PURPOSE_TAG),
    }); // a copy of the volume's tags by another tool
    store.add({
      State: 'completed',
      Tags: [{ Key: CLUSTER_TAG, Value: 'other-cluster' }, ...snapshotTags('db', 'periodic').slice(1)],
    });
    const periodicNew = store.add({ State: 'pending', Tags: snapshotTags('db', 'periodic') });
    return { store, periodicOld, move, failed, periodicNew };
  }

  it("answers only this cluster's Stowage snapshots of the name, newest first, error ones included", async () => {
    const { store, periodicOld, move, failed, periodicNew } = storeWithHistory();
    const ec2 = new FakeEc2(store.handlers());
    const found = await new EbsSnapshots(ec2, TEST_STACK, logger).forVolume('db');
    expect(found.map((s) => s.SnapshotId)).toEqual([periodicNew, failed, move, periodicOld].map((s) => s.SnapshotId));
    expect(ec2.inputsOf('DescribeSnapshotsCommand')[0]).toMatchObject({
      OwnerIds: ['self'],
      MaxResults: 1000,
      Filters: [
        { Name: 'tag:StackID', Values: [TEST_STACK] },
        { Name: 'tag:stowage:volume', Values: ['db'] },
        { Name: 'tag-key', Values: [SNAPSHOT_PURPOSE_TAG] },
      ],
    });
  });

  it('filters by purpose and by source volume', async () => {
    const { store, periodicOld, move, failed, periodicNew } = storeWithHistory();
    const snapshots = new EbsSnapshots(new FakeEc2(store.handlers()), TEST_STACK, logger);
    expect((await snapshots.forVolume('db', { purpose: 'periodic' })).map((s) => s.SnapshotId)).toEqual(
      [periodicNew, failed, periodicOld].map((s) => s.SnapshotId),
    );
    expect((await snapshots.forVolume('db', { purpose: 'move' })).map((s) => s.SnapshotId)).toEqual([move.SnapshotId]);
    expect((await snapshots.forVolume('db', { sourceVolumeId: 'vol-older' })).map((s) => s.SnapshotId)).toEqual([
      move.SnapshotId,
    ]);
    expect(await snapshots.forVolume('db', { purpose: 'periodic', sourceVolumeId: 'vol-older' })).toEqual([]);
  });

  it('pages through DescribeSnapshots and orders ties of start time by snapshot id', async () => {
    const at = new Date('2025-01-01T00:00:00Z');
    const page1 = [{ SnapshotId: 'snap-a', StartTime: at, Tags: snapshotTags('db', 'periodic') }];
    const page2 = [
      { SnapshotId: 'snap-c', StartTime: at, Tags: snapshotTags('db', 'periodic') },
      { SnapshotId: 'snap-b', StartTime: new Date(at.getTime() + 1000), Tags: snapshotTags('db', 'periodic') },
    ];
    const ec2 = new FakeEc2({
      DescribeSnapshotsCommand: ({ input }) =>
        input.NextToken === 'p2' ? { Snapshots: page2 } : { Snapshots: page1, NextToken: 'p2' },
    });
    const found = await new EbsSnapshots(ec2, TEST_STACK, logger).forVolume('db');
    expect(found.map((s) => s.SnapshotId)).toEqual(['snap-b', 'snap-c', 'snap-a']);
    expect(ec2.inputsOf('DescribeSnapshotsCommand').map((i) => i.NextToken)).toEqual([undefined, 'p2']);
  });

  it('reports a failed listing as a BackendFailure naming the volume', async () => {
    const ec2 = new FakeEc2({
      DescribeSnapshotsCommand: () => {
        throw awsError('UnauthorizedOperation', 'not allowed');
      },
    });
    const error = await failure(new EbsSnapshots(ec2, TEST_STACK, logger).forVolume('db'), ErrorKind.BackendFailure);
    expect(error.message).toBe('cannot list the EBS snapshots of "db": not allowed');
  });
});

describe('EbsSnapshots.delete and deleteAllFor', () => {
  it('takes a snapshot already gone as deleted, and reports other refusals', async () => {
    const ec2 = new FakeEc2({
      DeleteSnapshotCommand: ({ input }) => {
        throw awsError(
          input.SnapshotId === 'snap-gone' ? 'InvalidSnapshot.NotFound' : 'InvalidSnapshot.InUse',
          'used by ami-1',
        );
      },
    });
    const snapshots = new EbsSnapshots(ec2, TEST_STACK, logger);
    await expect(snapshots.delete('snap-gone')).resolves.toBeUndefined();
    const error = await failure(snapshots.delete('snap-ami'), ErrorKind.BackendFailure);
    expect(error.message).toBe('cannot delete EBS snapshot snap-ami: used by ami-1');
  });

  it("deletes every snapshot of the name, of both purposes, and nobody else's", async () => {
    const store = new FakeSnapshotStore();
    store.add({ State: 'completed', Tags: snapshotTags('db', 'periodic') });
    store.add({ State: 'pending', Tags: snapshotTags('db', 'move') });
    store.add({ State: 'error', Tags: snapshotTags('db', 'periodic') });
    const kept = [
      store.add({ State: 'completed', Tags: snapshotTags('db2', 'periodic') }),
      store.add({
        State: 'completed',
        Tags: snapshotTags('db', 'periodic').filter((t) => t.Key !== SNAPSHOT_PURPOSE_TAG),
      }),
    ];
    expect(await new EbsSnapshots(new FakeEc2(store.handlers()), TEST_STACK, logger).deleteAllFor('db')).toBe(3);
    expect([...store.snapshots.keys()]).toEqual(kept.map((s) => s.SnapshotId));
  });

  it('tries every snapshot before reporting the ones it could not delete', async () => {
    const store = new FakeSnapshotStore();
    const [a, b, c] = [1, 2, 3].map(() => store.add({ State: 'completed', Tags: snapshotTags('db', 'periodic') }));
    const handlers = store.handlers();
    const ec2 = new FakeEc2({
      ...handlers,
      DeleteSnapshotCommand: (command) => {
        if (command.input.SnapshotId === b?.SnapshotId) throw awsError('InvalidSnapshot.InUse', 'used by ami-1');
        return handlers.DeleteSnapshotCommand?.(command);
      },
    });
    const error = await failure(new EbsSnapshots(ec2, TEST_STACK, logger).deleteAllFor('db'), ErrorKind.BackendFailure);
    expect(error.message).toBe(
      `deleted 2 of 3 EBS snapshots of "db"; cannot delete EBS snapshot ${b?.SnapshotId}: used by ami-1`,
    );
    expect([...store.snapshots.keys()]).toEqual([b?.SnapshotId]);
    expect(ec2.inputsOf('DeleteSnapshotCommand').map((i) => i.SnapshotId)).toEqual([c, b, a].map((s) => s?.SnapshotId));
  });
});
