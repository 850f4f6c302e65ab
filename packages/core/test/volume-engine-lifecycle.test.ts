import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ENGINE_SETTINGS } from '../src/engine/volume-engine.js';
import { MountTable } from '../src/engine/mount-table.js';
import { ErrorKind } from '../src/errors/error-kind.js';
import { StowageError } from '../src/errors/stowage-error.js';
import { provisional, rejection, useEngineHarness } from './support/engine-harness.js';
import { countsOf } from './support/holds.js';
import { MemoryProvider } from './support/memory-provider.js';

describe('VolumeEngine start and stop', () => {
  const h = useEngineHarness();
  const lockFile = (): string => join(h.stateDir, 'engine.lock');

  it('starts every backing once, holds the state directory while started, and a second start changes nothing', async () => {
    const other = new MemoryProvider('other');
    const engine = await h.start({ providers: [h.provider, other] });
    expect(existsSync(lockFile())).toBe(true);
    await engine.start();
    expect([h.provider.inits, other.inits]).toEqual([1, 1]);
    expect(engine.backings().map((b) => b.name)).toEqual(['mem', 'other']);
  });

  it('fails to start when a backing cannot, naming it, and leaves the state directory free for the next try', async () => {
    h.provider.failNext.init = new Error('no credentials in the environment');
    const engine = h.create();
    const error = await rejection(engine.start());
    expect(error.kind).toBe(ErrorKind.BackendFailure);
    expect(error.message).toBe('backing mem could not start: no credentials in the environment');
    expect(existsSync(lockFile())).toBe(false);
    await expect(engine.create('v')).rejects.toThrow('the volume engine is not started');

    await engine.start();
    expect(h.provider.inits).toBe(2);
    expect((await engine.create('v')).name).toBe('v');
  });

  it("passes on a backing's own StowageError at start as it is", async () => {
    h.provider.failNext.init = StowageError.invalidArgument('region: required');
    const error = await rejection(h.create().start());
    expect(error.kind).toBe(ErrorKind.InvalidArgument);
    expect(error.message).toBe('region: required');
  });

  it('refuses every call but holds() before it is started', async () => {
    const engine = h.create();
    for (const call of [
      () => engine.create('v'),
      () => engine.get('v'),
      () => engine.list(),
      () => engine.remove('v'),
      () => engine.path('v'),
      () => engine.mount('v', 'c1'),
      () => engine.unmount('v', 'c1'),
    ]) {
      const error = await rejection(call());
      expect(error.kind).toBe(ErrorKind.BackendFailure);
      expect(error.message).toBe('the volume engine is not started');
    }
    expect(engine.holds()).toEqual([]);
    expect(h.provider.calls).toEqual([]);
  });

  it('stops once: backings closed once, the state directory released, calls refused afterwards', async () => {
    const engine = await h.start();
    await engine.create('v', { size: '1' });
    await engine.stop();
    await engine.stop();
    expect(h.provider.closes).toBe(1);
    expect(existsSync(lockFile())).toBe(false);
    await expect(engine.get('v')).rejects.toThrow('the volume engine is not started');
    await expect(engine.mount('v', 'c1')).rejects.toThrow('the volume engine is not started');
    const next = await h.start();
    expect((await next.get('v'))?.name).toBe('v');
  });

  it('still releases the state directory at stop when the journal cannot be folded, and says so', async () => {
    const engine = await h.start();
    await engine.create('v', { size: '1' });
    await engine.mount('v', 'c1');
    vi.spyOn(MountTable.prototype, 'close').mockRejectedValueOnce(new Error('no space left on device'));
    await engine.stop();
    expect(h.logger.problems()).toEqual([
      {
        level: 'error',
        fields: { err: 'no space left on device' },
        message: 'could not fold the mount journal into its snapshot; the next start replays it',
      },
    ]);
    vi.restoreAllMocks();
    await h.start();
    expect(countsOf(await h.recordOf('v'))).toEqual({ c1: 1 });
  });

  it('takes no answer, undelivered Mount or release once stopped: the table stays as it was', async () => {
    const engine = await h.start();
    await engine.create('v', { size: '1' });
    await engine.mount('v', 'c1', provisional);
    await engine.stop();
    await engine.confirmMount('v', 'c1');
    await engine.withdrawMount('v', 'c1');
    expect(await engine.releaseHolds('v', ['c1'], Date.now() + 1_000)).toBe(0);
    expect((await h.recordOf('v'))?.callers.get('c1')).toMatchObject({ count: 1, pending: 1 });
    expect(h.provider.mounted.has('v')).toBe(true);
  });

  it('reports scope global only when every backing is global, local when any is local', async () => {
    const engine = await h.start({
      providers: [
        new MemoryProvider('g', 'global'),
        new MemoryProvider('l', 'local'),
        new MemoryProvider('h', 'global'),
      ],
    });
    expect(engine.scope()).toBe('local');
  });

  it('binds its settings under a registry symbol, so every copy of core in a process finds them', () => {
    expect(ENGINE_SETTINGS).toBe(Symbol.for('stowage.EngineSettings'));
  });
});

describe('a catalogue-only engine (restore: false) beside a plugin', () => {
  const h = useEngineHarness();

  it('takes no answer, undelivered Mount or release: it writes nothing', async () => {
    const plugin = await h.start();
    await plugin.create('v', { size: '1' });
    await plugin.mount('v', 'c1', provisional);
    await plugin.stop();
    const catalogue = await h.start({ restore: false });
    await catalogue.confirmMount('v', 'c1');
    await catalogue.withdrawMount('v', 'c1');
    expect(await catalogue.releaseHolds('v', ['c1'], Date.now() + 1_000)).toBe(0);
    expect((await h.recordOf('v'))?.callers.get('c1')).toMatchObject({ count: 1, pending: 1 });
    expect(h.provider.count('unmount')).toBe(0);
    expect(catalogue.holds()).toEqual([
      {
        name: 'v',
        backing: 'mem',
        state: 'mounted',
        callers: [expect.objectContaining({ id: 'c1', count: 1, pending: 1 })],
      },
    ]);
  });

  it('refuses to mount, saying why', async () => {
    const catalogue = await h.start({ restore: false });
    await catalogue.create('v', { size: '1' });
    const error = await rejection(catalogue.mount('v', 'c1'));
    expect(error.kind).toBe(ErrorKind.InvalidArgument);
    expect(error.message).toBe(
      'this engine was started as a catalogue only (restore: false): it mounts and unmounts nothing',
    );
  });

  it('refuses to remove a volume whose release the plugin has not finished, and leaves it to the plugin', async () => {
    const plugin = await h.start();
    await plugin.create('v', { size: '1' });
    await plugin.mount('v', 'c1');
    h.provider.failNext.unmount = new Error('device busy');
    await expect(plugin.unmount('v', 'c1')).rejects.toThrow('device busy');
    expect((await h.recordOf('v'))?.state).toBe('unmounting');
    await plugin.stop();

    const catalogue = await h.start({ restore: false });
    const error = await rejection(catalogue.remove('v'));
    expect(error.kind).toBe(ErrorKind.InUse);
    expect(error.message).toBe(
      'volume "v" has a release under way on this node; start the plugin to finish it, then remove it',
    );
    expect(h.provider.volumes.has('v')).toBe(true);
    expect(h.provider.count('unmount')).toBe(1);
  });
});
