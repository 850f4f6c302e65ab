import { existsSync } from 'node:fs';
import { lstat, mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { composeStowage, createLogger, defineDriver, loadConfig, STORAGE_PROVIDER, StowageError } from '@stowage/core';
import fc from 'fast-check';
import { ContainerModule } from 'inversify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson } from './support/raw-post.js';
import { startRunningPlugin, type RunningPlugin } from './support/running-plugin.js';
import { buildCli, CLI, cliEnv, startServe } from './support/stowage-cli.js';

const SEED = process.env.STOWAGE_FC_SEED !== undefined ? Number(process.env.STOWAGE_FC_SEED) : Date.now() % 2 ** 31;
const isRoot = process.getuid?.() === 0;

const modeOf = async (path: string) => (await lstat(path)).mode & 0o777;

describe('who may reach the plugin and its state', () => {
  let plugin: RunningPlugin;
  beforeAll(async () => {
    plugin = await startRunningPlugin();
  });
  afterAll(async () => {
    await plugin.close();
  });

  it('serves a socket of mode 0660 owned by the user running it (root in production)', async () => {
    const stat = await lstat(plugin.socket);
    expect(stat.isSocket()).toBe(true);
    expect(stat.mode & 0o777).toBe(0o660);
    expect(stat.uid).toBe(process.getuid?.());
    if (isRoot) expect(stat.uid).toBe(0);
  });

  it('keeps the state directory 0700, the mount table 0600 and the volume root 0700', async () => {
    await postJson(plugin.socket, '/VolumeDriver.Create', { Name: 'v1' });
    expect((await postJson(plugin.socket, '/VolumeDriver.Mount', { Name: 'v1', ID: 'c1' })).json()).toMatchObject({
      Err: '',
    });
    expect(await modeOf(plugin.stateDir)).toBe(0o700);
    expect(await modeOf(join(plugin.stateDir, 'mounts.json'))).toBe(0o600);
    expect(await modeOf(plugin.root)).toBe(0o700);
    await postJson(plugin.socket, '/VolumeDriver.Unmount', { Name: 'v1', ID: 'c1' });
  });

  it('confines every name it accepts to the volume root', async () => {
    const root = await realpath(plugin.root);
    const name = fc.stringMatching(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,199}$/);
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(name, async (n) => {
        const created = (await postJson(plugin.socket, '/VolumeDriver.Create', { Name: n })).json<{ Err: string }>();
        expect(created.Err).toBe('');
        accepted += 1;
        const { Mountpoint } = (await postJson(plugin.socket, '/VolumeDriver.Mount', { Name: n, ID: 'probe' })).json<{
          Mountpoint: string;
        }>();
        const real = await realpath(Mountpoint);
        // The data directory is <root>/<name>/_data, its volume directory a direct child of the root.
        expect(real.startsWith(`${root}/`)).toBe(true);
        expect(dirname(dirname(real))).toBe(root);
        await postJson(plugin.socket, '/VolumeDriver.Unmount', { Name: n, ID: 'probe' });
        expect((await postJson(plugin.socket, '/VolumeDriver.Remove', { Name: n })).json()).toEqual({ Err: '' });
        expect(existsSync(join(root, n))).toBe(false);
      }),
      { seed: SEED, numRuns: 200 },
    );
    console.log(`security: ${accepted} accepted names (seed ${SEED}), every one inside the volume root`);
  }, 60_000);
});

// Fake credentials, shaped like AWS's, in every place the code could pick them up.
const SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYFAKESECRET1';
const ACCESS_KEY = 'AKIAFAKEFAKEFAKE0001';
const SESSION_TOKEN = 'FwoGZXIvYXdzFAKESESSIONTOKENxxxxxxxxxxxx';
const SETTING_SECRET = 'hunter2-FAKE-SETTING-SECRET';
const SECRETS = [SECRET_KEY, ACCESS_KEY, SESSION_TOKEN, SETTING_SECRET];

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return { stream, text: () => text };
}

const hits = (text: string) => SECRETS.filter((secret) => text.includes(secret));

