import { describe, expect, it } from 'vitest';
import { ENGINE_FAILPOINTS, type EngineFailpoint } from '../src/engine/engine-failpoints.js';
import type { VolumeEngine } from '../src/engine/volume-engine.js';
import { ErrorKind } from '../src/errors/error-kind.js';
import { provisional, resent, rejection, useEngineHarness, type EngineHarness } from './support/engine-harness.js';
import { Killed, loadWithFailpoints } from './support/failpoints.js';
import { countsOf } from './support/holds.js';

/**
 * The engine killed at each of its failpoints, then started again on the same state and backend: in process (an armed
 * point throws instead of SIGKILLing) so that this runs in every `pnpm test` and a mutation run sees it. The Docker
 * adapter's crash-at-every-step harness does the same to the built plugin with a real SIGKILL, over real backings.
 * Each case checks what is on disk right after the kill and what the restarted engine makes of it: nothing a caller
 * was told is lost, nothing half done is left, and the caller's retry (Docker resends what got no answer) completes.
 */
interface CrashCase {
  readonly name: string;
  readonly point: EngineFailpoint;
  /** Done before the failpoint is armed. */
  readonly before?: (engine: VolumeEngine) => Promise<void>;
  /** The operation the kill interrupts. */
  readonly during: (engine: VolumeEngine) => Promise<unknown>;
  /** What the disk and the backend hold right after the kill. */
  readonly killed: (h: EngineHarness) => Promise<void>;
  /** The restarted engine: what it made of the state, and the retry. */
  readonly restarted: (engine: VolumeEngine, h: EngineHarness) => Promise<void>;
}

const created = async (engine: VolumeEngine): Promise<void> => {
  await engine.create('v', { size: '1' });
};
const heldBy =
  (...callers: string[]) =>
  async (engine: VolumeEngine): Promise<void> => {
    await created(engine);
    for (const id of callers) {
      await engine.mount('v', id, provisional);
      await engine.confirmMount('v', id);
    }
  };

