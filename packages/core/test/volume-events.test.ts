import { describe, expect, it } from 'vitest';
import { ErrorKind } from '../src/errors/error-kind.js';
import { VolumeEvents, type VolumeEvent, type VolumeEventInput } from '../src/index.js';
import { expectStowageError } from '../src/testing/expect-stowage-error.js';
import { RecordingLogger } from './support/recording-logger.js';

const created = (volume: string): VolumeEventInput => ({
  type: 'volume.created',
  volume,
  backing: 'mem',
  options: { size: '1' },
});

function hub(capacity?: number): { events: VolumeEvents; logger: RecordingLogger; seen: VolumeEvent[] } {
  const logger = new RecordingLogger();
  const events = new VolumeEvents({ logger, ...(capacity !== undefined ? { capacity } : {}) });
  const seen: VolumeEvent[] = [];
  events.subscribe((event) => seen.push(event));
  return { events, logger, seen };
}

const volumesOf = (events: readonly VolumeEvent[]) => events.map((e) => e.volume);
const seqsOf = (events: readonly VolumeEvent[]) => events.map((e) => e.seq);

describe('VolumeEvents', () => {
  it('hands each event to every listener in the order emitted, numbered from 1, stamped with the time', () => {
    const logger = new RecordingLogger();
    const events = new VolumeEvents({ logger, now: () => new Date('2026-12-03T06:00:00.000Z') });
    const first: VolumeEvent[] = [];
    const second: VolumeEvent[] = [];
    events.subscribe((e) => first.push(e));
    events.subscribe((e) => second.push(e));
    events.emit(created('a'));
    events.emit({
      type: 'move.progress',
      volume: 'b',
      backing: 'ebs',
      from: 'z1',
      to: 'z2',
      phase: 'snapshot',
      percent: 40,
    });
    events.emit({ type: 'volume.removed', volume: 'a', backing: 'mem' });

    expect(first).toEqual([
      {
        type: 'volume.created',
        volume: 'a',
        backing: 'mem',
        options: { size: '1' },
        seq: 1,
        time: '2026-12-03T06:00:00.000Z',
      },
      {
        type: 'move.progress',
        volume: 'b',
        backing: 'ebs',
        from: 'z1',
        to: 'z2',
        phase: 'snapshot',
        percent: 40,
        seq: 2,
        time: '2026-12-03T06:00:00.000Z',
      },
      { type: 'volume.removed', volume: 'a', backing: 'mem', seq: 3, time: '2026-12-03T06:00:00.000Z' },
    ]);
    expect(second).toEqual(first);
    expect(events.lastSeq).toBe(3);
  });

  it('gives listeners a frozen copy, so neither the emitter nor a listener changes what others see', () => {
    const { events, seen } = hub();
    const options: Record<string, string> = { size: '1' };
    const changed: unknown[] = [];
    events.subscribe((e) => {
      try {
        (e.volume as string) = 'changed';
      } catch (error) {
        changed.push(error);
      }
    });
    events.emit({ type: 'volume.created', volume: 'a', backing: 'mem', options });
    options.size = '2';
    expect(seen[0]).toMatchObject({ volume: 'a', options: { size: '1' } });
    expect(changed).toHaveLength(1);
    expect(Object.isFrozen((seen[0] as { options: object }).options)).toBe(true);
  });

  it('isolates a listener that throws: the others get the event, the emitter is not told, the failure is logged', () => {
    const { events, logger, seen } = hub();
    events.subscribe(() => {
      throw new Error('the client went away');
    });
    const after: VolumeEvent[] = [];
    events.subscribe((e) => after.push(e));

    expect(() => events.emit(created('a'))).not.toThrow();
    events.emit(created('b'));

    expect(volumesOf(seen)).toEqual(['a', 'b']);
    expect(volumesOf(after)).toEqual(['a', 'b']);
    expect(logger.problems().map((l) => [l.message, l.fields.err, l.fields.seq])).toEqual([
      ['a volume event listener failed; the others got the event', 'the client went away', 1],
      ['a volume event listener failed; the others got the event', 'the client went away', 2],
    ]);
  });

  it('does not wait for a listener that returns a promise, and logs its rejection', async () => {
    const { events, logger, seen } = hub();
    let release: () => void = () => undefined;
    const slow = new Promise<void>((resolve) => {
      release = resolve;
    });
    events.subscribe(async () => {
      await slow;
      throw new Error('late failure');
    });
    events.emit(created('a'));
    events.emit(created('b'));
    // Both delivered while the slow listener is still waiting.
    expect(volumesOf(seen)).toEqual(['a', 'b']);
    release();
    await expect.poll(() => logger.problems().length).toBe(2);
    expect(logger.problems()[0]?.fields).toMatchObject({ err: 'late failure', eventType: 'volume.created' });
  });

  it('stops delivering to a listener once unsubscribed; unsubscribing twice does nothing', () => {
    const { events, seen } = hub();
    const mine: VolumeEvent[] = [];
    const listener = (e: VolumeEvent) => mine.push(e);
    const unsubscribe = events.subscribe(listener);
    // The same function subscribed twice is two subscriptions, each removed on its own.
    const again = events.subscribe(listener);
    events.emit(created('a'));
    unsubscribe();
    events.emit(created('b'));
    unsubscribe();
    again();
    events.emit(created('c'));
    expect(volumesOf(mine)).toEqual(['a', 'a', 'b']);
    expect(volumesOf(seen)).toEqual(['a', 'b', 'c']);
  });

  it('replays the events after a seq, and says the replay is complete when nothing was dropped', () => {
    const { events } = hub();
    expect(events.since(0)).toEqual({ events: [], complete: true });
    for (const name of ['a', 'b', 'c', 'd']) events.emit(created(name));
    expect(volumesOf(events.since(0).events)).toEqual(['a', 'b', 'c', 'd']);
    expect(events.since(2)).toMatchObject({ complete: true });
    expect(volumesOf(events.since(2).events)).toEqual(['c', 'd']);
    expect(events.since(4)).toEqual({ events: [], complete: true });
  });

  it('keeps only the latest events within its capacity, and tells a client that asks from before them', () => {
    const { events, seen } = hub(3);
    for (const name of ['a', 'b', 'c', 'd', 'e']) events.emit(created(name));
    // Listeners get every event: the bound is on the replay only.
    expect(seqsOf(seen)).toEqual([1, 2, 3, 4, 5]);
    expect(seqsOf(events.since(0).events)).toEqual([3, 4, 5]);
    expect(events.since(0).complete).toBe(false);
    expect(events.since(1).complete).toBe(false);
    // The client saw 2: it missed nothing, 3 is the oldest kept.
    expect(events.since(2)).toMatchObject({ complete: true });
    expect(seqsOf(events.since(2).events)).toEqual([3, 4, 5]);
    expect(seqsOf(events.since(4).events)).toEqual([5]);
  });

  it('answers a seq it never gave (an earlier process counted higher) with all it has, as incomplete', () => {
    const { events } = hub();
    events.emit(created('a'));
    const answer = events.since(900);
    expect(answer.complete).toBe(false);
    expect(volumesOf(answer.events)).toEqual(['a']);
  });

  it('refuses a seq that is not a whole number of 0 or more, naming it', async () => {
    const { events } = hub();
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      const error = await expectStowageError(
        Promise.resolve().then(() => events.since(bad)),
        ErrorKind.InvalidArgument,
      );
      expect(error.message).toBe(`event seq: must be a whole number of 0 or more, got ${String(bad)}`);
    }
  });

  it('refuses a capacity below 1', async () => {
    for (const bad of [0, -5, 2.5]) {
      const error = await expectStowageError(
        Promise.resolve().then(() => new VolumeEvents({ logger: new RecordingLogger(), capacity: bad })),
        ErrorKind.InvalidArgument,
      );
      expect(error.message).toContain(`got ${bad}`);
    }
  });

  it('drops and logs an event of no known type, without a volume or not serialisable, numbering none of them', () => {
    const { events, logger, seen } = hub();
    const cyclic: Record<string, unknown> = { type: 'volume.removed', volume: 'c', backing: 'mem' };
    cyclic.self = cyclic;
    for (const bad of [
      { type: 'volume.exploded', volume: 'a', backing: 'mem' },
      { type: 'volume.removed', volume: '', backing: 'mem' },
      { type: 'volume.removed', volume: 'b' },
      null,
      cyclic,
      { type: 'volume.removed', volume: 'd', backing: 'mem', size: 10n },
    ]) {
      expect(() => events.emit(bad as unknown as VolumeEventInput)).not.toThrow();
    }
    events.emit(created('ok'));
    expect(seen.map((e) => [e.volume, e.seq])).toEqual([['ok', 1]]);
    expect(logger.problems().map((l) => l.fields.problem)).toEqual([
      'its type "volume.exploded" is not known',
      'it names no volume',
      'it names no backing',
      'it is not an object',
      expect.stringContaining('it is not JSON-serialisable'),
      expect.stringContaining('it is not JSON-serialisable'),
    ]);
  });
});
