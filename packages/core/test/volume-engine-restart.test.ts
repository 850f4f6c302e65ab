import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { MountJournal } from '../src/engine/mount-journal.js';
import { MOUNT_JOURNAL_FILE, MOUNT_TABLE_FILE } from '../src/engine/mount-table.js';
import { StowageError } from '../src/errors/stowage-error.js';
import type { StorageProvider } from '../src/index.js';
import { provisional, resent, useEngineHarness } from './support/engine-harness.js';
import { countsOf } from './support/holds.js';
import { MemoryProvider } from './support/memory-provider.js';

describe('VolumeEngine across a restart', () => {
  const h = useEngineHarness();

  /** v created and mounted for `callers` (Docker Mounts, answered), then the engine stopped. */
  async function heldThenStopped(...callers: string[]): Promise<void> {
    const engine = await h.start();
    await engine.create('v', { size: '1' });
    for (const id of callers) {
      await engine.mount('v', id, provisional);
      await engine.confirmMount('v', id);
    }
    await engine.stop();
  }

  describe('restoring what callers hold', () => {
    it('writes nothing when every held volume is still mounted where it was', async () => {
      await heldThenStopped('c1');
      await h.start();
      expect(await readFile(join(h.stateDir, MOUNT_JOURNAL_FILE), 'utf8')).toBe('');
      expect(await h.recordOf('v')).toMatchObject({ state: 'mounted', mountpoint: '/mnt/mem/v' });
    });

    it('records a remount that lands on another path, and answers Mounts with the new one', async () => {
      await heldThenStopped('c1');
      h.provider.mountRoot = '/run/stowage/mnt';
      const engine = await h.start();
      expect(await h.recordOf('v')).toMatchObject({ state: 'mounted', mountpoint: '/run/stowage/mnt/v' });
      expect(await engine.mount('v', 'c2')).toBe('/run/stowage/mnt/v');
      expect(await engine.path('v')).toBe('/run/stowage/mnt/v');
    });

    it('retries a mount a crash interrupted while callers held the volume, and records it unavailable if that fails', async () => {
      const interrupted = { backing: 'mem', state: 'mounting', callers: [{ id: 'c1', count: 1, at: 5 }] };
      await h.provider.create({ name: 'v', options: {} });
      await writeFile(
        join(h.stateDir, MOUNT_TABLE_FILE),
        JSON.stringify({ version: 2, volumes: [{ volume: 'v', record: interrupted }] }),
      );
      h.provider.failNext.mount = new Error('attached elsewhere');
      const engine = await h.start();
      expect(await h.recordOf('v')).toMatchObject({ state: 'unavailable' });
      expect(countsOf(await h.recordOf('v'))).toEqual({ c1: 1 });
      expect(h.logger.problems()).toEqual([
        {
          level: 'error',
          fields: { volume: 'v', holds: 1, err: 'attached elsewhere' },
          message:
            'a volume callers hold could not be mounted again; it is not answered as mounted until a Mount succeeds',
        },
      ]);
      await engine.stop();
      await h.start();
      expect(await h.recordOf('v')).toMatchObject({ state: 'mounted', mountpoint: '/mnt/mem/v' });
      expect(h.provider.mounted.has('v')).toBe(true);
    });

    it('keeps a release it cannot finish at start-up, says so, and finishes it at the next start', async () => {
      const engine = await h.start();
      await engine.create('v', { size: '1' });
      await engine.mount('v', 'c1');
      h.provider.failNext.unmount = new Error('device busy');
      await expect(engine.unmount('v', 'c1')).rejects.toThrow('device busy');
      await engine.stop();

      h.provider.failNext.unmount = new Error('device still busy');
      const failed = await h.start();
      expect(await h.recordOf('v')).toMatchObject({ state: 'unmounting' });
      expect(h.logger.problems()).toEqual([
        {
          level: 'error',
          fields: { volume: 'v', err: 'releasing volume "v" (backing mem) failed: device still busy' },
          message: 'could not release an interrupted mount',
        },
      ]);
      await failed.stop();

      await h.start();
      expect(await h.recordOf('v')).toBeUndefined();
      expect(h.provider.mounted.has('v')).toBe(false);
    });

    it('goes on when a backing cannot reconcile, naming it', async () => {
      await heldThenStopped('c1');
      h.provider.failNext.reconcile = new Error('DescribeVolumes throttled');
      const engine = await h.start();
      expect(h.logger.problems()).toEqual([
        {
          level: 'error',
          fields: { backing: 'mem', err: 'DescribeVolumes throttled' },
          message: 'backing reconciliation failed',
        },
      ]);
      expect(await engine.mount('v', 'c2')).toBe('/mnt/mem/v');
    });

    it('starts, restores and stops a backing that has no init, reconcile or close without complaint', async () => {
      const bare = Object.assign(new MemoryProvider('bare'), {
        init: undefined,
        reconcile: undefined,
        close: undefined,
      }) as unknown as StorageProvider;
      const engine = await h.start({ providers: [bare] });
      await engine.create('v');
      await engine.mount('v', 'c1');
      await engine.stop();
      await h.start({ providers: [bare] });
      expect(h.logger.problems()).toEqual([]);
      expect(countsOf(await h.recordOf('v'))).toEqual({ c1: 1 });
    });
  });

  describe('Mounts the previous process counted but never answered', () => {
    /** v held by `holder` (answered); `caller`'s Mounts counted `times` and never answered; then the process ends. */
    async function unansweredThenStopped(caller: string, times: number): Promise<void> {
      const engine = await h.start();
      await engine.create('v', { size: '1' });
      await engine.mount('v', 'holder', provisional);
      await engine.confirmMount('v', 'holder');
      for (let i = 0; i < times; i += 1) await engine.mount('v', caller, provisional);
      await engine.stop();
    }

    it('answers a Mount the caller says is one sent again without counting it twice, and asks only then', async () => {
      await unansweredThenStopped('c1', 1);
      const engine = await h.start();
      const asked: number[] = [];
      const isRetry = async (hold: { pending: number }) => (asked.push(hold.pending), true);
      expect(await engine.mount('v', 'c1', { provisional: true, isRetry })).toBe('/mnt/mem/v');
      expect(countsOf(await h.recordOf('v'))).toEqual({ holder: 1, c1: 1 });
      // holder's Mount was confirmed: nothing of it is provisional, so it is a new Mount and the hook is not asked.
      await engine.mount('v', 'holder', { provisional: true, isRetry });
      expect(asked).toEqual([1]);
      expect(countsOf(await h.recordOf('v'))).toEqual({ holder: 2, c1: 1 });
    });

    it('tells apart the unanswered Mounts of different volumes', async () => {
      const engine = await h.start();
      await engine.create('v', { size: '1' });
      await engine.create('w', { size: '1' });
      await engine.mount('v', 'c1', provisional);
      await engine.mount('w', 'c2', provisional);
      await engine.stop();
      const restarted = await h.start();
      await restarted.mount('v', 'c1', resent);
      await restarted.mount('w', 'c2', resent);
      expect(countsOf(await h.recordOf('v'))).toEqual({ c1: 1 });
      expect(countsOf(await h.recordOf('w'))).toEqual({ c2: 1 });
    });

    it('counts a Mount that comes after its unanswered predecessor was taken back (the volume released with it)', async () => {
      const engine = await h.start();
      await engine.create('v', { size: '1' });
      await engine.mount('v', 'c1', provisional);
      await engine.stop();
      const restarted = await h.start();
      await restarted.withdrawMount('v', 'c1');
      expect(h.provider.mounted.has('v')).toBe(false);
      expect(await restarted.mount('v', 'c1', provisional)).toBe('/mnt/mem/v');
      expect(countsOf(await h.recordOf('v'))).toEqual({ c1: 1 });
      expect(h.provider.mounted.has('v')).toBe(true);
    });

    it('counts a Mount that comes after its unanswered predecessor was taken back (another caller holding on)', async () => {
      await unansweredThenStopped('c1', 1);
      const restarted = await h.start();
      await restarted.withdrawMount('v', 'c1');
      expect(countsOf(await h.recordOf('v'))).toEqual({ holder: 1 });
      // Nothing of c1 is pending any more: even a Mount the Docker engine would confirm as sent again is a new one.
      await restarted.mount('v', 'c1', resent);
      expect(countsOf(await h.recordOf('v'))).toEqual({ holder: 1, c1: 1 });
    });

    it('counts a Mount it cannot confirm as sent again (the Docker engine does not answer), and says so', async () => {
      await unansweredThenStopped('c1', 1);
      const restarted = await h.start();
      await restarted.mount('v', 'c1', {
        provisional: true,
        isRetry: async () => Promise.reject(new Error('connect ENOENT /var/run/docker.sock')),
      });
      expect(countsOf(await h.recordOf('v'))).toEqual({ holder: 1, c1: 2 });
      expect(h.logger.problems()).toEqual([
        {
          level: 'warn',
          fields: { volume: 'v', caller: 'c1', err: 'connect ENOENT /var/run/docker.sock' },
          message: 'could not tell whether a Mount was sent again; counting it',
        },
      ]);
    });

    it('counts both of two Mounts an answered caller sends after the restart, before either is answered', async () => {
      await heldThenStopped('c1');
      const engine = await h.start();
      await engine.mount('v', 'c1', provisional);
      await engine.mount('v', 'c1', provisional);
      expect((await h.recordOf('v'))?.callers.get('c1')).toMatchObject({ count: 3, pending: 2 });
    });

    it.each([
      ['the backend refuses it', 'mount', [] as string[], undefined],
      ['the backend refuses it', 'mount', ['holder'], { holder: 1 }],
      ['the backend cannot be asked', 'inspect', [] as string[], undefined],
      ['the backend cannot be asked', 'inspect', ['holder'], { holder: 1 }],
    ] as const)(
      'takes back an unanswered Mount that fails when sent again: %s (%s fails; other callers %j)',
      async (_, how, others, left) => {
        const engine = await h.start();
        await engine.create('v', { size: '1' });
        for (const id of others) {
          await engine.mount('v', id, provisional);
          await engine.confirmMount('v', id);
        }
        await engine.mount('v', 'c1', provisional); // counted; the process dies before the answer leaves
        await engine.stop();
        h.provider.mounted.clear();
        h.provider.failNext.mount = new Error('attached elsewhere');
        const restarted = await h.start();
        expect((await h.recordOf('v'))?.state).toBe('unavailable');

        // Docker sends the Mount again; it fails, so Docker will never send its Unmount.
        h.provider.failNext[how] = StowageError.backendFailure('still attached elsewhere');
        await expect(restarted.mount('v', 'c1', resent)).rejects.toThrow('still attached elsewhere');
        const counts = countsOf(await h.recordOf('v'));
        expect(counts).toEqual(left ?? {});
        expect(restarted.holds().flatMap((held) => held.callers.map((caller) => caller.id))).toEqual(others);
        if (others.length === 0) await restarted.remove('v');
        else expect(await restarted.mount('v', 'c1', provisional)).toBe('/mnt/mem/v');
      },
    );

    it('answers the failure of a resent Mount, not of the write that takes it back', async () => {
      await unansweredThenStopped('c1', 1);
      h.provider.mounted.clear();
      h.provider.failNext.mount = new Error('attached elsewhere');
      const restarted = await h.start();
      h.provider.failNext.inspect = StowageError.backendFailure('cloud API down');
      vi.spyOn(MountJournal.prototype, 'append').mockRejectedValueOnce(new Error('no space left on device'));
      await expect(restarted.mount('v', 'c1', resent)).rejects.toThrow('cloud API down');
      expect(h.logger.problems().at(-1)).toEqual({
        level: 'warn',
        fields: { volume: 'v', caller: 'c1', err: expect.stringContaining('no space left on device') },
        message: 'could not take back a failed Mount sent again',
      });
    });

    it('counts one the caller does not confirm as sent again: a new Mount (provisional cp) into a container that got its answer', async () => {
      await unansweredThenStopped('c1', 1);
      const engine = await h.start();
      let asked = 0;
      await engine.mount('v', 'c1', { provisional: true, isRetry: async () => (asked += 1) < 0 });
      expect(asked).toBe(1);
      expect(countsOf(await h.recordOf('v'))).toEqual({ holder: 1, c1: 2 });
    });
  });
});
