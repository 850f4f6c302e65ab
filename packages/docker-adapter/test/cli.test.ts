import { existsSync } from 'node:fs';
import { lstat, mkdtemp, readFile, rm } from 'node:fs/promises';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TLS_FIXTURES } from '@stowage/testkit/tls';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PluginClient } from '../src/client/plugin-client.js';
import {
  CLI,
  buildCli,
  cliEnv,
  runStowage,
  startServe,
  listeningLog,
  type ServeProcess,
} from './support/stowage-cli.js';

// turbo builds the package before its tests; rebuilding here while other files run the CLI could hand them a
// half-written dist, so build only when there is none (a bare `vitest run` on a fresh checkout).
beforeAll(async () => {
  if (!existsSync(CLI)) await buildCli();
}, 120_000);

let dir: string;
let env: NodeJS.ProcessEnv;
let socket: string;
let root: string;
let serving: ServeProcess | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stowage-cli-'));
  socket = join(dir, 'run', 'stowage.sock');
  root = join(dir, 'volumes');
  env = cliEnv({ STOWAGE_STATE_DIR: join(dir, 'state'), STOWAGE_LOCAL_ROOT: root, STOWAGE_SOCKET: socket });
});
afterEach(async () => {
  await serving?.stop('SIGKILL');
  serving = undefined;
  await rm(dir, { recursive: true, force: true });
});

const stowage = (...args: string[]) => runStowage(args, env);

describe('stowage --help', () => {
  it('describes every command, at every level', async () => {
    const top = await stowage('--help');
    expect(top.code).toBe(0);
    for (const command of ['serve', 'volume', 'backings', '--config']) expect(top.stdout).toContain(command);
    const create = await stowage('volume', 'create', '--help');
    expect(create.code).toBe(0);
    expect(create.stdout).toContain('--opt');
    expect(create.stdout).toContain('--backing');
    const serve = await stowage('serve', '--help');
    expect(serve.stdout).toContain('--socket');
    expect(serve.stdout).toContain('--state-dir');
  });
});

describe('usage errors exit 2', () => {
  it('refuses an unknown flag', async () => {
    const result = await stowage('volume', 'ls', '--colour');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('stowage: Unknown argument: colour');
    expect(result.stderr).toContain("Run 'stowage volume ls --help' for usage.");
  });

  it('refuses a missing command', async () => {
    const result = await stowage('volume');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('stowage: give a volume command: create, ls, inspect or rm');
  });

  it('refuses an --opt without =, creating nothing', async () => {
    const result = await stowage('volume', 'create', 'v1', '--opt', 'size');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('stowage: --opt "size": expected key=value');
    expect(existsSync(join(root, 'v1'))).toBe(false);
  });
});

