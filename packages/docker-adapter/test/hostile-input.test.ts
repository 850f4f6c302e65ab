import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { StowageError, SystemHostOperations } from '@stowage/core';
import { readMountTable } from '@stowage/core/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../src/cli/cli-context.js';
import { parseOpts } from '../src/cli/parse-opts.js';
import { runCli } from '../src/cli/program.js';
import { MAX_REQUEST_BODY_BYTES } from '../src/protocol/plugin-app.js';
import { postJson, rawPost, type RawAnswer } from './support/raw-post.js';
import { startRunningPlugin, type RunningPlugin } from './support/running-plugin.js';
import { buildCli, CLI, cliEnv, runStowage } from './support/stowage-cli.js';
import { BLANK_PREFIX } from '@stowage/driver-local';

// One seed for the whole file, printed, so a failing run is replayed with STOWAGE_FC_SEED=<seed>.
const SEED = process.env.STOWAGE_FC_SEED !== undefined ? Number(process.env.STOWAGE_FC_SEED) : Date.now() % 2 ** 31;

/** Every case tried and every invariant it broke, over the whole file. */
const tally = { cases: 0, failures: [] as string[] };

// ---------------------------------------------------------------------------------------------------------------
// No shell, ever: every child_process entry point is recorded for the whole file. The plugin's modules import
// child_process as ESM; syncBuiltinESMExports makes their bindings see the spies placed on the builtin module.

interface ProcessCall {
  readonly fn: string;
  readonly args: readonly unknown[];
}
const processCalls: ProcessCall[] = [];
const childProcess = createRequire(import.meta.url)('node:child_process') as Record<
  string,
  (...args: unknown[]) => unknown
>;
const SPIED = ['exec', 'execSync', 'execFile', 'execFileSync', 'spawn', 'spawnSync', 'fork'] as const;

function installProcessSpies(): void {
  for (const fn of SPIED) {
    const original = childProcess[fn] as (...args: unknown[]) => unknown;
    vi.spyOn(childProcess, fn).mockImplementation((...args: unknown[]) => {
      processCalls.push({ fn, args });
      return original(...args);
    });
  }
  syncBuiltinESMExports();
}

/** What is wrong with the recorded calls: a shell asked for, or a command line instead of an argument array. */
function shellProblems(): string[] {
  const problems: string[] = [];
  for (const { fn, args } of processCalls) {
    if (fn === 'exec' || fn === 'execSync') {
      problems.push(`${fn} ran a command line through a shell: ${JSON.stringify(args[0])}`);
      continue;
    }
    const options = args.find((a, i) => i > 0 && typeof a === 'object' && a !== null && !Array.isArray(a)) as
      { shell?: unknown } | undefined;
    if (options?.shell) problems.push(`${fn}(${JSON.stringify(args[0])}) asked for a shell`);
    if (fn !== 'fork' && args[1] !== undefined && !Array.isArray(args[1]) && typeof args[1] !== 'object') {
      problems.push(`${fn}(${JSON.stringify(args[0])}) got no argument array`);
    }
  }
  return problems;
}

beforeAll(() => {
  console.log(`hostile input: fast-check seed ${SEED} (replay with STOWAGE_FC_SEED=${SEED})`);
  installProcessSpies();
});

afterAll(() => {
  vi.restoreAllMocks();
  syncBuiltinESMExports();
  console.log(`hostile input: ${tally.cases} cases, ${tally.failures.length} failures`);
  for (const failure of tally.failures.slice(0, 20)) console.log(`  ${failure}`);
});

/** Runs `property` `numRuns` times; each run returns the invariants it broke, all of which are recorded. */
async function runCases<T>(
  label: string,
  arbitrary: fc.Arbitrary<T>,
  numRuns: number,
  check: (value: T) => Promise<string[]>,
) {
  const failures: string[] = [];
  await fc.assert(
    fc.asyncProperty(arbitrary, async (value) => {
      tally.cases += 1;
      const problems = await check(value);
      for (const problem of problems)
        failures.push(`${label}: ${problem} (case ${JSON.stringify(value)?.slice(0, 300)})`);
      return true;
    }),
    { seed: SEED, numRuns },
  );
  tally.failures.push(...failures);
  expect(failures.slice(0, 10)).toEqual([]);
}

// ---------------------------------------------------------------------------------------------------------------
// What is invalid, said independently of the code under test.

