import { describe, expect, it, vi } from 'vitest';
import { MountJournal } from '../src/engine/mount-journal.js';
import { provisional, rejection, useEngineHarness } from './support/engine-harness.js';
import { countsOf } from './support/holds.js';
import { ErrorKind } from '../src/errors/error-kind.js';

// Answers, undelivered answers and releases come from the adapter, often for Mounts that are no longer pending or
// callers that hold nothing: those change nothing, and cost no durable write (each is an fdatasync).
describe('VolumeEngine holds the adapter settles', () => {
  const h = useEngineHarness();

  async function withVolume(): Promise<Awaited<ReturnType<typeof h.start>>> {
    const engine = await h.start();
    await engine.create('v', { size: '1' });
    return engine;
  }

  it('writes nothing to answer a Mount that is not pending: answered already, never made, or of an unknown volume', async () => {
    const engine = await withVolume();
    await engine.mount('v', 'c1', provisional);
    await engine.confirmMount('v', 'c1');
    await engine.mount('v', 'local'); // in process: final at once
    const appends = vi.spyOn(MountJournal.prototype, 'append');
    await engine.confirmMount('v', 'c1');
    await engine.confirmMount('v', 'local');
    await engine.confirmMount('v', 'ghost');
    await engine.confirmMount('nothing', 'c1');
    await engine.withdrawMount('v', 'c1');
    await engine.withdrawMount('v', 'ghost');
    await engine.withdrawMount('nothing', 'c1');
    expect(appends).not.toHaveBeenCalled();
    expect((await h.recordOf('v'))?.callers).toEqual(
      new Map([
        ['c1', expect.objectContaining({ count: 1, pending: 0 })],
        ['local', expect.objectContaining({ count: 1, pending: 0 })],
      ]),
    );
    expect(h.logger.problems()).toEqual([]);
  });

  it("says which caller's Mount it took back", async () => {
    const engine = await withVolume();
    await engine.mount('v', 'holder');
    await engine.mount('v', 'late', provisional);
    await engine.withdrawMount('v', 'late');
    expect(countsOf(await h.recordOf('v'))).toEqual({ holder: 1 });
    expect(h.provider.mounted.has('v')).toBe(true);
    expect(h.logger.problems()).toEqual([
      {
        level: 'warn',
        fields: { volume: 'v', caller: 'late' },
        message: 'a provisional Mount was withdrawn',
      },
    ]);
  });

  describe('releaseHolds', () => {
    it('keeps a hold counted at the very instant of the proof, and drops it once the proof is later', async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(1_000);
      const engine = await withVolume();
      await engine.mount('v', 'c1', provisional);
      expect(await engine.releaseHolds('v', ['c1'], 1_000)).toBe(0);
      expect(countsOf(await h.recordOf('v'))).toEqual({ c1: 1 });
      expect(await engine.releaseHolds('v', ['c1'], 1_001)).toBe(1);
      expect(await h.recordOf('v')).toBeUndefined();
      expect(h.provider.mounted.has('v')).toBe(false);
    });

    it('changes nothing, and writes nothing, for callers that hold nothing or a volume not held', async () => {
      const engine = await withVolume();
      await engine.mount('v', 'c1', provisional);
      const appends = vi.spyOn(MountJournal.prototype, 'append');
      expect(await engine.releaseHolds('v', ['c2', 'ghost'], Date.now() + 1_000)).toBe(0);
      expect(await engine.releaseHolds('v', [], Date.now() + 1_000)).toBe(0);
      expect(await engine.releaseHolds('nothing', ['c1'], Date.now() + 1_000)).toBe(0);
      expect(appends).not.toHaveBeenCalled();
      expect(h.logger.problems()).toEqual([]);
    });

    it('leaves alone a release under way that nobody holds: the next Mount or start finishes it', async () => {
      const engine = await withVolume();
      await engine.mount('v', 'c1');
      h.provider.failNext.unmount = new Error('device busy');
      await rejection(engine.unmount('v', 'c1'));
      const unmounts = h.provider.count('unmount');
      expect(await engine.releaseHolds('v', ['c1'], Date.now() + 1_000)).toBe(0);
      expect(h.provider.count('unmount')).toBe(unmounts);
      expect((await h.recordOf('v'))?.state).toBe('unmounting');
    });

    it('says which callers it released, and how many Mounts', async () => {
      const engine = await withVolume();
      await engine.mount('v', 'gone', provisional);
      await engine.mount('v', 'gone', provisional);
      await engine.mount('v', 'alive', provisional);
      expect(await engine.releaseHolds('v', ['gone'], Date.now() + 1_000)).toBe(2);
      expect(h.logger.problems()).toEqual([
        {
          level: 'warn',
          fields: { volume: 'v', callers: ['gone'], mounts: 2 },
          message: 'released holds of callers that are gone',
        },
      ]);
      const unmount = await rejection(engine.unmount('v', 'gone'));
      expect(unmount.kind).toBe(ErrorKind.NotFound);
    });
  });
});
