import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ProviderVolume } from '../src/contract/storage-provider.js';
import type { VolumeEngine } from '../src/engine/volume-engine.js';
import { CATALOGUE_FILE, CATALOGUE_JOURNAL_FILE, readVolumeCatalogue } from '../src/engine/volume-catalogue.js';
import { ErrorKind } from '../src/errors/error-kind.js';
import { CountingProvider } from '../src/testing/counting-provider.js';
import { rejection, useEngineHarness, type EngineHarness } from './support/engine-harness.js';
import { Killed, loadWithFailpoints } from './support/failpoints.js';
import { MemoryProvider } from './support/memory-provider.js';

/** A provider whose lookups can be made to hang for ever, as over an NFS server that stopped answering. */
class HangingProvider extends MemoryProvider {
  hangs = false;
  override async inspect(name: string): Promise<ProviderVolume | undefined> {
    if (this.hangs) return new Promise<never>(() => undefined);
    return super.inspect(name);
  }
}

/** This node's backings: a local one, a second local one, and two global ones (shared by every node of the cluster). */
function backings() {
  const local = new MemoryProvider('local', 'local', []);
  const other = new MemoryProvider('other', 'local', []);
  const efs = new HangingProvider('efs', 'global', [], ['shared']);
  const ebs = new MemoryProvider('ebs', 'global', [], ['relocatable']);
  const counted = [local, other, efs, ebs].map((p) => new CountingProvider(p));
  return { local, other, efs, ebs, counted };
}

type Backings = ReturnType<typeof backings>;

function inspectsOf(b: Backings): Record<string, number> {
  return Object.fromEntries(b.counted.map((p) => [p.name, p.calls('inspect')]));
}

async function catalogueOf(h: EngineHarness): Promise<Record<string, string>> {
  return Object.fromEntries((await readVolumeCatalogue(h.stateDir)).owners);
}

