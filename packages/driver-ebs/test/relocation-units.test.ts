import { EC2Client, type Volume } from '@aws-sdk/client-ec2';
import { createLogger, type VolumeEventInput } from '@stowage/core';
import { describe, expect, it, vi } from 'vitest';
import {
  MOVED_FROM_TAG,
  MOVE_TO_TAG,
  answeringVolumes,
  carriedTags,
  moveClaimOf,
  movedFromOf,
} from '../src/move-tags.js';
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
    expect(moveClaimOf(vol('vol-1', {}, { [MOVE_TO_TAG]: 'us-east-1b/ab12cd34' }))).toEqual({
      zone: 'us-east-1b',
      moveId: 'ab12cd34',
      fence: 0,
    });
    expect(moveClaimOf(vol('vol-1', {}, { [MOVE_TO_TAG]: 'garbage' }))).toBeUndefined();
    expect(movedFromOf(vol('vol-2', {}, { [MOVED_FROM_TAG]: 'vol-1/ab12cd34/3' }))).toEqual({
      sourceVolumeId: 'vol-1',
      moveId: 'ab12cd34',
      fence: 3,
      committed: false,
    });
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
    const source = vol(
      'vol-1',
      {},
      { [MOVE_TO_TAG]: 'z/m', [MOVED_FROM_TAG]: 'vol-0/m0', 'aws:cloudformation:stack-id': 's', StackID: 'h' },
    );
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
    await expect(
      tracker.run('v', route, async () => Promise.reject(new Error('snapshot failed')), 1_000),
    ).rejects.toThrow('snapshot failed');
    expect(await tracker.run('v', route, async () => 'second try', 1_000)).toBe('second try');
  });

  it('cancel and close abort running moves and wait for them to stop', async () => {
    const tracker = new MoveTracker<string>(logger);
    const seen: string[] = [];
    const start = (_: unknown, signal: AbortSignal) =>
      new Promise<string>((_resolve, reject) =>
        signal.addEventListener('abort', () => (seen.push('aborted'), reject(new Error('aborted')))),
      );
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
    await expect(tracker.cancel('v', 20)).rejects.toThrow(
      /volume "v" is moving from us-east-1a to us-east-1b: .*, and the move is still stopping; retry shortly/,
    );
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
    expect(line).toMatchObject({
      volume: 'v',
      move: 'moving from us-east-1a to us-east-1b: transfer snapshot snap-1 7% done',
    });
    finish('moved');
    expect(await moving).toBe('moved');
  });

  it('reports a move as it goes: started, each change of phase or whole percent, done with its duration', async () => {
    const events: VolumeEventInput[] = [];
    const tracker = new MoveTracker<string>(logger, undefined, { emit: (event) => events.push(event) });
    const moved = await tracker.run(
      'v',
      route,
      async (report) => {
        report({ phase: 'snapshot', snapshotId: 'snap-1', percent: 0 });
        report({ percent: 0 });
        report({ percent: 41.2 });
        report({ percent: 41.9 });
        report({ percent: 100 });
        report({ phase: 'volume', snapshotId: 'snap-1', percent: 100 });
        report({ phase: 'cleanup' });
        return 'moved';
      },
      1_000,
    );
    expect(moved).toBe('moved');
    const subject = { volume: 'v', backing: 'ebs', from: 'us-east-1a', to: 'us-east-1b' };
    expect(events).toEqual([
      { type: 'move.started', ...subject },
      { type: 'move.progress', ...subject, phase: 'snapshot', percent: 0 },
      { type: 'move.progress', ...subject, phase: 'snapshot', percent: 41 },
      { type: 'move.progress', ...subject, phase: 'snapshot', percent: 100 },
      { type: 'move.progress', ...subject, phase: 'volume', percent: 100 },
      { type: 'move.progress', ...subject, phase: 'cleanup', percent: 100 },
      { type: 'move.done', ...subject, seconds: expect.any(Number) },
    ]);
    expect((events.at(-1) as { seconds: number }).seconds).toBeGreaterThanOrEqual(0);
  });

  it('reports a failed move with its error, and one stopped by a cancel as stopped', async () => {
    const events: VolumeEventInput[] = [];
    const tracker = new MoveTracker<string>(logger, undefined, { emit: (event) => events.push(event) });
    await expect(
      tracker.run('v', route, async () => Promise.reject(new Error('snapshot failed')), 1_000),
    ).rejects.toThrow('snapshot failed');
    const stoppable = (_: unknown, signal: AbortSignal) =>
      new Promise<string>((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
    await expect(tracker.run('w', route, stoppable, 10)).rejects.toThrow(/is moving/);
    await tracker.cancel('w');
    expect(events.filter((e) => e.type === 'move.failed')).toEqual([
      { type: 'move.failed', volume: 'v', backing: 'ebs', ...route, error: 'snapshot failed' },
      {
        type: 'move.failed',
        volume: 'w',
        backing: 'ebs',
        ...route,
        error: 'stopped on this node before it finished (aborted)',
      },
    ]);
    expect(events.map((e) => `${e.type} ${e.volume}`)).toEqual([
      'move.started v',
      'move.failed v',
      'move.started w',
      'move.failed w',
    ]);
  });

  it('describes each phase', () => {
    const base = { ...route, startedAt: new Date() };
    expect(describeMove({ ...base, phase: 'snapshot' })).toBe(
      'moving from us-east-1a to us-east-1b: transfer snapshot (starting) 0% done',
    );
    expect(describeMove({ ...base, phase: 'volume' })).toMatch(/snapshot done, making the volume in us-east-1b/);
    expect(describeMove({ ...base, phase: 'cleanup' })).toMatch(/new volume ready, removing the old one/);
  });
});
