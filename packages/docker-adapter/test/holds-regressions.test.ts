import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, VolumeEngine } from '@stowage/core';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createPluginApp } from '../src/protocol/plugin-app.js';
import { FakeBackend, FakeBackendProvider } from '@stowage/testkit/fake-backend';
import { call, mountpoint } from './support/plugin-calls.js';
import { startRunningPlugin, useRunningPlugins } from './support/running-plugin.js';
import { buildCli, CLI, cliEnv, runStowage } from './support/stowage-cli.js';

const silent = createLogger({ level: 'silent' });

/**
 * Regressions of the defects an outside review found in 0.1 (7ff788c), each over the real protocol on a real
 * socket, where each one lost data, leaked a hold or took the plugin down.
 */
describe('holds that nothing from outside can corrupt or lose', () => {
  const { plugin } = useRunningPlugins();

  it.each(['constructor', 'toString', 'hasOwnProperty', 'valueOf', '__proto__'])(
    'an Unmount with Mount ID %s, which never mounted, leaves another container its volume and its data',
    async (id) => {
      const p = await plugin();
      expect((await call(p.socket, 'VolumeDriver.Create', { Name: 'shared', Opts: {} })).Err).toBe('');
      const path = await mountpoint(p.socket, 'shared', 'container-a');
      await writeFile(join(path, 'data.txt'), 'written by container a');

      expect(await call(p.socket, 'VolumeDriver.Unmount', { Name: 'shared', ID: id })).toEqual({
        Err: `volume "shared" has no mount with ID "${id}" on this node`,
      });
      const removal = await call(p.socket, 'VolumeDriver.Remove', { Name: 'shared' });
      expect(removal.Err).toContain('is in use on this node (1 mount)');
      expect(await readFile(join(path, 'data.txt'), 'utf8')).toBe('written by container a');
    },
  );

  it('counts Mount IDs toString and __proto__ exactly, and the plugin starts again with them in its table', async () => {
    const p = await plugin();
    await call(p.socket, 'VolumeDriver.Create', { Name: 'v', Opts: {} });
    await mountpoint(p.socket, 'v', 'toString');
    await mountpoint(p.socket, 'v', '__proto__');
    await mountpoint(p.socket, 'v', '__proto__');
    expect(
      ((await call(p.socket, 'VolumeDriver.Get', { Name: 'v' })).Volume as { Status: { mounts: number } }).Status
        .mounts,
    ).toBe(3);
    await p.stop();

    const again = await plugin(p.dir);
    expect(
      ((await call(again.socket, 'VolumeDriver.Get', { Name: 'v' })).Volume as { Status: { mounts: number } }).Status
        .mounts,
    ).toBe(3);
    expect((await call(again.socket, 'VolumeDriver.Unmount', { Name: 'v', ID: 'toString' })).Err).toBe('');
    expect((await call(again.socket, 'VolumeDriver.Unmount', { Name: 'v', ID: '__proto__' })).Err).toBe('');
    expect((await call(again.socket, 'VolumeDriver.Remove', { Name: 'v' })).Err).toContain('in use');
    expect((await call(again.socket, 'VolumeDriver.Unmount', { Name: 'v', ID: '__proto__' })).Err).toBe('');
    expect((await call(again.socket, 'VolumeDriver.Remove', { Name: 'v' })).Err).toBe('');
  });

  it('never answers a Mount with the path of a volume whose remount failed at start-up: the provider is asked, its error reaches Docker', async () => {
    const p = await plugin();
    await call(p.socket, 'VolumeDriver.Create', { Name: 'v', Opts: {} });
    const path = await mountpoint(p.socket, 'v', 'c1');
    await writeFile(join(path, 'data.txt'), 'precious');
    await p.stop();
    // The volume's storage is not there while the plugin starts (a disk that did not come back).
    await rename(path, `${path}.away`);

    const again = await plugin(p.dir);
    const answer = await call(again.socket, 'VolumeDriver.Mount', { Name: 'v', ID: 'c2' });
    expect(answer.Err).toContain('has no usable data directory');
    expect(answer.Mountpoint).toBeUndefined();

    await rename(`${path}.away`, path);
    expect(await mountpoint(again.socket, 'v', 'c3')).toBe(path);
    expect(await readFile(join(path, 'data.txt'), 'utf8')).toBe('precious');
  });

  it('after a Docker engine restart, a docker cp into a running container (Mount and Unmount of its ID) keeps its hold: Remove is refused and the data stays', async () => {
    const p = await plugin();
    await call(p.socket, 'VolumeDriver.Create', { Name: 'db', Opts: {} });
    const path = await mountpoint(p.socket, 'db', 'running-container');
    await writeFile(join(path, 'table.db'), 'rows');
    // The engine restarts with live-restore (the container keeps running) and activates the plugin again.
    expect(await call(p.socket, 'Plugin.Activate', null)).toEqual({ Implements: ['VolumeDriver'] });
    await mountpoint(p.socket, 'db', 'running-container');
    expect((await call(p.socket, 'VolumeDriver.Unmount', { Name: 'db', ID: 'running-container' })).Err).toBe('');

    expect((await call(p.socket, 'VolumeDriver.Remove', { Name: 'db' })).Err).toContain(
      'is in use on this node (1 mount)',
    );
    expect(await readFile(join(path, 'table.db'), 'utf8')).toBe('rows');
  });
});