/** Docker's rule for volume names, as Stowage documents it. */
function isValidName(name: unknown): boolean {
  return typeof name === 'string' && name.length <= 200 && /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name);
}

const ENDPOINTS = [
  '/Plugin.Activate',
  '/VolumeDriver.Create',
  '/VolumeDriver.Remove',
  '/VolumeDriver.Mount',
  '/VolumeDriver.Unmount',
  '/VolumeDriver.Path',
  '/VolumeDriver.Get',
  '/VolumeDriver.List',
  '/VolumeDriver.Capabilities',
] as const;
const NAME_ENDPOINTS = ENDPOINTS.filter(
  (e) => !['/Plugin.Activate', '/VolumeDriver.List', '/VolumeDriver.Capabilities'].includes(e),
);
/** Their successful answers carry no Err in the protocol (Docker's types have none). */
const NO_ERR_ON_SUCCESS = new Set<string>(['/Plugin.Activate', '/VolumeDriver.Capabilities']);

const workDir = await mkdtemp(join(tmpdir(), 'stowage-hostile-'));
/** Created by any injection that reaches a shell; it must never exist. */
const CANARY = join(workDir, 'canary');

const INJECTIONS = [
  '1;rm -rf /',
  `1; touch ${CANARY}`,
  `$(touch ${CANARY})`,
  `\`touch ${CANARY}\``,
  `1 && touch ${CANARY}`,
  `1 | touch ${CANARY}`,
  '1\nrm -rf /',
  '0755\n',
  '1\r\n',
  '${IFS}rm${IFS}-rf${IFS}/',
  "1' || 'x",
  '../../etc/shadow',
  '-o remount,rw',
  '0755 ',
  '１２３',
  '\u0000',
];
const injection = fc.oneof(
  fc.constantFrom(...INJECTIONS),
  fc
    .tuple(
      fc.constantFrom('1', '0755', 'local', ''),
      fc.constantFrom(';', '|', '&', '$(', '`', '\n', '\t', ' '),
      fc.string({ maxLength: 20 }),
    )
    .map(([a, b, c]) => a + b + c),
);

const hostileName = fc
  .oneof(
    fc.constantFrom(
      '',
      '.',
      '..',
      '../x',
      '../../etc/passwd',
      'a/../../b',
      '/etc',
      '/',
      'a/b',
      '..\\..\\x',
      '.hidden',
      '%2e%2e%2f',
      'v1/..',
      './v1',
      '~root',
      '-rf',
      ' v1',
      'v1 ',
      'v\u043el', // a Cyrillic о
      'v1\u202Eexe',
      'ｖ１',
      'é',
      '💥',
      'v1\u0000',
      'v1\n',
    ),
    injection,
    fc
      .tuple(
        fc.stringMatching(/^[a-z0-9]{0,8}$/),
        fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)),
        fc.stringMatching(/^[a-z0-9]{0,8}$/),
      )
      .map(([a, c, b]) => a + c + b),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }),
    fc.integer({ min: 201, max: 5_000 }).map((n) => 'a'.repeat(n)),
    fc.integer({ min: 201, max: 300 }).map((n) => 'é'.repeat(n)),
  )
  .filter((name) => !isValidName(name));

const wrongType = fc.jsonValue({ maxDepth: 2 }).filter((v) => typeof v !== 'string');
const freshName = fc.integer({ min: 0, max: 1_000_000 }).map((n) => `fresh-${n}`);
const hostileId = fc.oneof(
  fc.constant(''),
  fc.integer({ min: 257, max: 2_000 }).map((n) => 'i'.repeat(n)),
  fc
    .tuple(
      fc.string({ maxLength: 10 }),
      fc.constantFrom('\n', '\r', '\t', '\u0000', '\u001b', '\u007f'),
      fc.string({ maxLength: 10 }),
    )
    .map(([a, c, b]) => a + c + b),
);
const extraKeys = fc.dictionary(
  fc.oneof(
    fc.constantFrom('__proto__', 'constructor', 'prototype', 'name', 'NAME', 'Err', 'Volume'),
    fc.string({ maxLength: 12 }),
  ),
  fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constant({ polluted: 'yes' }),
    fc.constant({ prototype: { polluted: 'yes' } }),
  ),
  { maxKeys: 4 },
);

/** A request to send; every one of them must be refused. */
interface Case {
  readonly path: string;
  readonly body?: string | Buffer;
  readonly method?: string;
}

