import { describe, expect, it } from 'vitest';
import { DeferredSync } from '../src/deferred-sync.js';
import { QuietGate } from '../src/quiet-gate.js';
import { RecordingLogger } from './support/recording-logger.js';

/** A sync that records each path and waits, while the gate is shut, until it opens. */
class GatedSync {
  readonly synced: string[] = [];
  private open = true;
  private waiting: Array<() => void> = [];
  private onWait: (() => void) | undefined;
  failing = new Map<string, NodeJS.ErrnoException>();

  /** Resolves once a sync is held at the shut gate: a pass has begun. */
  held(): Promise<void> {
    if (this.waiting.length > 0) return Promise.resolve();
    return new Promise((resolve) => (this.onWait = resolve));
  }

  shut(): void {
    this.open = false;
  }

  release(): void {
    this.open = true;
    for (const go of this.waiting.splice(0)) go();
  }

  readonly sync = async (path: string): Promise<void> => {
    if (!this.open) {
      const passed = new Promise<void>((resolve) => this.waiting.push(resolve));
      this.onWait?.();
      await passed;
    }
    const failure = this.failing.get(path);
    if (failure) throw failure;
    this.synced.push(path);
  };
}

const ioError = (): NodeJS.ErrnoException => Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });

/** Whether `promise` has settled after the event loop has turned `turns` times. */
async function settledAfter(promise: Promise<unknown>, turns = 20): Promise<boolean> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
  return settled;
}