describe('VolumeEngine routing: a lookup asks the backing that holds the name, and only it', () => {
  const h = useEngineHarness();
  const start = (b: Backings, options: { lookupTimeoutMs?: number } = {}) => startWith(h, b, options);

  it('never asks another backing about a volume of local, through its whole life, and after a restart', async () => {
    const b = backings();
    let engine = await start(b);
    await engine.create('v', { backing: 'local' });
    // Only a create asks the global backings: another node may have made the name there.
    expect(inspectsOf(b)).toEqual({ local: 0, other: 0, efs: 1, ebs: 1 });

    await engine.get('v');
    await engine.path('v');
    await engine.mount('v', 'c1');
    await engine.unmount('v', 'c1');
    expect(inspectsOf(b)).toEqual({ local: 3, other: 0, efs: 1, ebs: 1 });

    await engine.stop();
    engine = await start(b);
    expect((await engine.get('v'))?.backing).toBe('local');
    await engine.mount('v', 'c1');
    await engine.unmount('v', 'c1');
    await engine.remove('v');
    expect(inspectsOf(b)).toEqual({ local: 6, other: 0, efs: 1, ebs: 1 });
    expect(await catalogueOf(h)).toEqual({});
  });

  it('asks only the global backings about a name no backing has, and answers not found', async () => {
    const b = backings();
    const engine = await start(b);
    expect(await engine.get('nothing')).toBeUndefined();
    expect(inspectsOf(b)).toEqual({ local: 0, other: 0, efs: 1, ebs: 1 });
  });

  it('finds a volume another node made on a global backing, and asks only that backing afterwards', async () => {
    const b = backings();
    const engine = await start(b);
    await b.ebs.create({ name: 'elsewhere', options: {} });
    expect((await engine.get('elsewhere'))?.backing).toBe('ebs');
    await engine.get('elsewhere');
    expect(inspectsOf(b)).toEqual({ local: 0, other: 0, efs: 1, ebs: 2 });
    await engine.stop();
    expect(await catalogueOf(h)).toEqual({ elsewhere: 'ebs' });
  });

  it('fills the catalogue from each local backing when the state directory has none (0.1), listing once', async () => {
    const b = backings();
    await b.local.create({ name: 'old', options: {} });
    await b.other.create({ name: 'older', options: {} });
    let engine = await start(b);
    expect((await engine.get('old'))?.backing).toBe('local');
    expect((await engine.get('older'))?.backing).toBe('other');
    expect(inspectsOf(b)).toEqual({ local: 1, other: 1, efs: 0, ebs: 0 });
    await engine.stop();
    engine = await start(b);
    expect(b.counted.map((p) => p.calls('list'))).toEqual([1, 1, 0, 0]);
    expect(await catalogueOf(h)).toEqual({ old: 'local', older: 'other' });
  });

  it('keeps asking a local backing it could not fill, and fills it at the next start', async () => {
    const b = backings();
    await b.other.create({ name: 'older', options: {} });
    b.other.failNext.list = new Error('disk unreadable');
    let engine = await start(b);
    expect((await engine.get('older'))?.backing).toBe('other');
    expect(h.logger.problems().map((p) => p.message)).toContain(
      'could not fill the volume catalogue from the backing; lookups of unknown names ask it until a start can',
    );
    await engine.stop();
    engine = await start(b);
    // On disk only as a clean stop leaves it: while running, or after a kill, no backing counts as filled.
    expect((await readVolumeCatalogue(h.stateDir)).filled).toEqual(new Set());
    await engine.stop();
    expect((await readVolumeCatalogue(h.stateDir)).filled).toEqual(new Set(['local', 'other']));
  });

  it('lists the local backings again after a stop that was not clean, and finds a volume whose entry a power cut lost', async () => {
    const b = backings();
    let engine = await start(b);
    await engine.stop();
    engine = await start(b);
    expect(b.counted.map((p) => p.calls('list'))).toEqual([1, 1, 0, 0]);
    await engine.create('v', { backing: 'local' });
    // A power cut: the entry was never synced, so the journal holds nothing of it; the snapshot is the start's.
    const atStart = await readFile(join(h.stateDir, CATALOGUE_FILE), 'utf8');
    await engine.stop();
    await writeFile(join(h.stateDir, CATALOGUE_FILE), atStart);
    await writeFile(join(h.stateDir, CATALOGUE_JOURNAL_FILE), '');
    const restarted = h.create({ providers: b.counted });
    await restarted.start();
    expect(b.counted.map((p) => p.calls('list'))).toEqual([2, 2, 0, 0]);
    expect((await restarted.get('v'))?.backing).toBe('local');
  });

  it('starts the catalogue afresh from the backings when its file is unreadable', async () => {
    const b = backings();
    let engine = await start(b);
    await engine.create('v', { backing: 'local' });
    await engine.stop();
    await writeFile(join(h.stateDir, CATALOGUE_FILE), '{"version": 1, "volumes": ');
    engine = await start(b);
    expect((await engine.get('v'))?.backing).toBe('local');
    expect(h.logger.problems().map((p) => p.message)).toContain(
      'the volume catalogue is unreadable; starting it afresh from what each backing lists',
    );
  });

  describe('what the catalogue cannot know', () => {
    it('drops the entry of a volume another node removed, and answers not found once no global backing has it', async () => {
      const b = backings();
      const engine = await start(b);
      await engine.create('gone', { backing: 'efs' });
      b.efs.volumes.delete('gone');
      expect(await engine.get('gone')).toBeUndefined();
      await engine.stop();
      expect(await catalogueOf(h)).toEqual({});
    });

    it('finds a name removed from one global backing and made on another by other nodes', async () => {
      const b = backings();
      const engine = await start(b);
      await engine.create('moved', { backing: 'efs' });
      b.efs.volumes.delete('moved');
      await b.ebs.create({ name: 'moved', options: {} });
      expect((await engine.get('moved'))?.backing).toBe('ebs');
      await engine.stop();
      expect(await catalogueOf(h)).toEqual({ moved: 'ebs' });
    });

    it('drops, on a list, the entries of global volumes other nodes removed, and never those of local ones', async () => {
      const b = backings();
      const engine = await start(b);
      await engine.create('kept', { backing: 'efs' });
      await engine.create('removed-elsewhere', { backing: 'efs' });
      await engine.create('mine', { backing: 'local' });
      b.efs.volumes.delete('removed-elsewhere');
      // As a list racing a create would see it: the backend does not show the volume yet.
      b.local.volumes.delete('mine');
      expect((await engine.list()).map((v) => v.name).sort()).toEqual(['kept']);
      await engine.stop();
      expect(await catalogueOf(h)).toEqual({ kept: 'efs', mine: 'local' });
    });

    it('refuses a create on local of a name another node made on a global backing', async () => {
      const b = backings();
      const engine = await start(b);
      await b.efs.create({ name: 'taken', options: {} });
      const error = await rejection(engine.create('taken', { backing: 'local' }));
      expect(error.kind).toBe(ErrorKind.AlreadyExists);
      expect(error.message).toBe('volume "taken" already exists with backing=efs');
      expect(b.local.volumes.has('taken')).toBe(false);
    });
  });

  describe('a backing that hangs', () => {
    it('fails lookups of the names it may hold within the budget, naming it, while other backings answer', async () => {
      const b = backings();
      const engine = await start(b, { lookupTimeoutMs: 200 });
      await engine.create('mine', { backing: 'local' });
      await engine.create('onebs', { backing: 'ebs' });
      await engine.create('onefs', { backing: 'efs' });
      b.efs.hangs = true;

      const began = Date.now();
      expect((await engine.get('mine'))?.backing).toBe('local');
      expect((await engine.get('onebs'))?.backing).toBe('ebs');
      expect(await engine.mount('mine', 'c1')).toBe('/mnt/local/mine');
      await engine.unmount('mine', 'c1');
      expect(Date.now() - began).toBeLessThan(150);

      for (const lookup of [
        () => engine.get('unknown'),
        () => engine.create('new', { backing: 'local' }),
        () => engine.mount('onefs', 'c1'),
      ]) {
        const asked = Date.now();
        const error = await rejection(lookup());
        expect(Date.now() - asked).toBeLessThan(2_000);
        expect(error.kind).toBe(ErrorKind.BackendFailure);
        expect(error.message).toMatch(
          /^cannot tell whether volume "(unknown|new|onefs)" exists: backing efs gave no answer within 200 ms$/,
        );
      }
      // A volume this node knows is answered from what it knows, never as not found (Docker would forget it).
      expect(await engine.get('onefs')).toMatchObject({
        name: 'onefs',
        backing: 'efs',
        status: { error: expect.stringContaining('no answer') },
      });
      expect(b.local.volumes.has('new')).toBe(false);
    });

    it('is not waited for when another global backing has the name', async () => {
      const b = backings();
      const engine = await start(b, { lookupTimeoutMs: 60_000 });
      await b.ebs.create({ name: 'elsewhere', options: {} });
      b.efs.hangs = true;
      const began = Date.now();
      expect((await engine.get('elsewhere'))?.backing).toBe('ebs');
      expect(Date.now() - began).toBeLessThan(1_000);
    });
  });

  describe('a crash between the catalogue and the backing', () => {
    async function crashDuring(
      b: Backings,
      point: string,
      operation: (engine: VolumeEngine) => Promise<unknown>,
    ): Promise<void> {
      const armed = await loadWithFailpoints(point, () => import('../src/engine/volume-engine.js'));
      const engine = h.create({ providers: b.counted, engineModule: armed });
      await engine.start();
      expect(
        await operation(engine).then(
          () => undefined,
          (error: unknown) => error,
        ),
      ).toBeInstanceOf(Killed);
      await engine.stop();
    }

    it('before the backing created the volume: the entry names a backing without it, and a create on another backing goes ahead', async () => {
      const b = backings();
      await crashDuring(b, 'create:before-provider', (engine) => engine.create('v', { backing: 'local' }));
      expect(await catalogueOf(h)).toEqual({ v: 'local' });
      const engine = await start(b);
      expect(await engine.get('v')).toBeUndefined();
      expect((await engine.create('v', { backing: 'other' })).backing).toBe('other');
      expect((await engine.get('v'))?.backing).toBe('other');
      expect(b.local.volumes.has('v')).toBe(false);
    });

    it('after the backing created the volume: the next lookup finds it, asking that backing alone', async () => {
      const b = backings();
      await crashDuring(b, 'create:after-provider', (engine) => engine.create('v', { backing: 'local' }));
      const engine = await start(b);
      const before = inspectsOf(b);
      expect((await engine.get('v'))?.backing).toBe('local');
      expect(inspectsOf(b)).toEqual({ ...before, local: (before.local ?? 0) + 1 });
    });

    it('even when the catalogue was lost with it: a start fills it from the local backings again', async () => {
      const b = backings();
      await crashDuring(b, 'create:after-provider', (engine) => engine.create('v', { backing: 'local' }));
      await rm(join(h.stateDir, CATALOGUE_FILE));
      await rm(join(h.stateDir, CATALOGUE_JOURNAL_FILE), { force: true });
      const engine = await start(b);
      expect((await engine.get('v'))?.backing).toBe('local');
    });

    it('after the backing removed the volume: the stale entry answers not found, and the name can be made again', async () => {
      const b = backings();
      const setup = await start(b);
      await setup.create('v', { backing: 'efs' });
      await setup.stop();
      await crashDuring(b, 'remove:after-provider', (engine) => engine.remove('v'));
      expect(await catalogueOf(h)).toEqual({ v: 'efs' });
      const engine = await start(b);
      expect(await engine.get('v')).toBeUndefined();
      expect((await rejection(engine.remove('v'))).kind).toBe(ErrorKind.NotFound);
      expect((await engine.create('v', { backing: 'local' })).backing).toBe('local');
      await engine.stop();
      expect(await catalogueOf(h)).toEqual({ v: 'local' });
    });
  });
});

async function startWith(h: EngineHarness, b: Backings, options: { lookupTimeoutMs?: number }): Promise<VolumeEngine> {
  const engine = h.create({ providers: b.counted, ...options });
  await engine.start();
  return engine;
}
