import { describe, expect, it } from 'vitest';
import { BackgroundDeleter } from '../src/background-deleter.js';
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
});
