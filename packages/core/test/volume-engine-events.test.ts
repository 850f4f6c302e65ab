import 'reflect-metadata';
import { Container } from 'inversify';
import { describe, expect, it, vi } from 'vitest';
import { MountJournal } from '../src/engine/mount-journal.js';
import { ENGINE_SETTINGS, VolumeEngine } from '../src/engine/volume-engine.js';
import type { HostOperations } from '../src/host/host-operations.js';
import { HOST_OPERATIONS, LOGGER, STORAGE_PROVIDER } from '../src/tokens.js';
import { ErrorKind } from '../src/errors/error-kind.js';
import type { VolumeEvent } from '../src/index.js';
import { provisional, rejection, useEngineHarness } from './support/engine-harness.js';

/** Each event without its stamp, for comparing what was reported. */
const reported = (events: readonly VolumeEvent[]) => events.map(({ seq: _s, time: _t, ...event }) => event);
const typesOf = (events: readonly VolumeEvent[]) => events.map((e) => `${e.type} ${e.volume}`);

describe('VolumeEngine events', () => {
  const h = useEngineHarness();

  it('reports a create, the first mount, the last unmount and a remove, once each change is made', async () => {
    const engine = await h.start();
    await engine.create('v', { size: '2' });
    // Created again with the same options: nothing changed, nothing reported.
    await engine.create('v', { size: '2' });
    await engine.mount('v', 'c1');
    await engine.mount('v', 'c2');
    await engine.mount('v', 'c1');
    await engine.unmount('v', 'c1');
    await engine.unmount('v', 'c2');
    await engine.unmount('v', 'c1');
    await engine.remove('v');

    expect(reported(h.events)).toEqual([
      { type: 'volume.created', volume: 'v', backing: 'mem', options: { size: '2', kind: 'a' } },
      {
        type: 'volume.mounted',
        volume: 'v',
        backing: 'mem',
        mountpoint: '/mnt/mem/v',
        caller: 'c1',
        callers: 1,
        holds: 1,
      },
      { type: 'volume.unmounted', volume: 'v', backing: 'mem' },
      { type: 'volume.removed', volume: 'v', backing: 'mem' },
    ]);
    expect(h.events.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
  });

  it('reports a mount again after a full release, counting the callers that held the volume while it was unavailable', async () => {
    const engine = await h.start();
    await engine.create('v', { size: '1' });
    await engine.mount('v', 'c1', provisional);
    await engine.confirmMount('v', 'c1');
    await engine.stop();
    // The host lost the mount over a restart, and the backend cannot give it back yet: the hold stays, unavailable.
    h.provider.mounted.clear();
    h.provider.failNext.mount = new Error('attached elsewhere');
    const restarted = await h.start();
    const before = h.events.length;
    await restarted.mount('v', 'c2');
    expect(reported(h.events.slice(before))).toEqual([
      expect.objectContaining({ type: 'volume.mounted', caller: 'c2', callers: 2, holds: 2 }),
    ]);
  });

  it('reports the release when the last hold goes by withdrawal or because its caller is gone', async () => {
    const engine = await h.start();
    await engine.create('a', { size: '1' });
    await engine.create('b', { size: '1' });
    await engine.mount('a', 'c1', provisional);
    await engine.withdrawMount('a', 'c1');
    await engine.mount('b', 'gone');
    await engine.releaseHolds('b', ['gone'], Date.now() + 1);
    expect(typesOf(h.events)).toEqual([
      'volume.created a',
      'volume.created b',
      'volume.mounted a',
      'volume.unmounted a',
      'volume.mounted b',
      'volume.unmounted b',
    ]);
  });

  it('reports the release a failure left half done when a remove finishes it, then the remove', async () => {
    const engine = await h.start();
    await engine.create('v', { size: '1' });
    await engine.mount('v', 'c1');
    h.provider.failNext.unmount = new Error('detach timed out');
    await rejection(engine.unmount('v', 'c1'));
    expect(typesOf(h.events)).toEqual(['volume.created v', 'volume.mounted v']);
    await engine.remove('v');
    expect(typesOf(h.events).slice(2)).toEqual(['volume.unmounted v', 'volume.removed v']);
  });

  it('reports nothing for an operation refused or failed', async () => {
    const engine = await h.start();
    expect((await rejection(engine.create('bad', { size: '0' }))).kind).toBe(ErrorKind.InvalidArgument);
    h.provider.failNext.create = new Error('quota exceeded');
    await rejection(engine.create('v', { size: '1' }));
    await rejection(engine.remove('ghost'));
    await rejection(engine.mount('ghost', 'c1'));
    expect(h.events).toEqual([]);

    await engine.create('v', { size: '1' });
    const afterCreate = h.events.length;
    h.provider.failNext.mount = new Error('attach timed out');
    await rejection(engine.mount('v', 'c1'));
    // The backend mounted, but the mount table could not record it: undone, so not made.
    const append = MountJournal.prototype.append;
    vi.spyOn(MountJournal.prototype, 'append').mockImplementation(async function (this: MountJournal, text: string) {
      if (text.includes('"mounted"')) throw Object.assign(new Error('I/O error'), { code: 'EIO' });
      return append.call(this, text);
    });
    expect((await rejection(engine.mount('v', 'c1'))).message).toContain('I/O error');
    expect(h.provider.count('mount')).toBe(2);
    vi.restoreAllMocks();
    expect(h.events.length).toBe(afterCreate);

    await engine.mount('v', 'c1');
    const afterMount = h.events.length;
    await rejection(engine.remove('v'));
    await rejection(engine.unmount('v', 'nobody'));
    h.provider.failNext.unmount = new Error('detach timed out');
    await rejection(engine.unmount('v', 'c1'));
    h.provider.failNext.remove = new Error('volume busy');
    h.provider.failNext.unmount = new Error('detach timed out');
    await rejection(engine.remove('v'));
    expect(h.events.length).toBe(afterMount);
  });

  it('mounts and answers even when a listener throws', async () => {
    h.hub.subscribe(() => {
      throw new Error('listener bug');
    });
    const engine = await h.start();
    await engine.create('v', { size: '1' });
    expect(await engine.mount('v', 'c1')).toBe('/mnt/mem/v');
    expect(typesOf(h.events)).toEqual(['volume.created v', 'volume.mounted v']);
    expect(h.logger.problems().map((l) => l.fields.err)).toEqual(['listener bug', 'listener bug']);
  });

  it('is built by a container that binds no event hub, and works as well, reporting nowhere', async () => {
    const container = new Container({ defaultScope: 'Singleton' });
    container.bind(STORAGE_PROVIDER).toConstantValue(h.provider);
    container.bind(HOST_OPERATIONS).toConstantValue({} as HostOperations);
    container.bind(LOGGER).toConstantValue(h.logger);
    container.bind(ENGINE_SETTINGS).toConstantValue({ stateDir: h.stateDir });
    container.bind(VolumeEngine).toSelf();
    const engine = container.get(VolumeEngine);
    await engine.start();
    try {
      // Each of these reports an event: an engine given no sink must still make them.
      await engine.create('v', { size: '1' });
      expect(await engine.mount('v', 'c1')).toBe('/mnt/mem/v');
      await engine.unmount('v', 'c1');
      await engine.remove('v');
      expect(h.provider.volumes.size).toBe(0);
    } finally {
      await engine.stop();
    }
  });
});
