import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { MountJournal } from '../src/engine/mount-journal.js';
import { MOUNT_JOURNAL_FILE, MOUNT_TABLE_FILE } from '../src/engine/mount-table.js';
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

  /**
   * A container's answered Mount of `v`, a second caller's Mount and Unmount, then the container's Unmount (the
   * release); `afterFirst` runs once the first Mount is counted.
   */
  async function twoCallers(afterFirst: () => Promise<void>): Promise<void> {
    await engine.mount('v', 'c1', provisional);
    await afterFirst();
    await engine.confirmMount('v', 'c1');
    await engine.mount('v', 'c2');
    await engine.unmount('v', 'c2');
    await engine.unmount('v', 'c1');
  }

  it('syncs a first Mount and the last Unmount once each, and never writes an intent', async () => {
    const appends = vi.spyOn(MountJournal.prototype, 'append');
    await twoCallers(async () => {
      expect(appends.mock.calls.map(([, sync]) => sync)).toEqual([true]);
    });
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

  describe('when the host boot is known', () => {
    const BOOT = 'boot-1';

    /** The state directory's table files as a process killed now leaves them (a kill keeps every write made). */
    async function filesNow(): Promise<Record<string, string>> {
      const files: Record<string, string> = {};
      for (const file of [MOUNT_TABLE_FILE, MOUNT_JOURNAL_FILE])
        files[file] = await readFile(join(h.stateDir, file), 'utf8');
      return files;
    }

    /** Puts back table files saved by {@link filesNow}, once the engine that wrote them has let the directory go. */
    async function restore(files: Record<string, string>): Promise<void> {
      for (const [file, text] of Object.entries(files)) await writeFile(join(h.stateDir, file), text);
    }

    /** The journal without its last `n` lines, as a power cut that took the last unsynced writes leaves it. */
    function withoutLastLines(files: Record<string, string>, n: number): Record<string, string> {
      const lines = (files[MOUNT_JOURNAL_FILE] as string).split('\n').filter((line) => line !== '');
      return {
        ...files,
        [MOUNT_JOURNAL_FILE]: lines
          .slice(0, lines.length - n)
          .map((line) => `${line}\n`)
          .join(''),
      };
    }

    beforeEach(async () => {
      await engine.stop();
      engine = await h.start({ bootId: BOOT });
    });

    it('writes its holds without a sync, each stamped with the boot', async () => {
      const appends = vi.spyOn(MountJournal.prototype, 'append');
      await twoCallers(async () => {
        expect((await h.recordOf('v'))?.callers.get('c1')).toMatchObject({ count: 1, pending: 1, boot: BOOT });
      });
      expect(appends.mock.calls.map(([, sync]) => sync)).toEqual([false, false, false, false, false]);
      expect(await journalStates('v')).toEqual(['mounted', 'mounted', 'mounted', 'mounted', null]);
      expect(await journalMarks('v')).toEqual([true, true, true, true, true]);
      expect(await h.recordOf('v')).toBeUndefined();
    });

    it('still syncs the records of a backing that mounts for real', async () => {
      const disk = new MemoryProvider('disk');
      await engine.stop();
      engine = await h.start({ providers: [h.provider, disk], bootId: BOOT });
      await engine.create('d', { backing: 'disk' });
      const appends = vi.spyOn(MountJournal.prototype, 'append');
      await engine.mount('d', 'c1');
      await engine.unmount('d', 'c1');
      expect(appends.mock.calls.map(([, sync]) => sync)).toEqual([true, true, true, true]);
      expect(await journalStates('d')).toEqual(['mounting', 'mounted', 'unmounting', null]);
    });

    it('keeps every hold through a kill and a restart in the same boot', async () => {
      await engine.mount('v', 'c1', provisional);
      await engine.confirmMount('v', 'c1');
      await engine.mount('v', 'c2');
      const killed = await filesNow();
      await engine.stop();
      await restore(killed);
      engine = await h.start({ bootId: BOOT });
      expect(countsOf(await h.recordOf('v'))).toEqual({ c1: 1, c2: 1 });
      expect(engine.holds()).toHaveLength(1);
    });

    it('releases at a start in a later boot the holds a power cut kept, a release it took back included', async () => {
      await engine.mount('v', 'c1');
      await engine.mount('v', 'c2');
      await engine.unmount('v', 'c2');
      await engine.unmount('v', 'c1');
      // The cut took both releases: the disk says c1 and c2 hold the volume, though both gave it back.
      const cut = withoutLastLines(await filesNow(), 2);
      await engine.stop();
      await restore(cut);
      const unmounts = h.provider.count('unmount');
      engine = await h.start({ bootId: 'boot-2' });
      expect(await h.recordOf('v')).toBeUndefined();
      expect(engine.holds()).toEqual([]);
      expect(h.provider.count('unmount')).toBe(unmounts + 1);
      expect(h.logger.lines.map((line) => line.message)).toContain(
        'released the holds of callers an earlier boot ended',
      );
      await engine.remove('v');
    });

    it('keeps at a start in a later boot the holds of a backing that mounts for real, and those of no known boot', async () => {
      const disk = new MemoryProvider('disk');
      await engine.stop();
      // Counted by an engine that could not read the boot: nothing tells when its callers ended.
      engine = await h.start({ providers: [h.provider, disk] });
      await engine.mount('v', 'old');
      await engine.stop();
      engine = await h.start({ providers: [h.provider, disk], bootId: BOOT });
      await engine.create('d', { backing: 'disk' });
      await engine.mount('d', 'c1');
      await engine.stop();
      engine = await h.start({ providers: [h.provider, disk], bootId: 'boot-2' });
      expect(countsOf(await h.recordOf('v'))).toEqual({ old: 1 });
      expect(countsOf(await h.recordOf('d'))).toEqual({ c1: 1 });
      expect(await h.recordOf('d')).toMatchObject({ state: 'mounted' });
    });
  });
});