describe('DeferredSync', () => {
  it("syncs each volume's paths, then the root, after the caller has moved on", async () => {
    const disk = new GatedSync();
    const deferred = new DeferredSync('/root', new RecordingLogger(), disk.sync);
    deferred.add('a', ['/root/a/volume.json', '/root/a']);
    // Nothing yet: the pass starts only once the answer that queued it has left.
    expect(disk.synced).toEqual([]);
    expect(deferred.size).toBe(1);
    await deferred.durable('a');
    expect(disk.synced).toEqual(['/root/a/volume.json', '/root/a', '/root']);
    expect(deferred.size).toBe(0);
  });

  it("makes a caller of durable wait until its volume's syncs are done", async () => {
    const disk = new GatedSync();
    disk.shut();
    const deferred = new DeferredSync('/root', new RecordingLogger(), disk.sync);
    deferred.add('a', ['/root/a']);
    const waiting = deferred.durable('a');
    expect(await settledAfter(waiting)).toBe(false);
    disk.release();
    await waiting;
    expect(disk.synced).toEqual(['/root/a', '/root']);
  });

  it('syncs the root once for every volume queued while a pass was under way', async () => {
    const disk = new GatedSync();
    disk.shut();
    const deferred = new DeferredSync('/root', new RecordingLogger(), disk.sync);
    deferred.add('first', ['/root/first']);
    await disk.held();
    for (const name of ['b', 'c', 'd']) deferred.add(name, [`/root/${name}`]);
    disk.release();
    await deferred.drain();
    expect(disk.synced).toEqual(['/root/first', '/root', '/root/b', '/root/c', '/root/d', '/root']);
  });

  it('answers at once for a volume with nothing pending', async () => {
    const disk = new GatedSync();
    disk.shut();
    const deferred = new DeferredSync('/root', new RecordingLogger(), disk.sync);
    expect(await settledAfter(deferred.durable('never-created'), 1)).toBe(true);
  });

  it('takes a path already gone (its volume removed meanwhile) as nothing to sync', async () => {
    const gone = Object.assign(new Error('ENOENT: no such file or directory'), { code: 'ENOENT' });
    const disk = new GatedSync();
    disk.failing.set('/root/removed/volume.json', gone);
    const logger = new RecordingLogger();
    const deferred = new DeferredSync('/root', logger, disk.sync);
    deferred.add('removed', ['/root/removed/volume.json', '/root/removed']);
    await deferred.durable('removed');
    expect(disk.synced).toEqual(['/root/removed', '/root']);
    expect(logger.at('error')).toEqual([]);
  });

  it('logs a failed pass, and durable syncs that volume again, failing while the disk does', async () => {
    const disk = new GatedSync();
    disk.failing.set('/root/bad', ioError());
    const logger = new RecordingLogger();
    const deferred = new DeferredSync('/root', logger, disk.sync);
    deferred.add('bad', ['/root/bad']);
    deferred.add('good', ['/root/good']);
    await deferred.drain();
    // The root was still synced for the volume that could be.
    await deferred.durable('good');
    expect(disk.synced).toEqual(['/root/good', '/root']);
    expect(logger.at('error')).toEqual([
      {
        level: 'error',
        fields: { volume: 'bad', err: 'EIO: i/o error, fsync' },
        message: 'could not make a created volume durable; its first mount tries again',
      },
    ]);
    expect(deferred.size).toBe(1);

    await expect(deferred.durable('bad')).rejects.toThrow('EIO');
    expect(deferred.size).toBe(1);
    disk.failing.clear();
    await deferred.durable('bad');
    expect(disk.synced.slice(-2)).toEqual(['/root/bad', '/root']);
    expect(deferred.size).toBe(0);
  });

  it('fails every volume of a pass whose root sync failed, until a later sync of it succeeds', async () => {
    const disk = new GatedSync();
    disk.failing.set('/root', ioError());
    const deferred = new DeferredSync('/root', new RecordingLogger(), disk.sync);
    deferred.add('x', ['/root/x']);
    await expect(deferred.durable('x')).rejects.toThrow('EIO');
    disk.failing.clear();
    await deferred.durable('x');
    expect(deferred.size).toBe(0);
  });

  it('keeps the newer entry when a name is created again before its first pass ended', async () => {
    const disk = new GatedSync();
    disk.shut();
    const deferred = new DeferredSync('/root', new RecordingLogger(), disk.sync);
    deferred.add('again', ['/root/again-1']);
    await disk.held();
    deferred.add('again', ['/root/again-2']);
    disk.release();
    await deferred.drain();
    expect(disk.synced).toEqual(['/root/again-1', '/root', '/root/again-2', '/root']);
    expect(deferred.size).toBe(0);
  });

  describe('waiting for the calls to pause', () => {
    /** A gate whose calls never pause: only a hurry, a flush or a caller of the work lets a pass go. */
    const busy = () => {
      const gate = new QuietGate({ quietMs: 3_600_000, maxWaitMs: 3_600_000 });
      gate.begin();
      return gate;
    };

    it('holds its pass while calls go on', async () => {
      const disk = new GatedSync();
      const deferred = new DeferredSync('/root', new RecordingLogger(), disk.sync, busy());
      deferred.add('a', ['/root/a']);
      for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve));
      expect(disk.synced).toEqual([]);
      expect(deferred.size).toBe(1);
    });

    it('syncs the volume of a caller of durable at once, on its own, as for a Mount; the others wait for a pause', async () => {
      const disk = new GatedSync();
      const gate = busy();
      const deferred = new DeferredSync('/root', new RecordingLogger(), disk.sync, gate);
      deferred.add('a', ['/root/a']);
      deferred.add('b', ['/root/b']);
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
      expect(disk.synced).toEqual([]);
      await deferred.durable('a');
      expect(disk.synced).toEqual(['/root/a', '/root']);
      expect(deferred.size).toBe(1);
      await deferred.drain();
      expect(disk.synced).toEqual(['/root/a', '/root', '/root/b', '/root']);
      expect(deferred.size).toBe(0);
    });

    it('does not make a caller of durable wait for a pass over a burst of creates', async () => {
      const disk = new GatedSync();
      const deferred = new DeferredSync('/root', new RecordingLogger(), disk.sync, busy());
      for (let i = 0; i < 1_000; i++) deferred.add(`burst-${i}`, [`/root/burst-${i}`]);
      const pass = deferred.drain();
      // The pass has taken all of them and holds at its first sync.
      disk.shut();
      await disk.held();
      const mount = deferred.durable('burst-999');
      expect(await settledAfter(mount)).toBe(false);
      // Its own two syncs are all it waits for: released one at a time, the pass has gone no further than its first.
      disk.release();
      await mount;
      expect(disk.synced.filter((path) => path.startsWith('/root/burst-')).length).toBeLessThan(10);
      expect(disk.synced).toContain('/root/burst-999');
      await pass;
      expect(deferred.size).toBe(0);
    });

    it('lets every pass go for drain, as for a stop', async () => {
      const disk = new GatedSync();
      const deferred = new DeferredSync('/root', new RecordingLogger(), disk.sync, busy());
      deferred.add('a', ['/root/a']);
      await deferred.drain();
      expect(disk.synced).toEqual(['/root/a', '/root']);
      expect(deferred.size).toBe(0);
    });

    it('spares the root when every volume its waiting pass had was removed meanwhile', async () => {
      const disk = new GatedSync();
      const gate = busy();
      const deferred = new DeferredSync('/root', new RecordingLogger(), disk.sync, gate);
      deferred.add('brief', ['/root/brief']);
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
      deferred.forget('brief');
      gate.flush();
      await deferred.drain();
      expect(disk.synced).toEqual([]);
    });

    it('forgets a removed volume: nothing synced for it, no waiter left, the root spared', async () => {
      const disk = new GatedSync();
      const deferred = new DeferredSync('/root', new RecordingLogger(), disk.sync, busy());
      deferred.add('gone', ['/root/gone']);
      deferred.forget('gone');
      expect(deferred.size).toBe(0);
      await deferred.durable('gone');
      await deferred.drain();
      expect(disk.synced).toEqual([]);
    });
  });
});
