import { existsSync } from 'node:fs';
import { lstat, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, type Stowage } from '@stowage/core';
import { OpsMetrics, type OpsServer, startOpsServer } from '@stowage/http-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadCliConfig } from '../src/cli/cli-context.js';
import { runCli } from '../src/cli/program.js';
import { composeFromConfig } from '../src/composition/compose-from-config.js';
import { capturingCliContext } from './support/config-fixtures.js';
import { cliEnv } from './support/stowage-cli.js';

const TOKEN = 'cli-api-token-5d0c-never-printed';

let dir: string;
let env: NodeJS.ProcessEnv;
let root: string;
let tokenFile: string;
let stowage: Stowage | undefined;
let server: OpsServer | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stowage-cli-api-'));
  root = join(dir, 'volumes');
  // The node the API serves; this host's own CLI runs find no plugin on the socket and open the same state.
  env = cliEnv({
    STOWAGE_STATE_DIR: join(dir, 'state'),
    STOWAGE_LOCAL_ROOT: root,
    STOWAGE_SOCKET: join(dir, 'run', 'stowage.sock'),
    STOWAGE_LOG_LEVEL: 'warn',
  });
  tokenFile = join(dir, 'token');
  await writeFile(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
});

afterEach(async () => {
  await stopNode();
  await rm(dir, { recursive: true, force: true });
});

/** A node serving its engine (the local backing) over the HTTP API, in this process, as `stowage serve --http` does. */
async function startNode(options: { token?: boolean } = {}): Promise<string> {
  const context = capturingCliContext(env, dir);
  const config = await loadCliConfig(context, {});
  const logger = createLogger({ level: 'warn', destination: context.stderr });
  stowage = await composeFromConfig(config, { logger, cwd: dir });
  await stowage.engine.start();
  server = await startOpsServer({
    listen: { host: '127.0.0.1', port: 0 },
    ...(options.token === false ? {} : { tokenFile }),
    engine: stowage.engine,
    metrics: new OpsMetrics(stowage.engine),
    logger,
  });
  return server.url;
}

async function stopNode(): Promise<void> {
  await server?.close();
  await stowage?.close();
  server = undefined;
  stowage = undefined;
}

/** One CLI run in process, in a working directory of its own (so a relative --token-file is resolved there). */
async function stowageCli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const context = capturingCliContext(env, dir);
  const code = await runCli(context, args);
  const result = { code, stdout: context.out(), stderr: context.err() };
  expect(result.stdout + result.stderr).not.toContain(TOKEN);
  return result;
}

