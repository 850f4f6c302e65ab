import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { VolumeEngine } from '../src/engine/volume-engine.js';
import { MountJournal } from '../src/engine/mount-journal.js';
import type { MountRecord } from '../src/engine/mount-record.js';
import { readMountTable } from '../src/engine/mount-table.js';
import { ErrorKind } from '../src/errors/error-kind.js';
import { StowageError } from '../src/errors/stowage-error.js';
import { provisional, rejection, useEngineHarness } from './support/engine-harness.js';
import { MemoryProvider } from './support/memory-provider.js';
import { countsOf } from './support/holds.js';

describe('VolumeEngine', () => {
  const h = useEngineHarness();
  let stateDir: string;
  let provider: MemoryProvider;
  let engine: VolumeEngine;

  function startEngine(providers = [provider], defaultBacking?: string): Promise<VolumeEngine> {
    return h.start({ providers, defaultBacking });
  }

  beforeEach(async () => {
    stateDir = h.stateDir;
    provider = h.provider;
    engine = await startEngine();
  });

  describe('create', () => {
    it('validates options against the schema and records parsed values with defaults', async () => {
      const volume = await engine.create('v1', { size: '10' });
      expect(volume).toMatchObject({ name: 'v1', backing: 'mem', options: { size: '10', kind: 'a' } });
      expect(volume.createdAt?.toISOString()).toBe('2026-01-02T03:04:05.000Z');
    });

    it('refuses unknown options, naming them and the known ones, and creates nothing', async () => {
      const error = await rejection(engine.create('v1', { colour: 'red' }));
      expect(error.kind).toBe(ErrorKind.InvalidArgument);
      expect(error.message).toBe('unknown option "colour" for backing=mem (known options: size, kind)');
      expect(provider.count('create')).toBe(0);
    });

    it('reports every bad option in one message', async () => {
      const error = await rejection(engine.create('v1', { size: 'abc', kind: 'z' }));
      expect(error.message).toBe('size: must be a whole number, got "abc"; kind: must be one of a, b, got "z"');
    });

    it('routes by backing name or alias and refuses unknown backings', async () => {
      await engine.stop();
      const other = new MemoryProvider('blk', 'global', [], ['relocatable']);
      const e = await startEngine([provider, other]);
      expect((await e.create('a', { backing: 'relocatable' })).backing).toBe('blk');
      expect((await e.create('b', { backing: 'mem' })).backing).toBe('mem');
      const error = await rejection(e.create('c', { backing: 'nope' }));
      expect(error.kind).toBe(ErrorKind.InvalidArgument);
      expect(error.message).toBe('backing: unknown backing "nope"; must be one of mem, blk, relocatable');
    });

    it('uses the first preferred backing enabled, else the first, unless a default is configured', async () => {
      await engine.stop();
      const blk = new MemoryProvider('blk', 'global', [], ['relocatable']);
      const preferred = await h.start({ providers: [provider, blk], backingPreference: ['shared', 'relocatable'] });
      expect((await preferred.create('x')).backing).toBe('blk');
      await preferred.stop();
      const first = await startEngine([provider, blk]);
      expect((await first.create('z')).backing).toBe('mem');
      await first.stop();
      const configured = await h.start({
        providers: [provider, blk],
        defaultBacking: 'mem',
        backingPreference: ['relocatable'],
      });
      expect((await configured.create('y')).backing).toBe('mem');
    });

    it('is idempotent for the same options and refuses other options or another backing', async () => {
      await engine.create('v1', { size: '5' });
      await engine.create('v1', { size: '5', kind: 'a' });
      expect(provider.count('create')).toBe(1);
      const conflict = await rejection(engine.create('v1', { size: '6' }));
      expect(conflict.kind).toBe(ErrorKind.AlreadyExists);
      expect(conflict.message).toContain('already exists with other options (size=5, kind=a)');
    });

    it('makes one volume when many creates of one name race', async () => {
      await Promise.all(Array.from({ length: 10 }, () => engine.create('race', { size: '1' })));
      expect(provider.count('create')).toBe(1);
      expect((await engine.list()).map((v) => v.name)).toEqual(['race']);
    });

    it('refuses invalid names before any backend call', async () => {
      // The start listed the backing once, to fill the catalogue.
      provider.calls.splice(0);
      for (const name of ['../etc', '.hidden', 'a/b', 'a\nb', '', 'x'.repeat(201)]) {
        const error = await rejection(engine.create(name));
        expect(error.kind).toBe(ErrorKind.InvalidArgument);
      }
      expect(provider.calls).toEqual([]);
      await engine.create('x'.repeat(200));
    });
  });

  describe('mount reference counting', () => {
    beforeEach(async () => {
      await engine.create('v', { size: '1' });
    });

    it('mounts once for two callers and releases after both leave', async () => {
      expect(await engine.mount('v', 'c1')).toBe('/mnt/mem/v');
      expect(await engine.mount('v', 'c2')).toBe('/mnt/mem/v');
      expect(provider.count('mount')).toBe(1);
      await engine.unmount('v', 'c1');
      expect(provider.mounted.has('v')).toBe(true);
      await engine.unmount('v', 'c2');
      expect(provider.mounted.has('v')).toBe(false);
      expect(provider.count('unmount')).toBe(1);
    });

    it('counts a repeated caller ID (provisional cp) as two mounts', async () => {
      await engine.mount('v', 'c1');
      await engine.mount('v', 'c1');
      await engine.unmount('v', 'c1');
      expect(provider.mounted.has('v')).toBe(true);
      expect((await engine.get('v'))?.status['mounts']).toBe(1);
      await engine.unmount('v', 'c1');
      expect(provider.mounted.has('v')).toBe(false);
    });

    it('refuses an unmount for an unknown ID and keeps the mount', async () => {
      await engine.mount('v', 'c1');
      const error = await rejection(engine.unmount('v', 'ghost'));
      expect(error.kind).toBe(ErrorKind.NotFound);
      expect(error.message).toBe('volume "v" has no mount with ID "ghost" on this node');
      expect(provider.mounted.has('v')).toBe(true);
    });

    it('mounts the backend once under concurrent Mount calls and releases once under concurrent Unmounts', async () => {
      provider.mountDelayMs = 20;
      const ids = Array.from({ length: 8 }, (_, i) => `id${i}`);
      await Promise.all(ids.map((id) => engine.mount('v', id)));
      expect(provider.count('mount')).toBe(1);
      await Promise.all(ids.map((id) => engine.unmount('v', id)));
      expect(provider.count('unmount')).toBe(1);
      expect(provider.mounted.size).toBe(0);
    });

    it('refuses to remove a mounted volume, then removes it once released', async () => {
      await engine.mount('v', 'c1');
      const error = await rejection(engine.remove('v'));
      expect(error.kind).toBe(ErrorKind.InUse);
      expect(error.message).toBe(
        'volume "v" is in use on this node (1 mount); stop the containers using it, then remove it',
      );
      expect(provider.volumes.has('v')).toBe(true);
      await engine.unmount('v', 'c1');
      await engine.remove('v');
      expect(provider.volumes.has('v')).toBe(false);
    });

    it('leaves no record behind when the backend mount fails', async () => {
      provider.failNext.mount = StowageError.backendFailure('disk on fire');
      const error = await rejection(engine.mount('v', 'c1'));
      expect(error.message).toBe('disk on fire');
      expect((await engine.get('v'))?.status['mounts']).toBe(0);
      await engine.remove('v');
    });

    it('reports mountpoint through get and path while mounted', async () => {
      expect(await engine.path('v')).toBeUndefined();
      expect((await rejection(engine.path('ghost'))).kind).toBe(ErrorKind.NotFound);
      await engine.mount('v', 'c1');
      expect(await engine.path('v')).toBe('/mnt/mem/v');
      expect((await engine.get('v'))?.mountpoint).toBe('/mnt/mem/v');
    });
  });

  describe('persisted mount table and restart', () => {
    beforeEach(async () => {
      await engine.create('v', { size: '1' });
    });

    async function recordOf(name: string): Promise<MountRecord | undefined> {
      return (await readMountTable(stateDir)).get(name);
    }

    it('writes the table with callers and counts; a Docker Mount stays pending until answered', async () => {
      await engine.mount('v', 'c1', provisional);
      await engine.mount('v', 'c1', provisional);
      // As a restart reads it: the snapshot with the journal of changes since replayed onto it.
      const record = await recordOf('v');
      expect(record).toMatchObject({ backing: 'mem', state: 'mounted', mountpoint: '/mnt/mem/v' });
      expect(record?.callers.get('c1')).toMatchObject({ count: 2, pending: 2 });
      await engine.confirmMount('v', 'c1');
      expect((await recordOf('v'))?.callers.get('c1')).toMatchObject({ count: 2, pending: 1 });
    });

    it('syncs the journal once per durable step of a first Mount (intent, mounted), and writes its confirmation unsynced', async () => {
      const appends = vi.spyOn(MountJournal.prototype, 'append');
      await engine.mount('v', 'c1', provisional);
      expect(appends.mock.calls.map(([, sync]) => sync)).toEqual([true, true]);
      await engine.confirmMount('v', 'c1');
      expect(appends.mock.calls.map(([, sync]) => sync)).toEqual([true, true, false]);
      // Written all the same: a restart (which reads the file, not the page cache's fate) sees the Mount confirmed.
      expect((await recordOf('v'))?.callers.get('c1')).toMatchObject({ count: 1, pending: 0 });
      await engine.mount('v', 'c2');
      expect(appends.mock.calls.map(([, sync]) => sync)).toEqual([true, true, false, true]);
    });

    it('counts once a Mount the previous process counted and died before answering, when Docker sends it again', async () => {
      await engine.mount('v', 'holder', provisional);
      await engine.confirmMount('v', 'holder');
      await engine.mount('v', 'c1', provisional); // counted; the process dies before the answer leaves
      await engine.stop();
      const restarted = await startEngine();
      let asked = 0;
      const confirmed = { provisional: true, isRetry: async () => (asked += 1) > 0 };
      expect(await restarted.mount('v', 'c1', confirmed)).toBe('/mnt/mem/v');
      await restarted.confirmMount('v', 'c1');
      expect(asked).toBe(1);
      expect(countsOf(await recordOf('v'))).toEqual({ holder: 1, c1: 1 });
      await restarted.unmount('v', 'c1');
      expect(provider.mounted.has('v')).toBe(true);
      await restarted.unmount('v', 'holder');
      expect(provider.mounted.has('v')).toBe(false);
    });

    it('counts a Mount that may be a resend unless the caller confirms it is: a lost answer record never loses a hold', async () => {
      // The answer reached the container, which runs; the plugin died before recording that. A provisional cp follows.
      await engine.mount('v', 'running', provisional);
      await engine.stop();
      const restarted = await startEngine();
      await restarted.mount('v', 'running', { provisional: true, isRetry: async () => false });
      await restarted.mount('v', 'running', {
        provisional: true,
        isRetry: async () => Promise.reject(new Error('no Docker engine')),
      });
      await restarted.mount('v', 'running', provisional);
      expect(countsOf(await recordOf('v'))).toEqual({ running: 4 });
      for (let i = 0; i < 3; i += 1) await restarted.unmount('v', 'running');
      expect(provider.mounted.has('v')).toBe(true);
      expect((await rejection(restarted.remove('v'))).kind).toBe(ErrorKind.InUse);
    });

    it('still counts twice an answered ID mounted again after a restart (provisional cp into a running container)', async () => {
      await engine.mount('v', 'c1', provisional);
      await engine.confirmMount('v', 'c1');
      await engine.stop();
      const restarted = await startEngine();
      await restarted.mount('v', 'c1', provisional);
      expect(countsOf(await recordOf('v'))).toEqual({ c1: 2 });
      await restarted.unmount('v', 'c1');
      expect(provider.mounted.has('v')).toBe(true);
      await restarted.unmount('v', 'c1');
      expect(provider.mounted.has('v')).toBe(false);
    });

    it("never drops a live container's hold when its ID is mounted and unmounted again after a restart (live-restore, provisional cp)", async () => {
      await engine.mount('v', 'running', provisional);
      await engine.confirmMount('v', 'running');
      await engine.stop();
      // The Docker engine restarted with live-restore: the container still runs, and a provisional cp into it follows.
      const restarted = await startEngine();
      await restarted.mount('v', 'running', provisional);
      await restarted.confirmMount('v', 'running');
      await restarted.unmount('v', 'running');
      expect(provider.mounted.has('v')).toBe(true);
      const error = await rejection(restarted.remove('v'));
      expect(error.kind).toBe(ErrorKind.InUse);
      expect(provider.volumes.has('v')).toBe(true);
    });

    it('counts every Mount of an in-process caller, across a restart too', async () => {
      await engine.mount('v', 'c1');
      const record = await recordOf('v');
      expect(record?.callers.get('c1')).toMatchObject({ count: 1, pending: 0 });
      await engine.stop();
      const restarted = await startEngine();
      await restarted.mount('v', 'c1');
      expect(countsOf(await recordOf('v'))).toEqual({ c1: 2 });
    });

    it('keeps callers across a restart, remounts what they hold and tells the provider', async () => {
      await engine.mount('v', 'c1');
      await engine.stop();
      provider.mounted.clear(); // the host lost the mount (reboot)
      const restarted = await startEngine();
      expect(provider.mounted.has('v')).toBe(true);
      expect(provider.reconciledWith).toEqual(new Set(['v']));
      await restarted.unmount('v', 'c1');
      expect(provider.mounted.has('v')).toBe(false);
    });

    it('never answers as mounted a volume whose remount failed at start-up; the next Mount asks the provider and reports its failure', async () => {
      await engine.mount('v', 'c1', provisional);
      await engine.confirmMount('v', 'c1');
      await engine.stop();
      provider.mounted.clear(); // the host rebooted, and another node took the volume meanwhile
      provider.failNext.mount = StowageError.inUse('attached to i-other (running)');
      const restarted = await startEngine();
      expect(provider.mounted.has('v')).toBe(false);
      expect((await recordOf('v'))?.state).toBe('unavailable');
      expect((await restarted.get('v'))?.mountpoint).toBeUndefined();
      expect(await restarted.path('v')).toBeUndefined();
      // Nothing is unmounted for a failed remount: a backend that could not answer may still serve running containers.
      expect(provider.count('unmount')).toBe(0);

      provider.failNext.mount = StowageError.inUse('attached to i-other (running)');
      const mountsBefore = provider.count('mount');
      const error = await rejection(restarted.mount('v', 'c2', provisional));
      expect(error.message).toContain('attached to i-other');
      expect(provider.count('mount')).toBe(mountsBefore + 1);
      expect(countsOf(await recordOf('v'))).toEqual({ c1: 1 });

      expect(await restarted.mount('v', 'c2', provisional)).toBe('/mnt/mem/v');
      expect(provider.mounted.has('v')).toBe(true);
      expect(countsOf(await recordOf('v'))).toEqual({ c1: 1, c2: 1 });
      expect((await recordOf('v'))?.state).toBe('mounted');
    });

    it('undoes a mount a crash interrupted', async () => {
      await engine.stop();
      await writeFile(
        join(stateDir, 'mounts.json'),
        JSON.stringify({ version: 1, volumes: { v: { backing: 'mem', state: 'mounting', callers: {} } } }),
      );
      provider.mounted.add('v');
      const restarted = await startEngine();
      expect(provider.mounted.has('v')).toBe(false);
      expect(provider.reconciledWith).toEqual(new Set());
      await restarted.remove('v');
    });

    it('reads a 0.1 mount table: callers as an object, unanswered Mounts pending, the earlier-engine guess dropped', async () => {
      await engine.stop();
      const legacy = {
        backing: 'mem',
        state: 'mounted',
        mountpoint: '/mnt/mem/v',
        callers: { a: 2, b: 1 },
        unanswered: ['b'],
        earlierEngine: ['a'],
      };
      await writeFile(join(stateDir, 'mounts.json'), JSON.stringify({ version: 1, volumes: { v: legacy } }));
      await writeFile(join(stateDir, 'mounts.journal'), '');
      await startEngine();
      const record = await recordOf('v');
      expect(record?.callers.get('a')).toMatchObject({ count: 2, pending: 0 });
      expect(record?.callers.get('b')).toMatchObject({ count: 1, pending: 1 });
    });

    it('refuses to start on a corrupt mount table rather than forget callers', async () => {
      await engine.stop();
      await writeFile(join(stateDir, 'mounts.json'), '{"version":1,"volu');
      const error = await rejection(h.create().start());
      expect(error.kind).toBe(ErrorKind.BackendFailure);
      expect(error.message).toContain('is unreadable');
    });

    it('refuses a second engine on the same state directory', async () => {
      const error = await rejection(h.create().start());
      expect(error.kind).toBe(ErrorKind.InUse);
      expect(error.message).toContain('is in use by another Stowage process');
      expect(error.message).toContain('or give this one another state directory (Lock file is already being held)');
    }, 30_000);
  });

  describe('caller IDs from outside', () => {
    const hostile = [
      'constructor',
      'toString',
      '__proto__',
      'hasOwnProperty',
      'valueOf',
      '__defineGetter__',
      'isPrototypeOf',
    ];

    beforeEach(async () => {
      await engine.create('v', { size: '1' });
    });

    it.each(hostile)('an Unmount by %s, which never mounted, releases nothing and Remove stays refused', async (id) => {
      await engine.mount('v', 'container', provisional);
      const error = await rejection(engine.unmount('v', id));
      expect(error.kind).toBe(ErrorKind.NotFound);
      expect(provider.mounted.has('v')).toBe(true);
      expect((await rejection(engine.remove('v'))).kind).toBe(ErrorKind.InUse);
      expect(provider.volumes.has('v')).toBe(true);
    });

    it.each(hostile)('%s counts as a caller like any other, across a restart', async (id) => {
      await engine.mount('v', id, provisional);
      await engine.mount('v', id, provisional);
      await engine.confirmMount('v', id);
      expect((await engine.get('v'))?.status['mounts']).toBe(2);
      await engine.stop();
      const restarted = await startEngine();
      expect((await readMountTable(stateDir)).get('v')?.callers.get(id)).toMatchObject({ count: 2 });
      await restarted.unmount('v', id);
      expect((await rejection(restarted.remove('v'))).kind).toBe(ErrorKind.InUse);
      await restarted.unmount('v', id);
      expect(provider.mounted.has('v')).toBe(false);
      await restarted.remove('v');
    });
  });

  describe('a mount-table write that fails', () => {
    beforeEach(async () => {
      await engine.create('v', { size: '1' });
    });

    function failNextWrite(): void {
      vi.spyOn(MountJournal.prototype, 'append').mockRejectedValueOnce(
        Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }),
      );
    }

    it('fails the Mount and counts nothing, now or at the next successful write', async () => {
      await engine.mount('v', 'c1', provisional);
      failNextWrite();
      const error = await rejection(engine.mount('v', 'c2', provisional));
      expect(error.message).toContain('no space left on device');
      expect((await engine.get('v'))?.status['mounts']).toBe(1);
      await engine.mount('v', 'c3', provisional);
      expect(countsOf((await readMountTable(stateDir)).get('v'))).toEqual({ c1: 1, c3: 1 });
      await engine.unmount('v', 'c1');
      await engine.unmount('v', 'c3');
      expect(provider.mounted.has('v')).toBe(false);
      await engine.remove('v');
    });

    it('undoes the backend mount of a first Mount whose outcome could not be recorded', async () => {
      const append = MountJournal.prototype.append;
      let writes = 0;
      vi.spyOn(MountJournal.prototype, 'append').mockImplementation(async function (this: MountJournal, text: string) {
        writes += 1;
        // The intent (`mounting`) is written; the outcome (`mounted`) is not.
        if (writes === 2) throw Object.assign(new Error('I/O error'), { code: 'EIO' });
        return append.call(this, text);
      });
      const error = await rejection(engine.mount('v', 'c1', provisional));
      expect(error.message).toContain('I/O error');
      expect(provider.mounted.has('v')).toBe(false);
      expect((await engine.get('v'))?.status['mounts']).toBe(0);
      vi.restoreAllMocks();
      await engine.remove('v');
    });

    it('fails the Unmount and keeps the hold, which a later Unmount matches', async () => {
      await engine.mount('v', 'c1', provisional);
      await engine.mount('v', 'c2', provisional);
      failNextWrite();
      expect((await rejection(engine.unmount('v', 'c1'))).message).toContain('no space left on device');
      expect(countsOf((await readMountTable(stateDir)).get('v'))).toEqual({ c1: 1, c2: 1 });
      await engine.unmount('v', 'c1');
      await engine.unmount('v', 'c2');
      expect(provider.mounted.has('v')).toBe(false);
    });
  });

  describe('answers that never reach the caller, and callers that are gone', () => {
    beforeEach(async () => {
      await engine.create('v', { size: '1' });
    });

    it('takes back a Mount whose answer could not be delivered, releasing the backend if it was the last', async () => {
      await engine.mount('v', 'late', provisional);
      await engine.withdrawMount('v', 'late');
      expect(provider.mounted.has('v')).toBe(false);
      expect((await readMountTable(stateDir)).get('v')).toBeUndefined();
      await engine.remove('v');
    });

    it('takes back only the undelivered Mount: an answered one of the same ID stays', async () => {
      await engine.mount('v', 'c1', provisional);
      await engine.confirmMount('v', 'c1');
      await engine.mount('v', 'c1', provisional); // provisional cp; its caller gave up
      await engine.withdrawMount('v', 'c1');
      await engine.withdrawMount('v', 'c1'); // nothing pending: nothing taken
      expect(countsOf((await readMountTable(stateDir)).get('v'))).toEqual({ c1: 1 });
      expect(provider.mounted.has('v')).toBe(true);
    });

    it('releases the holds of callers proven gone, only those counted before the proof, and the backend with the last', async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      try {
        vi.setSystemTime(1_000);
        await engine.mount('v', 'dead', provisional);
        await engine.mount('v', 'dead', provisional);
        vi.setSystemTime(5_000);
        await engine.mount('v', 'fresh', provisional);
        expect(engine.holds()).toEqual([
          {
            name: 'v',
            backing: 'mem',
            state: 'mounted',
            callers: [
              { id: 'dead', count: 2, pending: 2, lastMountAt: 1_000 },
              { id: 'fresh', count: 1, pending: 1, lastMountAt: 5_000 },
            ],
          },
        ]);
        expect(await engine.releaseHolds('v', ['dead', 'fresh', 'ghost'], 3_000)).toBe(2);
        expect(countsOf((await readMountTable(stateDir)).get('v'))).toEqual({ fresh: 1 });
        expect(provider.mounted.has('v')).toBe(true);
        expect(await engine.releaseHolds('v', ['fresh'], 6_000)).toBe(1);
        expect(provider.mounted.has('v')).toBe(false);
        expect(engine.holds()).toEqual([]);
      } finally {
        vi.useRealTimers();
      }
    });
  });

  describe('a catalogue-only engine (restore: false)', () => {
    it('lists, creates and removes, but never mounts, unmounts or reconciles anything', async () => {
      await engine.create('held', { size: '1' });
      await engine.mount('held', 'c1');
      await engine.create('free', { size: '1' });
      await engine.stop();
      provider.mounted.clear();
      provider.reconciledWith = undefined;
      const calls = provider.calls.length;
      const catalogue = await h.start({ restore: false });
      expect(provider.calls.slice(calls)).toEqual([]);
      expect(provider.reconciledWith).toBeUndefined();
      expect((await catalogue.list()).map((v) => v.name).sort()).toEqual(['free', 'held']);
      expect((await rejection(catalogue.mount('free', 'c2'))).kind).toBe(ErrorKind.InvalidArgument);
      expect((await rejection(catalogue.unmount('held', 'c1'))).kind).toBe(ErrorKind.InvalidArgument);
      expect((await rejection(catalogue.remove('held'))).kind).toBe(ErrorKind.InUse);
      await catalogue.remove('free');
      expect(provider.calls.filter((c) => c === 'mount' || c === 'unmount')).toHaveLength(1);
      expect(countsOf((await readMountTable(stateDir)).get('held'))).toEqual({ c1: 1 });
    });
  });

  describe('get and list when a backend fails', () => {
    it('answers a known volume from what this node knows instead of "not found"', async () => {
      await engine.create('v', { size: '1' });
      provider.failNext.inspect = new Error('timeout talking to the cloud');
      const volume = await engine.get('v');
      expect(volume?.name).toBe('v');
      expect(volume?.status['error']).toContain('timeout talking to the cloud');
    });

    it('throws BackendFailure, not undefined, for an unknown name it could not look up', async () => {
      // A global backing: another node may have made the name, so it is asked about a name this node never saw.
      const global = new MemoryProvider('g', 'global');
      await engine.stop();
      const e = await startEngine([provider, global]);
      global.failNext.inspect = new Error('timeout');
      const error = await rejection(e.get('unknown'));
      expect(error.kind).toBe(ErrorKind.BackendFailure);
    });

    it('answers undefined for a name no backing has', async () => {
      expect(await engine.get('nothing')).toBeUndefined();
    });

    it('names the backing whose list failed', async () => {
      provider.failNext.list = new Error('boom');
      const error = await rejection(engine.list());
      expect(error.message).toBe('listing volumes of backing mem failed: boom');
    });
  });

  it('reports scope global only when every backing is global', async () => {
    expect(engine.scope()).toBe('local');
    await engine.stop();
    const e = await startEngine([new MemoryProvider('g', 'global')]);
    expect(e.scope()).toBe('global');
  });
});