/** A volume mounted for one caller before the hostile requests start. */
const held = { name: 'held', id: 'holder' };

// ---------------------------------------------------------------------------------------------------------------

describe('hostile requests on the plugin socket', () => {
  let plugin: RunningPlugin;

  beforeAll(async () => {
    plugin = await startRunningPlugin();
    // A volume that exists and is held, so hostile Mount/Unmount/Remove calls have something to damage.
    expect((await postJson(plugin.socket, '/VolumeDriver.Create', { Name: held.name })).json()).toEqual({ Err: '' });
    expect((await postJson(plugin.socket, '/VolumeDriver.Mount', { Name: held.name, ID: held.id })).status).toBe(200);
  });
  afterAll(async () => {
    await plugin?.close();
    await rm(workDir, { recursive: true, force: true });
  });

  /** The volume root's entries and the persisted mount table: what a refused request must leave as it was. */
  async function snapshot(): Promise<string> {
    // The blanks the local backing keeps for its next creates come and go in the background: not the requests' doing.
    const entries = (await readdir(plugin.root, { recursive: true }))
      .filter((entry) => !entry.startsWith(BLANK_PREFIX))
      .sort();
    const table = await readMountTable(plugin.stateDir);
    return JSON.stringify({ entries, table });
  }

  /** Sends one hostile request and checks every invariant; returns what was broken. */
  async function refused(request: Case): Promise<string[]> {
    const before = await snapshot();
    const problems: string[] = [];
    let answer: RawAnswer | undefined;
    try {
      answer = await rawPost(
        plugin.socket,
        request.path,
        request.body,
        request.method ? { method: request.method } : {},
      );
    } catch (error) {
      problems.push(`no answer: ${(error as Error).message}`);
    }
    if (answer) problems.push(...errProblems(answer, request.path, true));
    if ((await snapshot()) !== before) problems.push('the volume root or the mount table changed');
    problems.push(...(await aliveProblems()));
    return problems;
  }

  function errProblems(answer: RawAnswer, path: string, mustFail: boolean): string[] {
    let body: unknown;
    try {
      body = answer.json();
    } catch {
      return [`status ${answer.status} with a body that is not JSON: ${JSON.stringify(answer.text.slice(0, 200))}`];
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      return [`body is not a JSON object: ${answer.text.slice(0, 200)}`];
    const err = (body as { Err?: unknown }).Err;
    if (mustFail) {
      if (typeof err !== 'string' || err === '')
        return [`status ${answer.status} without a non-empty Err: ${answer.text.slice(0, 200)}`];
      return [];
    }
    if (answer.status === 200 && NO_ERR_ON_SUCCESS.has(path)) return [];
    return typeof err === 'string'
      ? []
      : [`status ${answer.status} without a string Err: ${answer.text.slice(0, 200)}`];
  }

  async function aliveProblems(): Promise<string[]> {
    const problems: string[] = [];
    if (existsSync(CANARY)) problems.push('an injected command ran (the canary file exists)');
    if (({} as Record<string, unknown>).polluted !== undefined) problems.push('Object.prototype was polluted');
    try {
      const answer = await postJson(plugin.socket, '/VolumeDriver.Capabilities', null);
      if (answer.status !== 200) problems.push(`the plugin stopped answering Capabilities (status ${answer.status})`);
    } catch (error) {
      problems.push(`the plugin stopped answering: ${(error as Error).message}`);
    }
    return problems;
  }

  it('refuses malformed and truncated JSON on every endpoint', async () => {
    const plausible = fc.record({
      Name: fc.string({ maxLength: 20 }),
      ID: fc.string({ maxLength: 10 }),
      Opts: fc.dictionary(fc.string(), fc.string()),
    });
    const body = fc.oneof(
      fc.tuple(plausible, fc.nat()).map(([value, cut]) => {
        const text = JSON.stringify(value);
        return text.slice(0, 1 + (cut % (text.length - 1)));
      }),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 200 }),
      fc.uint8Array({ minLength: 1, maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
      fc.constantFrom(
        '{',
        '}',
        '[',
        '{"Name":',
        '{"Name":"v1",}',
        "{'Name':'v1'}",
        '{"Name":"v1"}}',
        'NaN',
        'undefined',
        '\uFEFF',
        '{"Name":"\\u12"}',
      ),
    );
    // What body-parser would parse (it decodes UTF-8 and drops a BOM) must not be JSON, or the case is not malformed.
    const malformed = body.filter((b) => {
      const text = new TextDecoder().decode(typeof b === 'string' ? Buffer.from(b) : b);
      if (text.length === 0) return false;
      try {
        JSON.parse(text);
        return false;
      } catch {
        return true;
      }
    });
    await runCases('malformed JSON', fc.tuple(fc.constantFrom(...ENDPOINTS), malformed), 500, ([path, b]) =>
      refused({ path, body: b }),
    );
  }, 60_000);

  it('refuses a wrong type for every field and for the body itself', async () => {
    const request = fc.oneof(
      fc
        .tuple(
          fc.constantFrom(...NAME_ENDPOINTS),
          wrongType.filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)),
        )
        .map(([path, body]) => ({ path, body })),
      fc
        .tuple(fc.constantFrom(...NAME_ENDPOINTS), wrongType, freshName)
        .map(([path, Name, ID]) => ({ path, body: { Name, ID, Opts: null } })),
      fc
        .tuple(fc.constantFrom('/VolumeDriver.Mount', '/VolumeDriver.Unmount'), wrongType)
        .map(([path, ID]) => ({ path, body: { Name: held.name, ID } })),
      fc
        .tuple(
          freshName,
          wrongType.filter((v) => v !== null),
        )
        .map(([Name, Opts]) => ({
          path: '/VolumeDriver.Create',
          body: { Name, Opts: typeof Opts === 'object' && !Array.isArray(Opts) ? { backing: Opts } : Opts },
        })),
      fc
        .tuple(
          freshName,
          fc.constantFrom('backing', 'mode', 'uid', 'gid', 'size'),
          wrongType.filter((v) => v !== null),
        )
        .map(([Name, key, value]) => ({
          path: '/VolumeDriver.Create',
          body: { Name, Opts: { [key]: value } },
        })),
    );
    await runCases('wrong types', request, 700, ({ path, body }) => refused({ path, body: JSON.stringify(body) }));
  }, 60_000);

  it(`refuses bodies over ${MAX_REQUEST_BODY_BYTES} bytes on every endpoint`, async () => {
    const huge = fc.tuple(
      fc.constantFrom(...ENDPOINTS),
      fc.integer({ min: MAX_REQUEST_BODY_BYTES + 1, max: 1_000_000 }),
      fc.constantFrom('Name', 'ID', 'junk', 'raw'),
    );
    await runCases('huge bodies', huge, 60, ([path, size, field]) => {
      const body =
        field === 'raw' ? 'x'.repeat(size) : JSON.stringify({ Name: 'v1', ID: 'i', [field]: 'a'.repeat(size) });
      return refused({ path, body });
    });
  }, 60_000);

  it('refuses names with traversal, control characters, unicode or too long, on every endpoint that takes one', async () => {
    const request = fc.tuple(
      fc.constantFrom(...NAME_ENDPOINTS),
      hostileName,
      fc.option(fc.constantFrom(held.id, 'other'), { nil: undefined }),
    );
    await runCases('hostile names', request, 900, ([path, Name, id]) =>
      refused({ path, body: JSON.stringify({ Name, ID: id ?? 'some-id', Opts: null }) }),
    );
  }, 60_000);

  it('refuses mount IDs that are empty, too long or carry control characters, leaving the holder alone', async () => {
    const request = fc.tuple(fc.constantFrom('/VolumeDriver.Mount', '/VolumeDriver.Unmount'), hostileId);
    await runCases('hostile IDs', request, 200, ([path, ID]) =>
      refused({ path, body: JSON.stringify({ Name: held.name, ID }) }),
    );
    // The holder's mount survived every one of them.
    const volume = (await postJson(plugin.socket, '/VolumeDriver.Get', { Name: held.name })).json<{
      Volume: { Status: { mounts: number } };
    }>();
    expect(volume.Volume.Status.mounts).toBe(1);
  }, 60_000);

  it('refuses options with injection attempts, unknown options and unknown backings, creating nothing', async () => {
    const opts = fc.tuple(
      fc.oneof(
        fc.constantFrom(
          'size',
          'mode',
          'uid',
          'gid',
          'backing',
          'o',
          'type',
          'device',
          '-o',
          '$(id)',
          'mode;rm',
          '__proto__',
        ),
        fc.string({ minLength: 1, maxLength: 10 }),
      ),
      injection.filter((v) => v !== ''),
      fc.dictionary(fc.constantFrom('mode', 'uid', 'gid'), fc.constantFrom('0755', '1000', '0')),
    );
    const request = fc.tuple(freshName, opts, extraKeys);
    await runCases('injected options', request, 500, ([Name, [key, value, valid], extra]) =>
      refused({
        path: '/VolumeDriver.Create',
        body: JSON.stringify({ ...extra, Name, Opts: { ...valid, [key]: value } }),
      }),
    );
  }, 60_000);

  it('ignores unknown fields but still refuses what is wrong beside them, and is never polluted by __proto__', async () => {
    const request = fc.oneof(
      fc
        .tuple(fc.constantFrom(...NAME_ENDPOINTS), hostileName, extraKeys)
        .map(([path, Name, extra]) => ({ path, body: { ...extra, Name, ID: 'x' } })),
      // A valid name that does not exist: Get, Remove, Mount and Unmount must say so, and create nothing. (Path answers
      // an empty Mountpoint for an unknown volume, by design: see plugin-endpoints.test.ts.)
      fc
        .tuple(
          fc.constantFrom('/VolumeDriver.Get', '/VolumeDriver.Remove', '/VolumeDriver.Unmount', '/VolumeDriver.Mount'),
          freshName,
          extraKeys,
        )
        .map(([path, Name, extra]) => ({ path, body: { ...extra, Name, ID: 'x' } })),
      fc
        .tuple(freshName, extraKeys)
        .map(([Name, extra]) => ({ path: '/VolumeDriver.Create', body: { Name, Opts: { ...extra, size: '1' } } })),
    );
    await runCases('unknown fields', request, 400, ({ path, body }) => refused({ path, body: JSON.stringify(body) }));
  }, 60_000);

  it('answers unknown endpoints and wrong methods with a JSON Err', async () => {
    const request = fc.oneof(
      fc
        .tuple(fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'), fc.constantFrom(...ENDPOINTS))
        .map(([method, path]) => ({ method, path })),
      fc
        .tuple(
          fc.constantFrom('/', '/VolumeDriver.', '/Plugin.', '/VolumeDriver.Create/', '/../'),
          fc.string({ maxLength: 40 }),
        )
        .map(([prefix, rest]) => ({ method: 'POST', path: prefix + encodeURIComponent(rest) }))
        .filter(({ path }) => !(ENDPOINTS as readonly string[]).includes(path)),
    );
    await runCases('endpoints and methods', request, 300, ({ method, path }) =>
      refused({ method, path, body: JSON.stringify({ Name: 'v1' }) }),
    );
  }, 60_000);

  it('answers requests that are not HTTP with a JSON Err, and survives bodies cut short', async () => {
    const garbage = fc
      .uint8Array({ maxLength: 200 })
      .map((bytes) => Buffer.concat([Buffer.from([1]), Buffer.from(bytes), Buffer.from('\r\n\r\n')]));
    const truncated = fc
      .tuple(fc.constantFrom(...ENDPOINTS), fc.string({ maxLength: 40 }), fc.integer({ min: 1, max: 1_000 }))
      .map(([path, body, missing]) =>
        Buffer.from(
          `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${Buffer.byteLength(body) + missing}\r\n\r\n${body}`,
        ),
      );
    await runCases(
      'raw connections',
      fc.oneof(
        garbage.map((b) => ({ kind: 'garbage', b })),
        truncated.map((b) => ({ kind: 'truncated', b })),
      ),
      150,
      async ({ kind, b }) => {
        const before = await snapshot();
        const text = await rawExchange(plugin.socket, b);
        const problems: string[] = [];
        if (kind === 'garbage') {
          const body = text.slice(text.indexOf('\r\n\r\n') + 4);
          try {
            const err = (JSON.parse(body) as { Err?: unknown }).Err;
            if (typeof err !== 'string' || err === '') problems.push(`no Err in ${JSON.stringify(text.slice(0, 200))}`);
          } catch {
            problems.push(`answer without a JSON body: ${JSON.stringify(text.slice(0, 200))}`);
          }
        }
        if ((await snapshot()) !== before) problems.push('the volume root or the mount table changed');
        return [...problems, ...(await aliveProblems())];
      },
    );
  }, 60_000);

  it('ran no command at all, and none through a shell', () => {
    expect(shellProblems()).toEqual([]);
  });
});