const CASES: CrashCase[] = [
  {
    name: 'create, before the backend is asked',
    point: 'create:before-provider',
    during: created,
    killed: async (h) => expect(h.provider.volumes.has('v')).toBe(false),
    restarted: async (engine, h) => {
      expect(await engine.get('v')).toBeUndefined();
      await created(engine);
      expect(h.provider.count('create')).toBe(1);
    },
  },
  {
    name: 'create, after the backend made the volume',
    point: 'create:after-provider',
    during: created,
    killed: async (h) => expect(h.provider.volumes.has('v')).toBe(true),
    restarted: async (engine, h) => {
      await created(engine);
      expect(h.provider.count('create')).toBe(1);
    },
  },
  {
    name: 'a first Mount, before anything is written',
    point: 'mount:before-table-write',
    before: created,
    during: (engine) => engine.mount('v', 'c1', provisional),
    killed: async (h) => {
      expect(await h.recordOf('v')).toBeUndefined();
      expect(h.provider.count('mount')).toBe(0);
    },
    restarted: async (engine, h) => {
      await engine.mount('v', 'c1', provisional);
      expect(countsOf(await h.recordOf('v'))).toEqual({ c1: 1 });
    },
  },
  {
    name: 'a first Mount, after its intent is written',
    point: 'mount:after-intent',
    before: created,
    during: (engine) => engine.mount('v', 'c1', provisional),
    killed: async (h) => {
      expect(await h.recordOf('v')).toMatchObject({ state: 'mounting', callers: new Map() });
      expect(h.provider.count('mount')).toBe(0);
    },
    restarted: async (engine, h) => {
      expect(await h.recordOf('v')).toBeUndefined();
      expect(h.provider.reconciledWith).toEqual(new Set());
      await engine.mount('v', 'c1', provisional);
      expect(countsOf(await h.recordOf('v'))).toEqual({ c1: 1 });
      expect(h.provider.mounted.has('v')).toBe(true);
    },
  },
  {
    name: 'a first Mount, after the backend mounted',
    point: 'mount:after-provider',
    before: created,
    during: (engine) => engine.mount('v', 'c1', provisional),
    killed: async (h) => {
      expect(await h.recordOf('v')).toMatchObject({ state: 'mounting', callers: new Map() });
      expect(h.provider.mounted.has('v')).toBe(true);
    },
    restarted: async (engine, h) => {
      // Nobody was told: the mount is undone, and the resent Mount mounts again.
      expect(h.provider.mounted.has('v')).toBe(false);
      expect(await h.recordOf('v')).toBeUndefined();
      await engine.mount('v', 'c1', provisional);
      expect(countsOf(await h.recordOf('v'))).toEqual({ c1: 1 });
    },
  },
  {
    name: 'a first Mount, after it is counted but before the answer',
    point: 'mount:after-commit',
    before: created,
    during: (engine) => engine.mount('v', 'c1', provisional),
    killed: async (h) => {
      expect(await h.recordOf('v')).toMatchObject({
        state: 'mounted',
        callers: new Map([['c1', expect.objectContaining({ count: 1, pending: 1 })]]),
      });
    },
    restarted: async (engine, h) => {
      // Docker sends it again, and its API confirms no container runs with the volume yet.
      expect(await engine.mount('v', 'c1', resent)).toBe('/mnt/mem/v');
      expect(countsOf(await h.recordOf('v'))).toEqual({ c1: 1 });
    },
  },
  {
    name: 'a Mount whose answer left, before it is recorded as answered',
    point: 'mount:before-answered-record',
    before: created,
    during: async (engine) => {
      await engine.mount('v', 'c1', provisional);
      await engine.confirmMount('v', 'c1');
    },
    killed: async (h) => {
      expect((await h.recordOf('v'))?.callers.get('c1')).toMatchObject({ count: 1, pending: 1 });
    },
    restarted: async (engine, h) => {
      // The container got its answer and runs: a provisional cp into it is a new Mount, which nothing confirms as sent
      // again, so it counts (the one too many is released once no container runs with the volume).
      await engine.mount('v', 'c1', provisional);
      expect(countsOf(await h.recordOf('v'))).toEqual({ c1: 2 });
      await engine.unmount('v', 'c1');
      expect(h.provider.mounted.has('v')).toBe(true);
    },
  },
  {
    name: "a second caller's Mount, after it is counted but before the answer",
    point: 'mount:after-commit',
    before: heldBy('c1'),
    during: (engine) => engine.mount('v', 'c2', provisional),
    killed: async (h) => {
      expect((await h.recordOf('v'))?.callers.get('c2')).toMatchObject({ count: 1, pending: 1 });
    },
    restarted: async (engine, h) => {
      await engine.mount('v', 'c2', resent);
      expect(countsOf(await h.recordOf('v'))).toEqual({ c1: 1, c2: 1 });
    },
  },
  {
    name: 'an Unmount, before anything is written',
    point: 'unmount:before-table-write',
    before: heldBy('c1'),
    during: (engine) => engine.unmount('v', 'c1'),
    killed: async (h) => expect(countsOf(await h.recordOf('v'))).toEqual({ c1: 1 }),
    restarted: async (engine, h) => {
      await engine.unmount('v', 'c1');
      expect(h.provider.mounted.has('v')).toBe(false);
      expect(await h.recordOf('v')).toBeUndefined();
    },
  },
  {
    name: 'an Unmount that leaves another caller, after it is counted',
    point: 'unmount:after-commit',
    before: heldBy('c1', 'c2'),
    during: (engine) => engine.unmount('v', 'c1'),
    killed: async (h) => expect(countsOf(await h.recordOf('v'))).toEqual({ c2: 1 }),
    restarted: async (engine, h) => {
      // The Unmount was made: sent again, it matches nothing, and the other caller keeps the volume.
      expect((await rejection(engine.unmount('v', 'c1'))).kind).toBe(ErrorKind.NotFound);
      expect(h.provider.mounted.has('v')).toBe(true);
      expect((await rejection(engine.remove('v'))).kind).toBe(ErrorKind.InUse);
    },
  },
  {
    name: 'the last Unmount, after its intent is written',
    point: 'unmount:after-intent',
    before: heldBy('c1'),
    during: (engine) => engine.unmount('v', 'c1'),
    killed: async (h) => {
      expect(await h.recordOf('v')).toMatchObject({ state: 'unmounting', callers: new Map() });
      expect(h.provider.mounted.has('v')).toBe(true);
    },
    restarted: async (engine, h) => {
      expect(h.provider.mounted.has('v')).toBe(false);
      expect(await h.recordOf('v')).toBeUndefined();
      await engine.remove('v');
    },
  },
  {
    name: 'the last Unmount, after the backend released',
    point: 'unmount:after-provider',
    before: heldBy('c1'),
    during: (engine) => engine.unmount('v', 'c1'),
    killed: async (h) => {
      expect(await h.recordOf('v')).toMatchObject({ state: 'unmounting' });
      expect(h.provider.mounted.has('v')).toBe(false);
    },
    restarted: async (engine, h) => {
      expect(await h.recordOf('v')).toBeUndefined();
      await engine.remove('v');
      expect(h.provider.volumes.has('v')).toBe(false);
    },
  },
  {
    name: 'the last Unmount, after the release is recorded',
    point: 'unmount:after-commit',
    before: heldBy('c1'),
    during: (engine) => engine.unmount('v', 'c1'),
    killed: async (h) => {
      expect(await h.recordOf('v')).toBeUndefined();
      expect(h.provider.mounted.has('v')).toBe(false);
    },
    restarted: async (engine, h) => {
      const unmounts = h.provider.count('unmount');
      await engine.remove('v');
      expect(h.provider.count('unmount')).toBe(unmounts);
    },
  },
  {
    name: 'remove, before the backend is asked',
    point: 'remove:before-provider',
    before: created,
    during: (engine) => engine.remove('v'),
    killed: async (h) => expect(h.provider.volumes.has('v')).toBe(true),
    restarted: async (engine, h) => {
      await engine.remove('v');
      expect(h.provider.volumes.has('v')).toBe(false);
    },
  },
  {
    name: 'remove, after the backend removed the volume',
    point: 'remove:after-provider',
    before: created,
    during: (engine) => engine.remove('v'),
    killed: async (h) => expect(h.provider.volumes.has('v')).toBe(false),
    restarted: async (engine) => {
      expect(await engine.get('v')).toBeUndefined();
      expect((await rejection(engine.remove('v'))).kind).toBe(ErrorKind.NotFound);
    },
  },
];

