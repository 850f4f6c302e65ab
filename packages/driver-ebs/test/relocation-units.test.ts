import { EC2Client, type Snapshot, type Volume } from '@aws-sdk/client-ec2';
import { ErrorKind, StowageError, createLogger } from '@stowage/core';
import { describe, expect, it, vi } from 'vitest';
import { CrossZoneMove } from '../src/cross-zone-move.js';
import type { EbsSnapshots } from '../src/ebs-snapshots.js';
import type { EbsVolumes } from '../src/ebs-volumes.js';
import { MOVED_FROM_TAG, MOVE_TO_TAG, answeringVolumes, carriedTags, moveClaimOf, movedFromOf } from '../src/move-tags.js';
import { MoveTracker, describeMove } from '../src/move-tracker.js';
import { capturingLogger } from './support/capturing-logger.js';
import { instanceState, mayTakeOver, TAKEOVER_POLICIES } from '../src/takeover-policy.js';

const logger = createLogger({ level: 'silent' });
const awsError = (name: string) => Object.assign(new Error(name), { name });

/** An EC2Client whose calls are answered by `answer`, by command class name; every call is recorded. */
class FakeEc2 extends EC2Client {
  readonly calls: Array<{ command: string; input: Record<string, unknown> }> = [];
  constructor(private readonly answer: (command: string, input: Record<string, unknown>) => unknown) {
    super({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  }
  override send(command: unknown): Promise<never> {
    const c = command as { constructor: { name: string }; input: Record<string, unknown> };
    this.calls.push({ command: c.constructor.name, input: structuredClone(c.input) });
    try {
      return Promise.resolve(this.answer(c.constructor.name, c.input) as never);
    } catch (error) {
      return Promise.reject(error);
    }
  }
}

const vol = (id: string, extra: Partial<Volume> = {}, tags: Record<string, string> = {}): Volume => ({
  VolumeId: id,
  AvailabilityZone: 'us-east-1a',
  State: 'available',
  Tags: Object.entries({ 'stowage:volume': 'v', ...tags }).map(([Key, Value]) => ({ Key, Value })),
  ...extra,
});

describe('takeover policy', () => {
  it('never takes; "stopped" takes only from stopped, terminated or vanished holders; "force" always', () => {
    const states = ['pending', 'running', 'stopping', 'shutting-down', 'stopped', 'terminated', 'gone'];
    const allowed = Object.fromEntries(TAKEOVER_POLICIES.map((p) => [p, states.filter((s) => mayTakeOver(p, s))]));
    expect(allowed).toEqual({ never: [], stopped: ['stopped', 'terminated', 'gone'], force: states });
  });

  it('reads the holder state from DescribeInstances; an unknown instance is gone; other failures are errors', async () => {
    const running = new FakeEc2(() => ({ Reservations: [{ Instances: [{ State: { Name: 'running' } }] }] }));
    expect(await instanceState(running, 'i-1')).toBe('running');
    expect(running.calls[0]).toEqual({ command: 'DescribeInstancesCommand', input: { InstanceIds: ['i-1'] } });
    expect(await instanceState(new FakeEc2(() => ({ Reservations: [] })), 'i-1')).toBe('gone');
    const notFound = new FakeEc2(() => {
      throw awsError('InvalidInstanceID.NotFound');
    });
    expect(await instanceState(notFound, 'i-1')).toBe('gone');
    const denied = new FakeEc2(() => {
      throw awsError('UnauthorizedOperation');
    });
    await expect(instanceState(denied, 'i-1')).rejects.toThrow(/cannot learn the state of instance i-1/);
  });
});

describe('move tags', () => {
  it('parse claims and moved-from marks, and ignore malformed ones', () => {
    expect(moveClaimOf(vol('vol-1', {}, { [MOVE_TO_TAG]: 'us-east-1b/ab12cd34' }))).toEqual({ zone: 'us-east-1b', moveId: 'ab12cd34' });
    expect(moveClaimOf(vol('vol-1', {}, { [MOVE_TO_TAG]: 'garbage' }))).toBeUndefined();
    expect(movedFromOf(vol('vol-2', {}, { [MOVED_FROM_TAG]: 'vol-1/ab12cd34' }))).toEqual({ sourceVolumeId: 'vol-1', moveId: 'ab12cd34' });
    expect(movedFromOf(vol('vol-2'))).toBeUndefined();
  });

  it('a copy answers for the name only once its source is gone', () => {
    const source = vol('vol-1');
    const copy = vol('vol-2', {}, { [MOVED_FROM_TAG]: 'vol-1/m1' });
    expect(answeringVolumes([source, copy])).toEqual([source]);
    expect(answeringVolumes([copy])).toEqual([copy]);
    const unrelated = vol('vol-3');
    expect(answeringVolumes([unrelated, copy])).toEqual([unrelated, copy]);
  });

  it('a copy carries the source tags but not its move state or AWS-reserved tags', () => {
    const source = vol('vol-1', {}, { [MOVE_TO_TAG]: 'z/m', [MOVED_FROM_TAG]: 'vol-0/m0', 'aws:cloudformation:stack-id': 's', StackID: 'h' });
    expect(carriedTags(source).map((t) => t.Key)).toEqual(['stowage:volume', 'StackID']);
  });
});

describe('MoveTracker', () => {
  const route = { from: 'us-east-1a', to: 'us-east-1b' };

  it('answers with the move result when it finishes within the budget', async () => {
    const tracker = new MoveTracker<string>(logger);
    expect(await tracker.run('v', route, async () => 'moved', 1_000)).toBe('moved');
    expect(tracker.progress('v')).toBeUndefined();
  });

  it('past the budget says how far the move is, keeps it running, and lets a later caller join it', async () => {
    const tracker = new MoveTracker<string>(logger);
    let finish!: (value: string) => void;
    const start = vi.fn(async (report: (u: object) => void) => {
      report({ phase: 'snapshot', snapshotId: 'snap-1', percent: 42 });
      return new Promise<string>((resolve) => {
        finish = resolve;
      });
    });
    await expect(tracker.run('v', route, start, 20)).rejects.toThrow(
      'volume "v" is moving from us-east-1a to us-east-1b: transfer snapshot snap-1 42% done; retry shortly',
    );
    expect(tracker.progress('v')).toMatchObject({ phase: 'snapshot', snapshotId: 'snap-1', percent: 42 });
    const joined = tracker.run('v', route, start, 5_000);
    finish('moved');
    expect(await joined).toBe('moved');
    expect(start).toHaveBeenCalledTimes(1);
  });

  it('a failed move fails its caller and is started afresh by the next one', async () => {
    const tracker = new MoveTracker<string>(logger);
    await expect(tracker.run('v', route, async () => Promise.reject(new Error('snapshot failed')), 1_000)).rejects.toThrow('snapshot failed');
    expect(await tracker.run('v', route, async () => 'second try', 1_000)).toBe('second try');
  });

  it('cancel and close abort running moves and wait for them to stop', async () => {
    const tracker = new MoveTracker<string>(logger);
    const seen: string[] = [];
    const start = (_: unknown, signal: AbortSignal) =>
      new Promise<string>((_resolve, reject) => signal.addEventListener('abort', () => (seen.push('aborted'), reject(new Error('aborted')))));
    await expect(tracker.run('v', route, start, 10)).rejects.toThrow(/is moving/);
    await tracker.cancel('v');
    expect(seen).toEqual(['aborted']);
    expect(tracker.progress('v')).toBeUndefined();
    await expect(tracker.run('w', route, start, 10)).rejects.toThrow(/is moving/);
    await tracker.close();
    expect(seen).toEqual(['aborted', 'aborted']);
  });

  it('a cancel whose move does not stop within its bound says so, and a later cancel waits for the stop', async () => {
    const tracker = new MoveTracker<string>(logger);
    let stop!: () => void;
    // A move that only stops at its next step, well after the abort.
    const start = () =>
      new Promise<string>((_resolve, reject) => {
        stop = () => reject(new Error('stopped at its next step'));
      });
    await expect(tracker.run('v', route, start, 10)).rejects.toThrow(/is moving/);
    await expect(tracker.cancel('v', 20)).rejects.toThrow(/volume "v" is moving from us-east-1a to us-east-1b: .*, and the move is still stopping; retry shortly/);
    const cancelled = tracker.cancel('v');
    stop();
    await cancelled;
    expect(tracker.progress('v')).toBeUndefined();
  });

  it('a caller waiting for a move logs how far the move is while it waits', async () => {
    const { logger: capturing, next } = capturingLogger();
    const tracker = new MoveTracker<string>(capturing, 10);
    let finish!: (value: string) => void;
    const moving = tracker.run(
      'v',
      route,
      async (report) => {
        report({ phase: 'snapshot', snapshotId: 'snap-1', percent: 7 });
        return new Promise<string>((resolve) => {
          finish = resolve;
        });
      },
      60_000,
    );
    const line = await next((l) => l.msg === 'still waiting for the move of volume "v"');
    expect(line).toMatchObject({ volume: 'v', move: 'moving from us-east-1a to us-east-1b: transfer snapshot snap-1 7% done' });
    finish('moved');
    expect(await moving).toBe('moved');
  });

  it('describes each phase', () => {
    const base = { ...route, startedAt: new Date() };
    expect(describeMove({ ...base, phase: 'snapshot' })).toBe('moving from us-east-1a to us-east-1b: transfer snapshot (starting) 0% done');
    expect(describeMove({ ...base, phase: 'volume' })).toMatch(/snapshot done, making the volume in us-east-1b/);
    expect(describeMove({ ...base, phase: 'cleanup' })).toMatch(/new volume ready, removing the old one/);
  });
});

describe('CrossZoneMove', () => {
  /** A world of volumes and snapshots the fakes read and change. */
  function world(initial: Volume[]) {
    const volumes = new Map(initial.map((v) => [v.VolumeId as string, v]));
    const deleted: string[] = [];
    const snapshots: Snapshot[] = [];
    const fakeVolumes = {
      findAll: async () => [...volumes.values()],
      describeIfExists: async (id: string) => volumes.get(id),
      waitAvailable: async () => undefined,
      delete: async (id: string) => {
        const v = volumes.get(id);
        if (v?.Attachments?.length) throw StowageError.inUse(`EBS volume ${id} is attached`);
        volumes.delete(id);
        deleted.push(id);
      },
    } as unknown as EbsVolumes;
    const fakeSnapshots = {
      forVolume: async () => snapshots,
      create: async () => {
        const s: Snapshot = { SnapshotId: `snap-${snapshots.length + 1}`, State: 'completed', Progress: '100%', Tags: [] };
        snapshots.push(s);
        return s;
      },
      waitCompleted: async (id: string) => snapshots.find((s) => s.SnapshotId === id),
      delete: async () => undefined,
    } as unknown as EbsSnapshots;
    let created = 0;
    const client = new FakeEc2((command, input) => {
      switch (command) {
        case 'CreateTagsCommand':
        case 'DeleteTagsCommand':
          return {};
        case 'CreateVolumeCommand': {
          const copy = vol(`vol-copy${++created}`, { AvailabilityZone: input.AvailabilityZone as string }, {});
          copy.Tags = (input.TagSpecifications as Array<{ Tags: Volume['Tags'] }>)[0]?.Tags;
          volumes.set(copy.VolumeId as string, copy);
          return copy;
        }
        default:
          throw new Error(`unexpected ${command}`);
      }
    });
    return { volumes, deleted, client, mover: new CrossZoneMove(client, fakeVolumes, fakeSnapshots, logger) };
  }
  const report = () => undefined;
  const signal = new AbortController().signal;

  it('keeps the source and deletes its own copy when the claim changed meanwhile (the volume was taken back)', async () => {
    const source = vol('vol-1', {}, { [MOVE_TO_TAG]: 'us-east-1b/mine0001' });
    const w = world([source]);
    const original = w.volumes.get('vol-1') as Volume;
    const moved = w.mover.move('v', original, 'us-east-1b', report, signal);
    // The move read its claim synchronously; another node's claim replaces it before the source is retired.
    original.Tags = original.Tags?.map((t) => (t.Key === MOVE_TO_TAG ? { ...t, Value: 'us-east-1b/other002' } : t));
    const error = await moved.catch((e: unknown) => e);
    expect(StowageError.is(error, ErrorKind.InUse)).toBe(true);
    expect(String(error)).toMatch(/taken back from its move to us-east-1b/);
    expect(w.deleted).toEqual(['vol-copy1']);
    expect(w.volumes.has('vol-1')).toBe(true);
    expect(w.client.calls.some((c) => c.command === 'CreateVolumeCommand')).toBe(true);
  });

  it('keeps the source and deletes its copy when the source is attached again before it is retired', async () => {
    const source = vol('vol-1', {}, { [MOVE_TO_TAG]: 'us-east-1b/mine0001' });
    const w = world([source]);
    const moved = w.mover.move('v', source, 'us-east-1b', report, signal);
    (w.volumes.get('vol-1') as Volume).Attachments = [{ InstanceId: 'i-a', State: 'attached' }];
    await expect(moved).rejects.toThrow(/taken back from its move/);
    expect(w.deleted).toEqual(['vol-copy1']);
  });

  it('deletes copies of stale moves of the same source before retiring it, then finishes', async () => {
    const source = vol('vol-1', {}, { [MOVE_TO_TAG]: 'us-east-1b/mine0001' });
    const stale = vol('vol-stale', { AvailabilityZone: 'us-east-1b' }, { [MOVED_FROM_TAG]: 'vol-1/old00001' });
    const w = world([source, stale]);
    const result = await w.mover.move('v', source, 'us-east-1b', report, signal);
    expect(w.deleted).toEqual(['vol-stale', 'vol-1']);
    expect(result.VolumeId).toBe('vol-copy1');
    expect(movedFromOf(result)).toBeUndefined();
    expect(w.client.calls.filter((c) => c.command === 'DeleteTagsCommand').map((c) => c.input.Resources)).toEqual([['vol-copy1']]);
  });

  it('claims a free volume with a new move id and reuses a claim to the same zone', async () => {
    const w = world([vol('vol-1')]);
    // The fake does not apply tags: the re-read finds no claim, which must fail clearly rather than guess.
    await expect(w.mover.move('v', vol('vol-1'), 'us-east-1b', report, signal)).rejects.toThrow(/move claim on EBS volume vol-1 vanished/);
    const tag = w.client.calls.find((c) => c.command === 'CreateTagsCommand');
    expect((tag?.input.Tags as Array<{ Value: string }>)[0]?.Value).toMatch(/^us-east-1b\/[0-9a-f]{8}$/);

    const claimed = vol('vol-1', {}, { [MOVE_TO_TAG]: 'us-east-1b/keep0001' });
    const again = world([claimed]);
    await again.mover.move('v', claimed, 'us-east-1b', report, signal);
    expect(again.client.calls.some((c) => c.command === 'CreateTagsCommand')).toBe(false);
    const copyTags = (again.client.calls.find((c) => c.command === 'CreateVolumeCommand')?.input.TagSpecifications as Array<{ Tags: Array<{ Key: string; Value: string }> }>)[0]?.Tags;
    expect(copyTags).toContainEqual({ Key: MOVED_FROM_TAG, Value: 'vol-1/keep0001' });
  });

  it('abandon removes the claim and nothing else', async () => {
    const claimed = vol('vol-1', {}, { [MOVE_TO_TAG]: 'us-east-1b/x0000001' });
    const w = world([claimed]);
    const back = await w.mover.abandon('v', claimed);
    expect(moveClaimOf(back)).toBeUndefined();
    expect(w.client.calls.map((c) => c.command)).toEqual(['DeleteTagsCommand']);
    expect(w.deleted).toEqual([]);
  });
});
