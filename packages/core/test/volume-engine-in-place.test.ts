import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { MountJournal } from '../src/engine/mount-journal.js';
import { MOUNT_JOURNAL_FILE } from '../src/engine/mount-table.js';
import type { VolumeEngine } from '../src/engine/volume-engine.js';
import { ErrorKind } from '../src/errors/error-kind.js';
import { provisional, rejection, useEngineHarness } from './support/engine-harness.js';
import { countsOf } from './support/holds.js';
import { MemoryProvider } from './support/memory-provider.js';

/**
 * A backing that declares `mountsInPlace` (as `local` does): its Mount hands out a directory that is there anyway, so
 * the engine records a first Mount and a last Unmount once, when done, with no intent written before the call.
 */
describe('VolumeEngine over a backing that mounts in place', () => {
  const h = useEngineHarness();
  let engine: VolumeEngine;

  /** The states the journal was given for `name`, in order (`null`: forgotten), as a restart would replay them. */
  async function journalStates(name: string): Promise<Array<string | null>> {
    const text = await readFile(join(h.stateDir, MOUNT_JOURNAL_FILE), 'utf8');
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as { volume: string; record: { state: string } | null })
      .filter((entry) => entry.volume === name)
      .map((entry) => entry.record?.state ?? null);
  }

  /** Whether each of `name`'s journal lines carries the mark of an unsynced write, in order. */
  async function journalMarks(name: string): Promise<boolean[]> {
    const text = await readFile(join(h.stateDir, MOUNT_JOURNAL_FILE), 'utf8');
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as { volume: string; unsynced?: boolean })
      .filter((entry) => entry.volume === name)
      .map((entry) => entry.unsynced === true);
  }

  beforeEach(async () => {
    h.provider.capabilities = { mountsInPlace: true };
    engine = await h.start();
    await engine.create('v', { size: '1' });
  });

  it('syncs a first Mount and the last Unmount once each, and never writes an intent', async () => {
    const appends = vi.spyOn(MountJournal.prototype, 'append');
    await engine.mount('v', 'c1', provisional);
    expect(appends.mock.calls.map(([, sync]) => sync)).toEqual([true]);
    await engine.confirmMount('v', 'c1');
    await engine.mount('v', 'c2');
    await engine.unmount('v', 'c2');
    await engine.unmount('v', 'c1');
    // The first Mount, its confirmation (unsynced, as on any backing), a second caller's Mount and Unmount, the release.
    expect(appends.mock.calls.map(([, sync]) => sync)).toEqual([true, false, true, true, true]);
    expect(await journalStates('v')).toEqual(['mounted', 'mounted', 'mounted', 'mounted', null]);
    expect(await journalMarks('v')).toEqual([false, true, false, false, false]);
    expect(h.provider.calls.filter((call) => call === 'mount' || call === 'unmount')).toEqual(['mount', 'unmount']);
    expect(await h.recordOf('v')).toBeUndefined();
  });

  it('writes the intents of a backing that mounts for real beside it', async () => {
    const disk = new MemoryProvider('disk');
    await engine.stop();
    engine = await h.start({ providers: [h.provider, disk] });
    await engine.create('d', { backing: 'disk' });
    const appends = vi.spyOn(MountJournal.prototype, 'append');
    await engine.mount('v', 'c1');
    await engine.mount('d', 'c1');
    expect(appends.mock.calls.map(([, sync]) => sync)).toEqual([true, true, true]);
    expect(await journalStates('d')).toEqual(['mounting', 'mounted']);
    expect(await journalMarks('d')).toEqual([false, false]);
  });

  it('writes both intents for the same calls on a backing that does not declare it', async () => {
    await engine.stop();
    h.provider.capabilities = undefined;
    engine = await h.start();
    await engine.mount('v', 'c1');
    await engine.unmount('v', 'c1');
    expect(await journalStates('v')).toEqual(['mounting', 'mounted', 'unmounting', null]);
  });

  it('records nothing for a Mount the backend refused, after asking it to release', async () => {
    h.provider.failNext.mount = new Error('disk gone');
    const error = await rejection(engine.mount('v', 'c1', provisional));
    expect(error.message).toMatch(/^mounting volume "v" \(backing mem\) failed: disk gone/);
    expect(h.provider.calls.slice(-2)).toEqual(['mount', 'unmount']);
    expect(await h.recordOf('v')).toBeUndefined();
    await engine.mount('v', 'c1', provisional);
    expect(countsOf(await h.recordOf('v'))).toEqual({ c1: 1 });
  });

  it('keeps the holds of other callers as unavailable when a Mount sent again fails', async () => {
    await engine.mount('v', 'c1');
    // A restart whose remount fails leaves c1's hold on a volume nothing vouches for.
    await engine.stop();
    h.provider.failNext.mount = new Error('disk gone');
    engine = await h.start();
    expect(await h.recordOf('v')).toMatchObject({ state: 'unavailable' });
    h.provider.failNext.mount = new Error('still gone');
    await rejection(engine.mount('v', 'c2'));
    expect(await h.recordOf('v')).toMatchObject({ state: 'unavailable' });
    expect(countsOf(await h.recordOf('v'))).toEqual({ c1: 1 });
    await engine.mount('v', 'c2');
    expect(await h.recordOf('v')).toMatchObject({ state: 'mounted' });
    expect(countsOf(await h.recordOf('v'))).toEqual({ c1: 1, c2: 1 });
  });

  it('records a release the backend failed as under way, which the next start finishes', async () => {
    await engine.mount('v', 'c1');
    h.provider.failNext.unmount = new Error('busy');
    const error = await rejection(engine.unmount('v', 'c1'));
    expect(error.message).toMatch(/^releasing volume "v" \(backing mem\) failed: busy/);
    expect(await h.recordOf('v')).toMatchObject({ state: 'unmounting', callers: new Map() });
    // The caller's Unmount was taken: it holds nothing, and the volume is not in use.
    expect((await rejection(engine.unmount('v', 'c1'))).kind).toBe(ErrorKind.NotFound);
    await engine.stop();
    const unmounts = h.provider.count('unmount');
    engine = await h.start();
    expect(h.provider.count('unmount')).toBe(unmounts + 1);
    expect(await h.recordOf('v')).toBeUndefined();
    await engine.remove('v');
  });

  it('keeps the hold when neither the release nor its record could be made, and says so', async () => {
    await engine.mount('v', 'c1');
    h.provider.failNext.unmount = new Error('busy');
    vi.spyOn(MountJournal.prototype, 'append').mockRejectedValue(new Error('disk full'));
    const error = await rejection(engine.unmount('v', 'c1'));
    expect(error.message).toMatch(/busy/);
    vi.mocked(MountJournal.prototype.append).mockRestore();
    expect(countsOf(await h.recordOf('v'))).toEqual({ c1: 1 });
    expect(h.logger.problems().map((line) => line.message)).toContain(
      'could not record a failed release; the caller still holds the volume',
    );
    await engine.unmount('v', 'c1');
    expect(await h.recordOf('v')).toBeUndefined();
  });
});
