import type { Snapshot, Volume } from '@aws-sdk/client-ec2';
import type { VolumeEventInput } from '@stowage/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EbsSnapshots, SNAPSHOT_PURPOSE_TAG, SOURCE_VOLUME_TAG } from '../src/ebs-snapshots.js';
import { periodicSnapshotsToPrune } from '../src/snapshot-retention.js';
import { SnapshotSchedule, type SnapshotScheduleOptions } from '../src/snapshot-schedule.js';
import { capturingLogger } from './support/capturing-logger.js';
import { FakeEc2 } from './support/fake-ec2.js';
import { FakeSnapshotStore, TEST_STACK, snapshotTags, stowageVolume } from './support/fake-snapshot-store.js';

function schedule(
  store: FakeSnapshotStore,
  options: Partial<SnapshotScheduleOptions> & Pick<SnapshotScheduleOptions, 'attachedHere'>,
  ec2 = new FakeEc2(store.handlers()),
) {
  const { logger, lines } = capturingLogger();
  const snapshots = new EbsSnapshots(ec2, TEST_STACK, logger, { minDelayMs: 1, maxDelayMs: 2, completeSeconds: 30 });
  const events: VolumeEventInput[] = [];
  return {
    ec2,
    lines,
    events,
    schedule: new SnapshotSchedule(snapshots, { intervalMinutes: 0, retain: 3, ...options }, logger, {
      emit: (event) => events.push(event),
    }),
  };
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('periodicSnapshotsToPrune', () => {
  it('keeps the newest N completed periodic snapshots, deletes older and failed ones, never move or pending ones', () => {
    const store = new FakeSnapshotStore();
    const add = (State: Snapshot['State'], purpose = 'periodic') =>
      store.add({ State, Tags: snapshotTags('db', purpose) });
    const oldest = add('completed');
    const oldMove = add('completed', 'move');
    const oldPending = add('pending');
    const older = add('completed');
    const failed = add('error');
    const kept1 = add('completed');
    const newMove = add('pending', 'move');
    const kept2 = add('completed');
    const newestPending = add('pending');
    const all = [...store.snapshots.values()].reverse();

    const pruned = periodicSnapshotsToPrune(all, 2).map((s) => s.SnapshotId);
    expect(pruned.sort()).toEqual([older, oldest, failed].map((s) => s.SnapshotId).sort());
    for (const spared of [kept1, kept2, oldMove, newMove, oldPending, newestPending])
      expect(pruned).not.toContain(spared.SnapshotId);
    expect(periodicSnapshotsToPrune(all, 4).map((s) => s.SnapshotId)).toEqual([failed.SnapshotId]);
  });

  it('decides by start time, not by the order the API listed them in', () => {
    const store = new FakeSnapshotStore();
    const [first, second, third] = [1, 2, 3].map(() =>
      store.add({ State: 'completed', Tags: snapshotTags('db', 'periodic') }),
    );
    const shuffled = [second, first, third] as Snapshot[];
    expect(
      periodicSnapshotsToPrune(shuffled, 1)
        .map((s) => s.SnapshotId)
        .sort(),
    ).toEqual([first, second].map((s) => s?.SnapshotId).sort());
  });
});

describe('SnapshotSchedule.runOnce', () => {
  it('snapshots each attached volume one at a time, each completed before the next is started', async () => {
    const store = new FakeSnapshotStore();
    store.createAs = 'pending';
    const handlers = store.handlers();
    // Each snapshot completes on its second poll, so the waiting shows in the order of events.
    const polls = new Map<string, number>();
    const ec2 = new FakeEc2({
      ...handlers,
      DescribeSnapshotsCommand: (command) => {
        const [id] = (command.input.SnapshotIds as string[] | undefined) ?? [];
        if (id !== undefined) {
          polls.set(id, (polls.get(id) ?? 0) + 1);
          if (polls.get(id) === 2) {
            store.complete(id);
            store.events.push(`completed ${id}`);
          }
        }
        return handlers.DescribeSnapshotsCommand?.(command);
      },
    });
    const { schedule: s } = schedule(
      store,
      { attachedHere: async () => [stowageVolume('a'), stowageVolume('b')] },
      ec2,
    );
    const summary = await s.runOnce();
    const [snapA, snapB] = summary.snapshotted;
    expect(store.events).toEqual([
      `create vol-a ${snapA}`,
      `completed ${snapA}`,
      `create vol-b ${snapB}`,
      `completed ${snapB}`,
    ]);
    expect(summary).toEqual({ snapshotted: [snapA, snapB], pruned: [], failed: [] });
    expect(store.idsTagged(SNAPSHOT_PURPOSE_TAG, 'periodic')).toEqual([snapA, snapB]);
  });

  it('logs a failing volume and goes on with the others', async () => {
    const store = new FakeSnapshotStore();
    store.failing.add('vol-b');
    const { schedule: s, lines } = schedule(store, {
      attachedHere: async () => [stowageVolume('a'), stowageVolume('b'), stowageVolume('c')],
    });
    const summary = await s.runOnce();
    expect(summary.failed).toEqual(['b']);
    expect(summary.snapshotted).toHaveLength(2);
    expect(store.idsTagged(SOURCE_VOLUME_TAG, 'vol-a')).toHaveLength(1);
    expect(store.idsTagged(SOURCE_VOLUME_TAG, 'vol-c')).toHaveLength(1);
    const logged = lines.find((l) => l.msg === 'periodic EBS snapshot failed');
    expect(logged).toMatchObject({ volume: 'b', volumeId: 'vol-b', level: 50 });
    expect(String(logged?.err)).toContain('volume vol-b cannot be snapshotted');
  });

  it('reports each snapshot taken with the moment it holds, each one pruned, and each volume whose snapshot failed', async () => {
    const store = new FakeSnapshotStore();
    const old = store.add({ State: 'completed', Tags: snapshotTags('a', 'periodic') });
    store.failing.add('vol-b');
    const { schedule: s, events } = schedule(store, {
      retain: 1,
      attachedHere: async () => [stowageVolume('a'), stowageVolume('b')],
    });
    const summary = await s.runOnce();
    const [taken] = summary.snapshotted;
    expect(events).toEqual([
      {
        type: 'snapshot.taken',
        volume: 'a',
        backing: 'ebs',
        snapshotId: taken,
        purpose: 'periodic',
        takenAt: store.snapshots.get(taken as string)?.StartTime?.toISOString(),
      },
      { type: 'snapshot.pruned', volume: 'a', backing: 'ebs', snapshotId: old.SnapshotId },
      {
        type: 'snapshot.failed',
        volume: 'b',
        backing: 'ebs',
        purpose: 'periodic',
        error: expect.stringContaining('volume vol-b cannot be snapshotted'),
      },
    ]);
  });

  it('reports a pruning that fails in the log only, not as a failed snapshot', async () => {
    const store = new FakeSnapshotStore();
    store.add({ State: 'completed', Tags: snapshotTags('a', 'periodic') });
    const handlers = store.handlers();
    const {
      schedule: s,
      events,
      lines,
    } = schedule(
      store,
      { retain: 1, attachedHere: async () => [stowageVolume('a')] },
      new FakeEc2({
        ...handlers,
        DeleteSnapshotCommand: () => {
          throw Object.assign(new Error('throttled'), { name: 'RequestLimitExceeded' });
        },
      }),
    );
    const summary = await s.runOnce();
    expect(summary.failed).toEqual(['a']);
    expect(events.map((e) => e.type)).toEqual(['snapshot.taken']);
    expect(
      lines.find((l) => l.msg === 'pruning periodic EBS snapshots failed; the next pass prunes again'),
    ).toMatchObject({ volume: 'a' });
  });

  it('keeps the newest `retain` periodic snapshots over passes, and leaves move snapshots alone', async () => {
    const store = new FakeSnapshotStore();
    const move = store.add({ State: 'completed', Tags: snapshotTags('db', 'move') });
    const { schedule: s } = schedule(store, { retain: 2, attachedHere: async () => [stowageVolume('db')] });
    const passes = [];
    for (let pass = 0; pass < 4; pass++) passes.push(await s.runOnce());
    const made = passes.flatMap((p) => p.snapshotted);
    expect(made).toHaveLength(4);
    expect(passes.map((p) => p.pruned)).toEqual([[], [], [made[0]], [made[1]]]);
    expect(store.idsTagged(SNAPSHOT_PURPOSE_TAG, 'periodic')).toEqual(made.slice(2));
    expect(store.snapshots.has(move.SnapshotId as string)).toBe(true);
  });

  it('waits for a periodic snapshot still pending from an earlier pass instead of taking another', async () => {
    const store = new FakeSnapshotStore();
    const earlier = store.add({ State: 'pending', Tags: snapshotTags('db', 'periodic') });
    const handlers = store.handlers();
    const ec2 = new FakeEc2({
      ...handlers,
      DescribeSnapshotsCommand: (command) => {
        if ((command.input.SnapshotIds as string[] | undefined)?.[0] === earlier.SnapshotId)
          store.complete(earlier.SnapshotId as string);
        return handlers.DescribeSnapshotsCommand?.(command);
      },
    });
    const { schedule: s } = schedule(store, { attachedHere: async () => [stowageVolume('db')] }, ec2);
    expect((await s.runOnce()).snapshotted).toEqual([earlier.SnapshotId]);
    expect(ec2.inputsOf('CreateSnapshotCommand')).toHaveLength(0);
  });

  it('joins the pass in progress instead of starting a second one', async () => {
    const store = new FakeSnapshotStore();
    const listing = deferred<Volume[]>();
    const attachedHere = vi.fn(() => listing.promise);
    const { schedule: s } = schedule(store, { attachedHere });
    const first = s.runOnce();
    const second = s.runOnce();
    expect(second).toBe(first);
    listing.resolve([stowageVolume('db')]);
    expect((await second).snapshotted).toHaveLength(1);
    expect(attachedHere).toHaveBeenCalledTimes(1);
    expect(store.idsTagged(SOURCE_VOLUME_TAG, 'vol-db')).toHaveLength(1);
  });

  it('ends a pass with nothing done when the attached volumes cannot be listed, and logs why', async () => {
    const store = new FakeSnapshotStore();
    const { schedule: s, lines } = schedule(store, {
      attachedHere: () => Promise.reject(new Error('EC2 unreachable')),
    });
    expect(await s.runOnce()).toEqual({ snapshotted: [], pruned: [], failed: [] });
    expect(lines.find((l) => l.level === 50)).toMatchObject({ err: 'EC2 unreachable' });
  });
});

describe('SnapshotSchedule.start and stop', () => {
  it('takes no snapshots and sets no timer when the interval is 0', async () => {
    vi.useFakeTimers();
    const attachedHere = vi.fn(async () => [stowageVolume('db')]);
    const { schedule: s } = schedule(new FakeSnapshotStore(), { intervalMinutes: 0, attachedHere });
    s.start();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(7 * 24 * 3600_000);
    expect(attachedHere).not.toHaveBeenCalled();
    await s.stop();
  });

  it('runs a pass every interval and skips a tick that finds the last pass still running', async () => {
    vi.useFakeTimers();
    const store = new FakeSnapshotStore();
    const slow = deferred<Volume[]>();
    const attachedHere = vi
      .fn()
      .mockReturnValueOnce(slow.promise)
      .mockResolvedValue([stowageVolume('db')]);
    const { schedule: s } = schedule(store, { intervalMinutes: 5, attachedHere });
    s.start();
    s.start(); // a second start changes nothing
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(5 * 60_000 - 1);
    expect(attachedHere).toHaveBeenCalledTimes(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(attachedHere).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(10 * 60_000); // two ticks while the first pass still lists volumes
    expect(attachedHere).toHaveBeenCalledTimes(1);
    slow.resolve([stowageVolume('db')]);
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    expect(attachedHere).toHaveBeenCalledTimes(2);
    expect(store.idsTagged(SOURCE_VOLUME_TAG, 'vol-db')).toHaveLength(2);
    await s.stop();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(60 * 60_000);
    expect(attachedHere).toHaveBeenCalledTimes(2);
  });

  it('stop waits for the pass in progress, which stops waiting for its snapshot and skips the volumes left', async () => {
    const store = new FakeSnapshotStore();
    store.createAs = 'pending';
    const { logger } = capturingLogger();
    // Polls a minute apart: the pass could not end within the test but for stop.
    const snapshots = new EbsSnapshots(new FakeEc2(store.handlers()), TEST_STACK, logger, {
      minDelayMs: 60_000,
      maxDelayMs: 60_000,
      completeSeconds: 3600,
    });
    const events: VolumeEventInput[] = [];
    const s = new SnapshotSchedule(
      snapshots,
      { intervalMinutes: 0, retain: 3, attachedHere: async () => [stowageVolume('a'), stowageVolume('b')] },
      logger,
      { emit: (event) => events.push(event) },
    );
    const pass = s.runOnce();
    await vi.waitFor(() => expect(store.events).toHaveLength(1));
    let stopped = false;
    const stopping = s.stop().then(() => {
      stopped = true;
    });
    const summary = await pass;
    await stopping;
    expect(stopped).toBe(true);
    expect(summary).toEqual({ snapshotted: [], pruned: [], failed: ['a'] });
    expect(store.events).toEqual([expect.stringMatching(/^create vol-a /)]);
    // Not failed: EC2 completes it, and the next pass finds it.
    expect(events).toEqual([]);
  });
});