describe('credentials never reach the logs', () => {
  it('the logger censors credential-looking keys at the top and three objects deep', async () => {
    const out = capture();
    const logger = createLogger({ level: 'trace', destination: out.stream });
    const credentials = { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY, sessionToken: SESSION_TOKEN };
    logger.info({ ...credentials, password: SETTING_SECRET }, 'top level');
    logger.info({ config: credentials }, 'one deep');
    logger.warn(
      { request: { headers: { authorization: `AWS4-HMAC-SHA256 Credential=${ACCESS_KEY}` }, credentials } },
      'two deep',
    );
    logger.error(
      { err: { $metadata: { credentials }, cause: { token: SESSION_TOKEN, secretKey: SECRET_KEY } } },
      'three deep',
    );
    logger.child({ backing: 'efs' }).debug({ settings: { apiKey: SETTING_SECRET, privateKey: SECRET_KEY } }, 'child');
    await new Promise((resolve) => setImmediate(resolve));
    expect(out.text()).toContain('[redacted]');
    expect(out.text().split('\n').filter(Boolean)).toHaveLength(5);
    expect(hits(out.text())).toEqual([]);
  });

  it('loading config with STOWAGE_EFS_* and AWS_* credentials in the environment prints none of them', async () => {
    const env = {
      AWS_ACCESS_KEY_ID: ACCESS_KEY,
      AWS_SECRET_ACCESS_KEY: SECRET_KEY,
      AWS_SESSION_TOKEN: SESSION_TOKEN,
      STOWAGE_EFS_SECRET_ACCESS_KEY: SECRET_KEY,
      STOWAGE_EFS_PASSWORD: SETTING_SECRET,
      STOWAGE_LOG_LEVEL: 'trace',
    };
    // efs is not enabled: its variables are ignored, and say nothing.
    const config = await loadConfig({ env });
    expect(hits(JSON.stringify(config))).toEqual([]);
    // Enabled, the variables become settings; a setting the driver does not know is refused without its value.
    const error = await loadConfig({ env: { ...env, STOWAGE_DRIVERS: 'efs' } })
      .then((c) =>
        composeStowage({ config: c, drivers: [secretDriver('efs')], logger: createLogger({ level: 'silent' }) }),
      )
      .catch((e: unknown) => e);
    expect(StowageError.is(error)).toBe(true);
    expect(hits((error as Error).message)).toEqual([]);
  });

  it('a driver setting marked secret is never echoed, not even when it is invalid', async () => {
    const out = capture();
    const logger = createLogger({ level: 'trace', destination: out.stream });
    const config = (value: string) => ({
      stateDir: '/nonexistent',
      logLevel: 'trace' as const,
      drivers: { vault: { settings: { password: value } } },
    });
    const refused = await composeStowage({
      config: config(`${SETTING_SECRET} with spaces`),
      drivers: [secretDriver('vault')],
      logger,
    }).catch((e: unknown) => e);
    expect(StowageError.is(refused)).toBe(true);
    expect((refused as Error).message).toContain('password');
    expect(hits((refused as Error).message)).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(hits(out.text())).toEqual([]);
  });

  it('a plugin run with fake AWS credentials in its environment logs none of them', async () => {
    if (!existsSync(CLI)) await buildCli();
    const dir = await mkdtemp(join(tmpdir(), 'stowage-secrets-'));
    const socket = join(dir, 'run', 'stowage.sock');
    const serve = await startServe(
      cliEnv({
        STOWAGE_SOCKET: socket,
        STOWAGE_STATE_DIR: join(dir, 'state'),
        STOWAGE_LOCAL_ROOT: join(dir, 'volumes'),
        STOWAGE_LOG_LEVEL: 'trace',
        AWS_ACCESS_KEY_ID: ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY: SECRET_KEY,
        AWS_SESSION_TOKEN: SESSION_TOKEN,
        STOWAGE_EFS_SECRET_ACCESS_KEY: SECRET_KEY,
      }),
    );
    try {
      await postJson(socket, '/VolumeDriver.Create', { Name: 'v1', Opts: { mode: '0700' } });
      await postJson(socket, '/VolumeDriver.Mount', { Name: 'v1', ID: 'c1' });
      await postJson(socket, '/VolumeDriver.Create', { Name: 'v2', Opts: { password: SETTING_SECRET } });
      await postJson(socket, '/VolumeDriver.Get', { Name: `../${SECRET_KEY}` });
      await postJson(socket, '/VolumeDriver.Unmount', { Name: 'v1', ID: 'c1' });
      await postJson(socket, '/VolumeDriver.Remove', { Name: 'v1' });
    } finally {
      expect(await serve.stop()).toBe(0);
      await rm(dir, { recursive: true, force: true });
    }
    const log = serve.stdout();
    expect(log).toContain('volume created');
    // The caller's own hostile input is echoed back as the caller sent it (that is no credential of ours); the
    // environment's credentials must appear nowhere.
    expect([ACCESS_KEY, SESSION_TOKEN].filter((s) => log.includes(s))).toEqual([]);
    expect(log.split('\n').filter((line) => line.includes(SECRET_KEY) && !line.includes(`../${SECRET_KEY}`))).toEqual(
      [],
    );
  }, 60_000);
});

/** A driver with one secret setting, the way a third-party driver would declare a credential. */
function secretDriver(name: string) {
  return defineDriver({
    name,
    description: 'a driver with a credential',
    settings: [
      {
        name: 'password',
        type: 'string',
        description: 'a credential',
        secret: true,
        pattern: /\S+/,
        patternHint: 'no blanks',
      },
    ],
    module: () => new ContainerModule(({ bind }) => void bind(STORAGE_PROVIDER).toConstantValue({} as never)),
  });
}