/**
 * The points whose cases differ for a backing that mounts in place (`local`): nothing is written before its Mount and
 * its last Unmount are done, so a kill in between leaves the table as it was before the call.
 */
const IN_PLACE_CASES: CrashCase[] = [
  {
    name: 'a first Mount on a backing that mounts in place, after the backend answered',
    point: 'mount:after-provider',
    before: created,
    during: (engine) => engine.mount('v', 'c1', provisional),
    killed: async (h) => expect(await h.recordOf('v')).toBeUndefined(),
    restarted: async (engine, h) => {
      expect(h.provider.reconciledWith).toEqual(new Set());
      await engine.mount('v', 'c1', provisional);
      expect(countsOf(await h.recordOf('v'))).toEqual({ c1: 1 });
    },
  },
  {
    name: 'the last Unmount on a backing that mounts in place, after the backend released',
    point: 'unmount:after-provider',
    before: heldBy('c1'),
    during: (engine) => engine.unmount('v', 'c1'),
    // As when killed before anything is written: the caller still holds the volume, and its Unmount sent again
    // releases it.
    killed: async (h) => expect(await h.recordOf('v')).toMatchObject({ state: 'mounted', callers: expect.any(Map) }),
    restarted: async (engine, h) => {
      expect(countsOf(await h.recordOf('v'))).toEqual({ c1: 1 });
      await engine.unmount('v', 'c1');
      expect(await h.recordOf('v')).toBeUndefined();
      await engine.remove('v');
    },
  },
];

/** The intents' points, which a backing that mounts in place never passes. */
const INTENT_POINTS: ReadonlyArray<{ readonly point: EngineFailpoint; readonly during: CrashCase['during'] }> = [
  { point: 'mount:after-intent', during: (engine) => engine.mount('v', 'c1', provisional) },
  { point: 'unmount:after-intent', during: (engine) => engine.unmount('v', 'c1') },
];

describe('VolumeEngine killed at each failpoint, then started again', () => {
  const h = useEngineHarness();

  it('has a case for every failpoint', () => {
    expect([...new Set(CASES.map((c) => c.point))].sort()).toEqual([...ENGINE_FAILPOINTS].sort());
  });

  /** Sets the case up, kills the engine at its point during its operation, and starts it again on what was left. */
  async function crashAndRestart(crash: CrashCase): Promise<void> {
    const setup = await h.start();
    await crash.before?.(setup);
    await setup.stop();

    const armed = await loadWithFailpoints(crash.point, () => import('../src/engine/volume-engine.js'));
    const engine = h.create({ engineModule: armed });
    await engine.start();
    const killed = await crash.during(engine).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(killed).toBeInstanceOf(Killed);
    await crash.killed(h);
    // What a kill leaves of the process: nothing. (stop() releases the directory; its compaction writes the records
    // the journal already holds, which a restart would replay to the same table.)
    await engine.stop();

    await crash.restarted(await h.start(), h);
  }

  it.each(CASES.map((c) => [`${c.point} during ${c.name}`, c] as const))('%s', async (_, crash) => {
    await crashAndRestart(crash);
  });

  describe('on a backing that mounts in place', () => {
    it.each(IN_PLACE_CASES.map((c) => [`${c.point} during ${c.name}`, c] as const))('%s', async (_, crash) => {
      h.provider.capabilities = { mountsInPlace: true };
      await crashAndRestart(crash);
    });

    it.each(INTENT_POINTS.map((c) => [c.point, c] as const))('never passes %s', async (point, { during }) => {
      h.provider.capabilities = { mountsInPlace: true };
      const armed = await loadWithFailpoints(point, () => import('../src/engine/volume-engine.js'));
      const engine = h.create({ engineModule: armed });
      await engine.start();
      await created(engine);
      if (point === 'unmount:after-intent') await engine.mount('v', 'c1', provisional);
      await during(engine);
      expect(await h.recordOf('v')).toEqual(
        point === 'mount:after-intent' ? expect.objectContaining({ state: 'mounted' }) : undefined,
      );
    });
  });
});