describe('a Mount whose caller gave up', () => {
  let server: Server | undefined;
  let engine: VolumeEngine | undefined;
  let dir: string | undefined;

  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    await engine?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    server = engine = dir = undefined;
  });

  it('is taken back once it completes: no hold is left, and the backend is released', async () => {
    dir = await mkdtemp(join(tmpdir(), 'stowage-gave-up-'));
    const backend = new FakeBackend();
    engine = new VolumeEngine([new FakeBackendProvider(backend)], {} as never, silent, {
      stateDir: join(dir, 'state'),
    });
    await engine.start();
    await engine.create('slow', {});
    const socket = join(dir, 'plugin.sock');
    const started = createServer(createPluginApp(engine, silent));
    server = started;
    await new Promise<void>((resolve) => started.listen(socket, resolve));

    // The backend takes its time (an attach), and Docker's deadline passes meanwhile: it closes the connection.
    const gate = backend.holdNext('mount');
    const caller = request({ socketPath: socket, method: 'POST', path: '/VolumeDriver.Mount' });
    caller.on('error', () => undefined);
    caller.end(JSON.stringify({ Name: 'slow', ID: 'gave-up' }));
    await gate.reached;
    caller.destroy();
    await vi.waitFor(
      async () => {
        const connections = await new Promise<number>((resolve, reject) =>
          started.getConnections((e, n) => (e ? reject(e) : resolve(n))),
        );
        expect(connections).toBe(0);
      },
      { timeout: 10_000, interval: 10 },
    );
    gate.open();

    // The Mount completes, finds nobody to answer, and is undone.
    await vi.waitFor(() => expect(backend.calls.slice(backend.calls.indexOf('mount'))).toContain('unmount'), {
      timeout: 10_000,
      interval: 10,
    });
    await vi.waitFor(() => expect(engine?.holds()).toEqual([]), { timeout: 10_000, interval: 10 });
    expect(backend.mounted.has('slow')).toBe(false);
    await engine.remove('slow');
    expect(backend.volumes.has('slow')).toBe(false);
  });
});

describe('the CLI without a running plugin', () => {
  beforeAll(async () => {
    if (!existsSync(CLI)) await buildCli();
  }, 120_000);

  it('reads without changing this node: the mount table is untouched, interrupted operations are left to the plugin', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stowage-cli-readonly-'));
    try {
      const p = await startRunningPlugin(dir);
      await call(p.socket, 'VolumeDriver.Create', { Name: 'held', Opts: {} });
      await call(p.socket, 'VolumeDriver.Create', { Name: 'other', Opts: {} });
      await mountpoint(p.socket, 'held', 'c1');
      await p.stop();
      // A mount the plugin was in the middle of when it stopped: only the plugin's start may finish it.
      await writeFile(
        join(p.stateDir, 'mounts.journal'),
        `${JSON.stringify({ volume: 'other', record: { backing: 'local', state: 'mounting', callers: [] } })}\n`,
        { flag: 'a' },
      );
      const before = await Promise.all(
        ['mounts.json', 'mounts.journal'].map((f) => readFile(join(p.stateDir, f), 'utf8')),
      );

      const env = cliEnv({
        STOWAGE_STATE_DIR: p.stateDir,
        STOWAGE_SOCKET: p.socket,
        STOWAGE_LOCAL_ROOT: p.root,
        STOWAGE_LOG_LEVEL: 'warn',
      });
      const listed = await runStowage(['volume', 'ls', '--format', 'json'], env);
      expect(listed.code, listed.stderr).toBe(0);
      expect((JSON.parse(listed.stdout) as Array<{ Name: string }>).map((v) => v.Name).sort()).toEqual([
        'held',
        'other',
      ]);
      const inspected = await runStowage(['volume', 'inspect', 'held'], env);
      expect(inspected.code, inspected.stderr).toBe(0);

      const after = await Promise.all(
        ['mounts.json', 'mounts.journal'].map((f) => readFile(join(p.stateDir, f), 'utf8')),
      );
      expect(after).toEqual(before);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
