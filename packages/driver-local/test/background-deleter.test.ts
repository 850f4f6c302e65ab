import { describe, expect, it, vi } from 'vitest';
import { BackgroundDeleter } from '../src/background-deleter.js';
import { QuietGate } from '../src/quiet-gate.js';
import { RecordingLogger } from './support/recording-logger.js';

describe('BackgroundDeleter', () => {
  it('deletes what it is given one at a time, in order, after the caller has moved on', async () => {
    const deleted: string[] = [];
    let running = 0;
    let most = 0;
    const deleter = new BackgroundDeleter(async (dir) => {
      running += 1;
      most = Math.max(most, running);
      await new Promise((resolve) => setImmediate(resolve));
      deleted.push(dir);
      running -= 1;
    }, new RecordingLogger());
    deleter.add('/r/.removing-a');
    deleter.add('/r/.removing-b');
    expect(deleted).toEqual([]);
    deleter.add('/r/.removing-c');
    await deleter.settled();
    expect(deleted).toEqual(['/r/.removing-a', '/r/.removing-b', '/r/.removing-c']);
    expect(most).toBe(1);
  });

  it('logs a directory it cannot delete and goes on with the next', async () => {
    const deleted: string[] = [];
    const logger = new RecordingLogger();
    const deleter = new BackgroundDeleter(async (dir) => {
      if (dir.endsWith('stuck')) throw new Error('EBUSY: resource busy');
      deleted.push(dir);
    }, logger);
    deleter.add('/r/.removing-stuck');
    deleter.add('/r/.removing-next');
    await deleter.settled();
    expect(deleted).toEqual(['/r/.removing-next']);
    expect(logger.at('warn')).toEqual([
      {
        level: 'warn',
        fields: { path: '/r/.removing-stuck', err: 'EBUSY: resource busy' },
        message: 'a removed volume could not all be deleted',
      },
    ]);
  });

  it('on close, finishes the deletion under way and leaves the rest, and takes no more', async () => {
    const deleted: string[] = [];
    let release!: () => void;
    const first = new Promise<void>((resolve) => (release = resolve));
    let began!: () => void;
    const underWay = new Promise<void>((resolve) => (began = resolve));
    const deleter = new BackgroundDeleter(async (dir) => {
      if (dir.endsWith('one')) {
        began();
        await first;
      }
      deleted.push(dir);
    }, new RecordingLogger());
    deleter.add('/r/.removing-one');
    deleter.add('/r/.removing-two');
    await underWay;
    const closed = deleter.close();
    deleter.add('/r/.removing-three');
    release();
    await closed;
    await deleter.settled();
    expect(deleted).toEqual(['/r/.removing-one']);
  });

  it('waits for the calls to pause before each deletion, unless asked to settle', async () => {
    const gate = new QuietGate({ quietMs: 3_600_000, maxWaitMs: 3_600_000 });
    gate.begin();
    const deleted: string[] = [];
    const deleter = new BackgroundDeleter(async (dir) => void deleted.push(dir), new RecordingLogger(), gate);
    deleter.add('/r/.removing-a');
    deleter.add('/r/.removing-b');
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(deleted).toEqual([]);
    await deleter.settled();
    expect(deleted).toEqual(['/r/.removing-a', '/r/.removing-b']);
  });

  it('on close while waiting for a pause, deletes nothing more and leaves it all to the next start', async () => {
    const gate = new QuietGate({ quietMs: 3_600_000, maxWaitMs: 3_600_000 });
    gate.begin();
    const deleted: string[] = [];
    const deleter = new BackgroundDeleter(async (dir) => void deleted.push(dir), new RecordingLogger(), gate);
    deleter.add('/r/.removing-a');
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    await deleter.close();
    expect(deleted).toEqual([]);
  });

  it('after a pause, stops at a call that comes in, and goes on at the next pause', async () => {
    const gate = new QuietGate({ quietMs: 10, maxWaitMs: 3_600_000 });
    const deleted: string[] = [];
    const deleter = new BackgroundDeleter(
      async (dir) => {
        // A call arrives while the first deletion runs, and stays under way.
        if (deleted.length === 0) gate.begin();
        deleted.push(dir);
      },
      new RecordingLogger(),
      gate,
    );
    deleter.add('/r/.removing-a');
    deleter.add('/r/.removing-b');
    await vi.waitFor(() => expect(deleted).toEqual(['/r/.removing-a']), { timeout: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(deleted).toEqual(['/r/.removing-a']);
    gate.done();
    await vi.waitFor(() => expect(deleted).toEqual(['/r/.removing-a', '/r/.removing-b']), { timeout: 10_000 });
  });

  it('under calls that never pause, deletes everything queued by the deadline', async () => {
    const gate = new QuietGate({ quietMs: 3_600_000, maxWaitMs: 30 });
    gate.begin();
    const deleted: string[] = [];
    const waits = vi.spyOn(gate, 'wait');
    const deleter = new BackgroundDeleter(async (dir) => void deleted.push(dir), new RecordingLogger(), gate);
    for (const name of ['a', 'b', 'c']) deleter.add(`/r/.removing-${name}`);
    await vi.waitFor(() => expect(deleted).toHaveLength(3), { timeout: 10_000 });
    // All three after one deadline, not one per deadline.
    expect(waits).toHaveBeenCalledTimes(1);
    gate.done();
  });
});