describe('stowage volume, with no plugin running (the engine in process)', () => {
  it('creates, lists, inspects and removes a volume', async () => {
    expect(await stowage('volume', 'create', 'v1', '--opt', 'mode=0700')).toMatchObject({ code: 0, stdout: 'v1\n' });
    expect(await stowage('volume', 'create', '--backing', 'local', 'v2')).toMatchObject({ code: 0, stdout: 'v2\n' });
    expect((await lstat(join(root, 'v1', '_data'))).mode & 0o777).toBe(0o700);

    expect((await stowage('volume', 'ls', '--quiet')).stdout).toBe('v1\nv2\n');
    const table = (await stowage('volume', 'ls')).stdout.split('\n');
    expect(table[0]).toMatch(/^VOLUME NAME\s+CREATED\s+MOUNTPOINT$/);
    expect(table[1]).toContain(join(root, 'v1', '_data'));
    const listed = JSON.parse((await stowage('volume', 'ls', '--format', 'json')).stdout) as Array<{ Name: string }>;
    expect(listed.map((v) => v.Name)).toEqual(['v1', 'v2']);

    const inspect = await stowage('volume', 'inspect', 'v1');
    expect(inspect.code).toBe(0);
    expect(JSON.parse(inspect.stdout)).toEqual([
      {
        CreatedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
        Driver: 'stowage',
        Mountpoint: join(root, 'v1', '_data'),
        Name: 'v1',
        Options: { mode: '0700' },
        Scope: 'local',
        Status: { backing: 'local', mounts: 0 },
      },
    ]);

    expect(await stowage('volume', 'rm', 'v1', 'v2')).toMatchObject({ code: 0, stdout: 'v1\nv2\n' });
    expect(existsSync(join(root, 'v1'))).toBe(false);
    expect((await stowage('volume', 'ls', '-q')).stdout).toBe('');
  }, 90_000);

  it('reports what the engine refuses on stderr and exits 1', async () => {
    const backing = await stowage('volume', 'create', 'x', '--opt', 'backing=nope');
    expect(backing.code).toBe(1);
    expect(backing.stderr).toBe('stowage: backing: unknown backing "nope"; must be one of local\n');
    const name = await stowage('volume', 'create', '../../etc');
    expect(name.code).toBe(1);
    expect(name.stderr).toMatch(/^stowage: invalid volume name "\.\.\/\.\.\/etc"/);
    const inspect = await stowage('volume', 'inspect', 'ghost');
    expect(inspect).toMatchObject({ code: 1, stdout: '[]\n', stderr: 'stowage: volume "ghost" not found\n' });
    const rm = await stowage('volume', 'rm', 'ghost');
    expect(rm).toMatchObject({ code: 1, stderr: 'stowage: volume "ghost" not found\n' });
  }, 90_000);

  it('lists the backings with their scope and the default', async () => {
    const result = await stowage('backings');
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')[1]).toMatch(/^local\s+-\s+local\s+yes$/);
    expect(JSON.parse((await stowage('backings', '--format', 'json')).stdout)).toEqual([
      { name: 'local', aliases: [], scope: 'local', isDefault: true },
    ]);
  });
});

