import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VolumeEngine } from '../src/engine/volume-engine.js';
import { readMountTable } from '../src/engine/mount-table.js';
import { ErrorKind } from '../src/errors/error-kind.js';
import { StowageError } from '../src/errors/stowage-error.js';
import type { HostOperations } from '../src/host/host-operations.js';
import { MemoryProvider } from './support/memory-provider.js';
import { silentLogger } from './support/silent-logger.js';

const noHost = {} as HostOperations;
/** As the Docker adapter mounts: the Docker engine resends a Mount it got no answer to. */
const docker = { awaitsAnswer: true };

async function rejection(promise: Promise<unknown>): Promise<StowageError> {
  try {
    await promise;
  } catch (error) {
    if (StowageError.is(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('VolumeEngine', () => {
  let stateDir: string;
  let provider: MemoryProvider;
  let engine: VolumeEngine;
  const engines: VolumeEngine[] = [];

  async function startEngine(providers = [provider], defaultBacking?: string): Promise<VolumeEngine> {
    const e = new VolumeEngine(providers, noHost, silentLogger, { stateDir, ...(defaultBacking ? { defaultBacking } : {}) });
    await e.start();
    engines.push(e);
    return e;
  }

  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'stowage-engine-'));
    provider = new MemoryProvider();
    engine = await startEngine();
  });

  afterEach(async () => {
    for (const e of engines.splice(0)) await e.stop();
    await rm(stateDir, { recursive: true, force: true });
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

    it('uses the preferred default backing (relocatable before others) unless one is configured', async () => {
      await engine.stop();
      const blk = new MemoryProvider('blk', 'global', [], ['relocatable']);
      const e = await startEngine([provider, blk]);
      expect((await e.create('x')).backing).toBe('blk');
      await e.stop();
      const configured = await startEngine([provider, blk], 'mem');
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

    it('counts a repeated caller ID (docker cp) as two mounts', async () => {
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
      expect(error.message).toBe('volume "v" is in use on this node (1 mount); stop the containers using it, then remove it');
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

    it('writes the table atomically with callers and counts; a Docker Mount is unanswered until answered', async () => {
      await engine.mount('v', 'c1', docker);
      await engine.mount('v', 'c1', docker);
      // As a restart reads it: the snapshot with the journal of changes since replayed onto it.
      const table = await readMountTable(stateDir);
      expect(table.v).toEqual({ backing: 'mem', state: 'mounted', mountpoint: '/mnt/mem/v', callers: { c1: 2 }, unanswered: ['c1'] });
      await engine.mountAnswered('v', 'c1');
      expect((await readMountTable(stateDir)).v).toEqual({ backing: 'mem', state: 'mounted', mountpoint: '/mnt/mem/v', callers: { c1: 2 } });
    });

    it('counts once a Mount the previous process counted and died before answering, when Docker sends it again', async () => {
      await engine.mount('v', 'holder', docker);
      await engine.mountAnswered('v', 'holder');
      await engine.mount('v', 'c1', docker); // counted; the process dies before the answer leaves
      await engine.stop();
      const restarted = await startEngine();
      expect(await restarted.mount('v', 'c1', docker)).toBe('/mnt/mem/v');
      await restarted.mountAnswered('v', 'c1');
      expect((await readMountTable(stateDir)).v?.callers).toEqual({ holder: 1, c1: 1 });
      await restarted.unmount('v', 'c1');
      expect(provider.mounted.has('v')).toBe(true);
      await restarted.unmount('v', 'holder');
      expect(provider.mounted.has('v')).toBe(false);
    });

    it('still counts twice an answered ID mounted again after a restart (docker cp into a running container)', async () => {
      await engine.mount('v', 'c1', docker);
      await engine.mountAnswered('v', 'c1');
      await engine.stop();
      const restarted = await startEngine();
      await restarted.mount('v', 'c1', docker);
      expect((await readMountTable(stateDir)).v?.callers).toEqual({ c1: 2 });
      await restarted.unmount('v', 'c1');
      expect(provider.mounted.has('v')).toBe(true);
      await restarted.unmount('v', 'c1');
      expect(provider.mounted.has('v')).toBe(false);
    });

    it('after a Docker engine restart, an ID mounted again starts counting afresh; others keep their count', async () => {
      await engine.mount('v', 'restarted', docker);
      await engine.mount('v', 'restarted', docker); // a docker cp that the dead engine never matched
      await engine.mount('v', 'survivor', docker);
      for (const id of ['restarted', 'survivor']) await engine.mountAnswered('v', id);
      await engine.dockerEngineStarted();
      await engine.mount('v', 'restarted', docker);
      expect((await readMountTable(stateDir)).v).toMatchObject({ callers: { restarted: 1, survivor: 1 }, earlierEngine: ['survivor'] });
      await engine.unmount('v', 'restarted');
      await engine.unmount('v', 'survivor');
      expect(provider.mounted.has('v')).toBe(false);
      expect((await readMountTable(stateDir)).v).toBeUndefined();
    });

    it('counts every Mount of an in-process caller, across a restart too', async () => {
      await engine.mount('v', 'c1');
      expect((await readMountTable(stateDir)).v).toEqual({ backing: 'mem', state: 'mounted', mountpoint: '/mnt/mem/v', callers: { c1: 1 } });
      await engine.stop();
      const restarted = await startEngine();
      await restarted.mount('v', 'c1');
      expect((await readMountTable(stateDir)).v?.callers).toEqual({ c1: 2 });
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

    it('refuses to start on a corrupt mount table rather than forget callers', async () => {
      await engine.stop();
      await writeFile(join(stateDir, 'mounts.json'), '{"version":1,"volu');
      const e = new VolumeEngine([provider], noHost, silentLogger, { stateDir });
      const error = await rejection(e.start());
      expect(error.kind).toBe(ErrorKind.BackendFailure);
      expect(error.message).toContain('is unreadable');
    });

    it('refuses a second engine on the same state directory', async () => {
      const second = new VolumeEngine([provider], noHost, silentLogger, { stateDir });
      const error = await rejection(second.start());
      expect(error.kind).toBe(ErrorKind.InUse);
      expect(error.message).toContain('is in use by another Stowage process');
    }, 30_000);
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
      provider.failNext.inspect = new Error('timeout');
      const error = await rejection(engine.get('unknown'));
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