/** Writes `bytes` on a fresh connection, half-closes it, and resolves with whatever came back before the close. */
function rawExchange(socket: string, bytes: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const connection = connect({ path: socket });
    const timer = setTimeout(() => connection.destroy(), 3_000);
    connection.on('data', (chunk: Buffer) => chunks.push(chunk));
    connection.on('error', () => undefined);
    connection.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    connection.end(bytes);
  });
}

// ---------------------------------------------------------------------------------------------------------------

describe('host commands get their arguments as arrays, never through a shell', () => {
  const STUBS = ['mount', 'mkfs.ext4', 'blkid'];
  let dir: string;
  let log: string;
  const savedPath = process.env.PATH;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stowage-argv-'));
    log = join(dir, 'argv');
    await mkdir(join(dir, 'bin'));
    for (const tool of STUBS) {
      // Records its arguments NUL-separated, exactly as the kernel handed them over; blkid reports an ext4 device.
      const script = `#!/bin/sh\nfor a in "$@"; do printf '%s\\0' "$a"; done > '${log}'\n${tool === 'blkid' ? 'echo TYPE=ext4\n' : ''}`;
      await writeFile(join(dir, 'bin', tool), script);
      await chmod(join(dir, 'bin', tool), 0o755);
    }
    process.env.PATH = `${join(dir, 'bin')}:${savedPath ?? ''}`;
  });
  afterAll(async () => {
    process.env.PATH = savedPath;
    await rm(dir, { recursive: true, force: true });
  });

  async function argv(): Promise<string[] | undefined> {
    const text = await readFile(log, 'utf8').catch(() => undefined);
    await rm(log, { force: true });
    return text?.split('\0').slice(0, -1);
  }

  const operand = fc
    .oneof(
      injection,
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
    )
    .filter((s) => !s.includes('\0'));

  it('passes hostile operands to mount, mkfs and blkid verbatim', async () => {
    const host = new SystemHostOperations();
    const target = join(dir, 'target');
    const before = processCalls.length;
    await runCases(
      'host argv',
      fc.tuple(operand, operand, fc.stringMatching(/^[a-z0-9 ;$`|&()]{1,16}$/)),
      120,
      async ([source, option, label]) => {
        const problems: string[] = [];
        const expectRun = async (what: string, run: () => Promise<unknown>, expected: string[]) => {
          try {
            await run();
          } catch (error) {
            const refusedAsOption = StowageError.is(error) && source.startsWith('-');
            if (!refusedAsOption) problems.push(`${what} failed: ${(error as Error).message}`);
            if ((await argv()) !== undefined) problems.push(`${what} ran although it was refused`);
            return;
          }
          const got = await argv();
          if (JSON.stringify(got) !== JSON.stringify(expected))
            problems.push(`${what} got ${JSON.stringify(got)}, not ${JSON.stringify(expected)}`);
        };
        await expectRun('mount', () => host.mount(source, target, { fstype: 'ext4', options: [option] }), [
          '-t',
          'ext4',
          '-o',
          option,
          source,
          target,
        ]);
        await expectRun('mkfs', () => host.mkfs(source, 'ext4', { label }), ['-F', '-q', '-L', label, source]);
        await expectRun('blkid', () => host.probeFilesystem(source), ['-p', '-o', 'export', source]);
        if (existsSync(CANARY)) problems.push('an injected command ran (the canary file exists)');
        return problems;
      },
    );
    // The spies saw these commands: the check below is not vacuous.
    expect(processCalls.length).toBeGreaterThan(before);
    expect(shellProblems()).toEqual([]);
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------------------------

describe('the CLI with hostile names and options', () => {
  let dir: string;
  let root: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stowage-hostile-cli-'));
    root = join(dir, 'volumes');
    env = cliEnv({
      STOWAGE_STATE_DIR: join(dir, 'state'),
      STOWAGE_LOCAL_ROOT: root,
      STOWAGE_SOCKET: join(dir, 'run', 'stowage.sock'),
      STOWAGE_LOG_LEVEL: 'silent',
    });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  // Less the blanks the local backing keeps for its next creates, made in the background.
  const rootEntries = async () =>
    (await readdir(root).catch(() => [] as string[])).filter((entry) => !entry.startsWith(BLANK_PREFIX));

  it('parseOpts keeps every key=value it accepts exactly, and refuses the rest as usage errors', async () => {
    const key = fc.oneof(
      fc.string({ minLength: 1, maxLength: 12 }),
      fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'size', 'mode'),
    );
    const value = fc.oneof(fc.string({ maxLength: 20 }), injection);
    const args = fc.array(
      fc.oneof(
        fc.tuple(key, value).map(([k, v]) => `${k}=${v}`),
        fc.string({ maxLength: 20 }),
      ),
      { maxLength: 6 },
    );
    await runCases('parseOpts', args, 1_000, async (values) => {
      let parsed: Record<string, string>;
      try {
        parsed = parseOpts(values);
      } catch (error) {
        return error instanceof UsageError ? [] : [`threw ${String(error)} instead of a UsageError`];
      }
      // Independently: split at the first '=', trim the key.
      const expected = new Map(values.map((v) => [v.slice(0, v.indexOf('=')).trim(), v.slice(v.indexOf('=') + 1)]));
      const got = Object.entries(parsed);
      const problems: string[] = [];
      if (got.length !== expected.size)
        problems.push(`kept ${got.length} options of ${expected.size}: ${JSON.stringify(got)}`);
      for (const [k, v] of expected)
        if (!Object.hasOwn(parsed, k) || parsed[k] !== v) problems.push(`lost or changed --opt ${JSON.stringify(k)}`);
      return problems;
    });
  }, 60_000);

  it('volume create with a hostile name or option fails with a message and creates nothing (in process)', async () => {
    const invocation = fc.oneof(
      hostileName.filter((n) => !n.startsWith('-')).map((name) => ['volume', 'create', name]),
      fc
        .tuple(
          freshName,
          fc.constantFrom('size', 'mode', 'uid', 'gid', 'backing', '__proto__'),
          injection.filter((v) => v !== '' && !v.includes('\0')),
        )
        .map(([name, key, v]) => ['volume', 'create', name, '--opt', `${key}=${v}`]),
      fc
        .tuple(
          hostileName.filter((n) => !n.startsWith('-')),
          fc.constantFrom('rm', 'inspect'),
        )
        .map(([name, cmd]) => ['volume', cmd, name]),
    );
    await runCases(
      'CLI in process',
      invocation.filter((args) => args.every((a) => !a.includes('\0'))),
      150,
      async (args) => {
        const stdout = new PassThrough();
        const stderr = new PassThrough();
        let err = '';
        stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
        stdout.resume();
        const status = await runCli({ stdout, stderr, env, cwd: dir }, args);
        const problems: string[] = [];
        if (status === 0) problems.push('exited 0');
        if (!/^stowage: \S/m.test(err)) problems.push(`no message on stderr: ${JSON.stringify(err)}`);
        if ((await rootEntries()).length > 0) problems.push(`created ${JSON.stringify(await rootEntries())}`);
        if (existsSync(CANARY)) problems.push('an injected command ran');
        return problems;
      },
    );
  }, 60_000);

  it('the built CLI refuses nasty names and options: non-zero exit, a message, nothing created', async () => {
    if (!existsSync(CLI)) await buildCli();
    const invocations = [
      ['volume', 'create', '../../etc'],
      ['volume', 'create', 'a/b'],
      ['volume', 'create', 'v\n1'],
      ['volume', 'create', 'v1;rm -rf /'],
      ['volume', 'create', `$(touch ${CANARY})`],
      ['volume', 'create', 'x'.repeat(201)],
      ['volume', 'create', 'ok1', '--opt', 'size=1;rm -rf /'],
      ['volume', 'create', 'ok2', '--opt', `mode=0755\ntouch ${CANARY}`],
      ['volume', 'create', 'ok3', '--opt', `uid=\`touch ${CANARY}\``],
      ['volume', 'create', 'ok4', '--backing', `$(touch ${CANARY})`],
      ['volume', 'create', 'ok5', '--opt', '__proto__=x'],
      ['volume', 'rm', '..'],
    ];
    for (const args of invocations) {
      const result = await runStowage(args, env);
      tally.cases += 1;
      const where = JSON.stringify(args);
      expect(result.code, where).not.toBe(0);
      expect(result.stderr, where).toMatch(/^stowage: \S/m);
      expect(await rootEntries(), where).toEqual([]);
    }
    expect(existsSync(CANARY)).toBe(false);
  }, 60_000);
});