describe('stowage volume --api', () => {
  it('creates, lists, inspects and removes volumes on the node, printing what the engine in process prints', async () => {
    const url = await startNode();
    const api = ['--api', url, '--token-file', 'token'];
    expect(await stowageCli('volume', 'create', 'v1', '--opt', 'mode=0700', ...api)).toEqual({
      code: 0,
      stdout: 'v1\n',
      stderr: '',
    });
    expect(await stowageCli('volume', 'create', '--backing', 'local', 'v2', ...api)).toMatchObject({
      code: 0,
      stdout: 'v2\n',
    });
    expect((await lstat(join(root, 'v1', '_data'))).mode & 0o777).toBe(0o700);

    const remote = {
      quiet: await stowageCli('volume', 'ls', '--quiet', ...api),
      table: await stowageCli('volume', 'ls', ...api),
      json: await stowageCli('volume', 'ls', '--format', 'json', ...api),
      inspect: await stowageCli('volume', 'inspect', 'v1', 'v2', ...api),
    };
    expect(remote.quiet).toEqual({ code: 0, stdout: 'v1\nv2\n', stderr: '' });
    expect(remote.table.stdout.split('\n')[0]).toMatch(/^VOLUME NAME\s+CREATED\s+MOUNTPOINT$/);
    const inspected = JSON.parse(remote.inspect.stdout) as { Name: string; Options: object; Status: object }[];
    expect(inspected.map((v) => v.Name)).toEqual(['v1', 'v2']);
    expect(inspected[0]).toMatchObject({
      Driver: 'stowage',
      Options: { mode: '0700' },
      Scope: 'local',
      Status: { backing: 'local' },
    });

    // The same commands on the node itself, the engine opened in process: the same output, byte for byte.
    await stopNode();
    const local = {
      quiet: await stowageCli('volume', 'ls', '--quiet'),
      table: await stowageCli('volume', 'ls'),
      json: await stowageCli('volume', 'ls', '--format', 'json'),
      inspect: await stowageCli('volume', 'inspect', 'v1', 'v2'),
    };
    expect(remote).toEqual(local);

    const url2 = await startNode();
    const api2 = ['--api', url2, '--token-file', tokenFile];
    expect(await stowageCli('volume', 'rm', 'v1', 'v2', ...api2)).toEqual({ code: 0, stdout: 'v1\nv2\n', stderr: '' });
    expect(existsSync(join(root, 'v1'))).toBe(false);
    expect(await stowageCli('volume', 'ls', '--quiet', ...api2)).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it("reports the engine's errors as the engine in process does, exiting 1", async () => {
    const url = await startNode();
    const api = ['--api', url, '--token-file', tokenFile];
    const badOption = await stowageCli('volume', 'create', 'v1', '--opt', 'colour=red', ...api);
    expect(badOption.code).toBe(1);
    expect(badOption.stderr).toMatch(/^stowage: .*colour/);
    const badName = await stowageCli('volume', 'create', '..', ...api);
    expect(badName).toMatchObject({ code: 1, stdout: '' });
    expect(badName.stderr).toMatch(/^stowage: invalid volume name "\.\."/);

    await stowageCli('volume', 'create', 'v1', ...api);
    const inspect = await stowageCli('volume', 'inspect', 'v1', 'missing', ...api);
    expect(inspect.code).toBe(1);
    expect(JSON.parse(inspect.stdout)).toHaveLength(1);
    expect(inspect.stderr).toBe('stowage: volume "missing" not found\n');
    const removed = await stowageCli('volume', 'rm', 'missing', 'v1', ...api);
    expect(removed).toEqual({ code: 1, stdout: 'v1\n', stderr: 'stowage: volume "missing" not found\n' });

    // The same failures on the node itself say the same thing.
    await stopNode();
    expect((await stowageCli('volume', 'create', 'v1', '--opt', 'colour=red')).stderr).toBe(badOption.stderr);
    expect((await stowageCli('volume', 'create', '..')).stderr).toBe(badName.stderr);
  });

  it('refuses without the token, with a wrong one, and names an unreadable token file, never printing a token', async () => {
    const url = await startNode();
    const without = await stowageCli('volume', 'ls', '--api', url);
    expect(without.code).toBe(1);
    expect(without.stderr).toBe(
      `stowage: the Stowage API at ${url} refused GET /v1/volumes (HTTP 401): ` +
        'a bearer token is required: Authorization: Bearer <token>\n',
    );
    const wrongFile = join(dir, 'wrong');
    await writeFile(wrongFile, `${TOKEN}-old\n`);
    const wrong = await stowageCli('volume', 'create', 'v1', '--api', url, '--token-file', wrongFile);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/refused POST \/v1\/volumes \(HTTP 401\)/);
    expect(wrong.stdout + wrong.stderr).not.toContain(`${TOKEN}-old`);
    expect(existsSync(join(root, 'v1'))).toBe(false);

    const missing = await stowageCli('volume', 'ls', '--api', url, '--token-file', join(dir, 'absent'));
    expect(missing).toEqual({
      code: 1,
      stdout: '',
      stderr: `stowage: --token-file: cannot read ${join(dir, 'absent')}: ENOENT\n`,
    });
    await writeFile(join(dir, 'empty'), '\n');
    const empty = await stowageCli('volume', 'ls', '--api', url, '--token-file', 'empty');
    expect(empty.stderr).toBe(`stowage: --token-file: ${join(dir, 'empty')} is empty; put the token in it\n`);
  });

  it("lists the node's backings with backings --api, as the node itself lists them", async () => {
    const url = await startNode();
    const remote = {
      table: await stowageCli('backings', '--api', url, '--token-file', tokenFile),
      json: await stowageCli('backings', '--format', 'json', '--api', url, '--token-file', tokenFile),
    };
    expect(remote.table.code).toBe(0);
    expect(JSON.parse(remote.json.stdout)).toEqual([{ name: 'local', aliases: [], scope: 'local', isDefault: true }]);
    await stopNode();
    expect(remote).toEqual({
      table: await stowageCli('backings'),
      json: await stowageCli('backings', '--format', 'json'),
    });
    const refused = await stowageCli('backings', '--api', url);
    expect(refused.code).toBe(1);
  });

  it('works without a token against a loopback node that has none', async () => {
    const url = await startNode({ token: false });
    expect(await stowageCli('volume', 'create', 'v1', '--api', `${url}/`)).toEqual({
      code: 0,
      stdout: 'v1\n',
      stderr: '',
    });
    expect((await stowageCli('volume', 'ls', '-q', '--api', url)).stdout).toBe('v1\n');
  });

  it('says plainly when no node answers, exiting 1', async () => {
    const url = await startNode({ token: false });
    await stopNode();
    const result = await stowageCli('volume', 'ls', '--api', url);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `stowage: cannot reach the Stowage API at ${url}: ECONNREFUSED\n`,
    });
  });

  it('refuses a wrong --api command line with exit 2, reaching nothing', async () => {
    const cases: [string[], RegExp][] = [
      [['volume', 'ls', '--api', 'ftp://127.0.0.1:1'], /--api: API URL must be http:\/\/ or https:\/\/, got ftp:\/\//],
      [['volume', 'ls', '--api', 'not a url'], /--api: API URL "not a url" is not a URL/],
      [['volume', 'ls', '--api', `http://admin:${TOKEN}@127.0.0.1:1`], /--api: API URL must not carry credentials/],
      [['volume', 'ls', '--api', 'http://127.0.0.1:1/?x=1'], /--api: API URL must have no query or fragment/],
      [['volume', 'ls', '--token-file', tokenFile], /Implications failed:\s+token-file -> api/],
      [
        ['volume', 'ls', '--api', 'http://127.0.0.1:1', '--socket', '/tmp/x.sock'],
        /Arguments api and socket are mutually exclusive/,
      ],
      [
        ['volume', 'ls', '--api', 'http://127.0.0.1:1', '--state-dir', dir],
        /Arguments api and state-dir are mutually exclusive/,
      ],
      [['volume', 'ls', '--api'], /Not enough arguments following: api/],
    ];
    for (const [args, message] of cases) {
      const result = await stowageCli(...args);
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr).toMatch(message);
    }
  });
});