describe('stowage serve', () => {
  it('serves the volume commands, with the same output as the engine in process', async () => {
    // The caller's own uid: chown to it needs no root.
    await stowage('volume', 'create', 'before', '--opt', `uid=${process.getuid?.() ?? 0}`);
    const direct = await stowage('volume', 'inspect', 'before');

    serving = await startServe({ ...env, STOWAGE_LOG_LEVEL: 'debug' });
    expect((await lstat(socket)).mode & 0o777).toBe(0o660);
    expect(await stowage('volume', 'inspect', 'before')).toEqual(direct);

    expect(await stowage('volume', 'create', 'v1')).toMatchObject({ code: 0, stdout: 'v1\n' });
    expect((await stowage('volume', 'ls', '-q')).stdout).toBe('before\nv1\n');
    expect(JSON.parse((await stowage('volume', 'inspect', 'v1')).stdout)[0]).toMatchObject({
      Name: 'v1',
      Scope: 'local',
    });
    expect(await stowage('volume', 'create', 'x', '--opt', 'backing=nope')).toMatchObject({
      code: 1,
      stderr: 'stowage: backing: unknown backing "nope"; must be one of local\n',
    });
    expect(await stowage('volume', 'rm', 'v1', 'before')).toMatchObject({ code: 0, stdout: 'v1\nbefore\n' });

    // The requests went through the plugin, not an engine of their own (which the plugin's lock would refuse).
    const methods = serving
      .stdout()
      .split('\n')
      .filter((line) => line.includes('"plugin request"'))
      .map((line) => (JSON.parse(line) as { method: string }).method);
    expect(methods).toEqual(
      expect.arrayContaining(['VolumeDriver.Create', 'VolumeDriver.List', 'VolumeDriver.Get', 'VolumeDriver.Remove']),
    );
  }, 60_000);

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'exits 0 on %s and removes its socket',
    async (signal) => {
      serving = await startServe(env);
      expect((await lstat(socket)).isSocket()).toBe(true);
      expect(await serving.stop(signal)).toBe(0);
      expect(existsSync(socket)).toBe(false);
      expect(serving.stdout()).toContain('"msg":"stopped"');
    },
    30_000,
  );

  it('leaves mounts recorded when it stops, and knows them after a restart', async () => {
    await stowage('volume', 'create', 'v1');
    serving = await startServe(env);
    const path = await new PluginClient({ socket }).mount('v1', 'container-1');
    expect(await serving.stop()).toBe(0);

    serving = await startServe(env);
    const client = new PluginClient({ socket });
    expect((await client.get('v1')).Status).toMatchObject({ mounts: 1 });
    expect(await client.path('v1')).toBe(path);
    await expect(client.remove('v1')).rejects.toThrow(/in use/);
    await client.unmount('v1', 'container-1');
    await client.remove('v1');
  }, 90_000);

  it('serves the HTTP ops endpoints beside the socket with --http, and stops both on SIGTERM', async () => {
    serving = await startServe(env, ['--http', '127.0.0.1:0']);
    const { http } = listeningLog(serving) as { http: string };
    expect(http).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await (await fetch(`${http}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${http}/readyz`)).json()).toEqual({ status: 'ready', backings: ['local'] });
    const client = new PluginClient({ socket });
    await client.create('v1', {});
    await client.mount('v1', 'container-1');
    const metrics = await (await fetch(`${http}/metrics`)).text();
    expect(metrics).toMatch(/^stowage_plugin_requests_total\{endpoint="VolumeDriver.Mount",outcome="ok"\} 1$/m);
    expect(metrics).toMatch(/^stowage_volume_holds\{backing="local"\} 1$/m);
    await client.unmount('v1', 'container-1');
    // The volume's events, replayed from the first; the stream stays open across the stop, which ends it.
    const answer = await fetch(`${http}/v1/events?since=0`);
    if (!answer.body) throw new Error('the event stream has no body');
    const events = answer.body.getReader();
    const decoder = new TextDecoder();
    let stream = '';
    while (!stream.includes('event: volume.unmounted\n')) {
      const { value, done } = await events.read();
      if (done) break;
      stream += decoder.decode(value, { stream: true });
    }
    expect([...stream.matchAll(/^id: (\d+)\nevent: (\S+)$/gm)].map(([, id, type]) => `${id} ${type}`)).toEqual([
      '1 volume.created',
      '2 volume.mounted',
      '3 volume.unmounted',
    ]);
    expect(await serving.stop('SIGTERM')).toBe(0);
    while (!(await events.read()).done);
    await expect(fetch(`${http}/healthz`)).rejects.toThrow();
    expect(existsSync(socket)).toBe(false);
  }, 90_000);

  it('serves the HTTP ops endpoints over TLS when given a certificate and its key', async () => {
    serving = await startServe(
      { ...env, STOWAGE_HTTP_CERT_FILE: TLS_FIXTURES.cert, STOWAGE_HTTP_KEY_FILE: TLS_FIXTURES.key },
      ['--http', '127.0.0.1:0'],
    );
    const { http } = listeningLog(serving) as { http: string };
    expect(http).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = await readFile(TLS_FIXTURES.cert);
    const status = await new Promise<number>((resolve, reject) => {
      httpsGet(`${http}/healthz`, { ca }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject);
    });
    expect(status).toBe(200);
    expect(await serving.stop('SIGTERM')).toBe(0);
  }, 90_000);

  it('exits 1 naming the files when the key does not match the certificate', async () => {
    const result = await runStowage(['serve', '--http', '127.0.0.1:0'], {
      ...env,
      STOWAGE_HTTP_CERT_FILE: TLS_FIXTURES.cert,
      STOWAGE_HTTP_KEY_FILE: TLS_FIXTURES.otherKey,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `the certificate ${TLS_FIXTURES.cert} and the key ${TLS_FIXTURES.otherKey} cannot serve TLS`,
    );
    expect(existsSync(socket)).toBe(false);
  }, 90_000);

  it('refuses to start where another plugin serves, and exits 1', async () => {
    serving = await startServe(env);
    const second = await stowage('serve', '--state-dir', join(dir, 'other-state'));
    expect(second.code).toBe(1);
    expect(second.stderr).toBe(
      `stowage: another process serves ${socket}; stop it, or give this plugin another socket\n`,
    );
    expect((await lstat(socket)).isSocket()).toBe(true);
  }, 90_000);
});
