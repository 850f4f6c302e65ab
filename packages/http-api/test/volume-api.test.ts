import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, validateVolumeName, VolumeEngine, VolumeEvents } from '@stowage/core';
import { FakeBackend, FakeBackendProvider } from '@stowage/testkit/fake-backend';
import { capturingLogger } from '@stowage/testkit/logging';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OpsMetrics } from '../src/ops-metrics.js';
import { startOpsServer, type OpsServer } from '../src/ops-server.js';
import { buildOpenApiDocument } from '../src/v1/openapi-document.js';
import { MAX_API_BODY_BYTES } from '../src/v1/volume-api-router.js';
import { OpenApiConformance } from './support/openapi-conformance.js';
import { type RawAnswer, rawRequest } from './support/raw-request.js';

const TOKEN = 'v1-token-9b2e-never-logged';

class NamedProvider extends FakeBackendProvider {
  constructor(
    backend: FakeBackend,
    override readonly name: string,
  ) {
    super(backend);
  }
}

let dir: string;
let backend: FakeBackend;
let otherBackend: FakeBackend;
let engine: VolumeEngine;
let log: ReturnType<typeof capturingLogger>;
let conformance: OpenApiConformance;
let events: VolumeEvents;
const servers: OpsServer[] = [];

beforeAll(async () => {
  conformance = await OpenApiConformance.of(buildOpenApiDocument('0.0.0-test'));
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stowage-v1-'));
  backend = new FakeBackend();
  otherBackend = new FakeBackend();
  log = capturingLogger();
  events = new VolumeEvents({ logger: createLogger({ level: 'silent' }) });
  engine = new VolumeEngine(
    [new NamedProvider(backend, 'fake'), new NamedProvider(otherBackend, 'other')],
    {} as never,
    log.logger,
    { stateDir: join(dir, 'state') },
    events,
  );
  await engine.start();
});

afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
  await engine.stop();
  await rm(dir, { recursive: true, force: true });
});

async function serve(options: { tokenFile?: string; engine?: VolumeEngine } = {}): Promise<OpsServer> {
  const served = options.engine ?? engine;
  const server = await startOpsServer({
    listen: { host: '127.0.0.1', port: 0 },
    tokenFile: options.tokenFile,
    engine: served,
    metrics: new OpsMetrics(served),
    logger: log.logger,
    events,
  });
  servers.push(server);
  return server;
}

interface Call {
  readonly body?: unknown;
  /** Sent as is instead of `body` as JSON. */
  readonly raw?: string | Buffer;
  readonly headers?: Record<string, string>;
  /** The path to send, when it is not `template` with `{name}` replaced by `name` (hostile paths). */
  readonly path?: string;
  readonly name?: string;
}

interface Answer extends RawAnswer {
  json(): unknown;
}

/** One request; its answer is checked against the OpenAPI document for `template`, `method` and its status. */
async function call(server: OpsServer, method: string, template: string, request: Call = {}): Promise<Answer> {
  const path = request.path ?? template.replace('{name}', request.name ?? '');
  const body = request.raw ?? (request.body === undefined ? undefined : JSON.stringify(request.body));
  const headers = {
    ...(request.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
    ...request.headers,
  };
  const answer = await rawRequest(server.url, method, path, { headers, body });
  conformance.check(template, method, answer);
  return { ...answer, json: () => JSON.parse(answer.text) as unknown };
}

const bearer = { Authorization: `Bearer ${TOKEN}` };

/** Everything the API could have changed: the backends' volumes and mounts and the engine's holds. */
function state(): string {
  const of = (b: FakeBackend) => ({
    volumes: [...b.volumes].map(([name, volume]) => [name, volume.options]),
    mounted: [...b.mounted],
    changes: b.calls.filter((c) => c === 'create' || c === 'remove' || c === 'mount' || c === 'unmount'),
  });
  return JSON.stringify({ fake: of(backend), other: of(otherBackend), holds: engine.holds() });
}

describe('the OpenAPI document', () => {
  it('is served at /v1/openapi.json, passes the validator, and is the one the tests check against', async () => {
    const server = await serve();
    const answer = await call(server, 'GET', '/v1/openapi.json');
    expect(answer.status).toBe(200);
    const served = answer.json() as { openapi: string; paths: Record<string, object> };
    await OpenApiConformance.of(served);
    expect(served.openapi).toBe('3.1.0');
    expect({ ...served, info: undefined }).toEqual({ ...conformance.document, info: undefined });
    expect(Object.keys(served.paths).sort()).toEqual([
      '/healthz',
      '/metrics',
      '/readyz',
      '/v1/backings',
      '/v1/events',
      '/v1/openapi.json',
      '/v1/volumes',
      '/v1/volumes/{name}',
      '/v1/volumes/{name}/mount',
      '/v1/volumes/{name}/unmount',
    ]);
  });

  it('documents the volume name as the engine checks it', () => {
    const schema = (
      conformance.document.components as { schemas: Record<string, { pattern: string; maxLength: number }> }
    ).schemas.VolumeName as { pattern: string; maxLength: number };
    const pattern = new RegExp(schema.pattern);
    const names = [
      'db1',
      'a',
      'A.b_c-d',
      '9',
      '.',
      '..',
      '.hidden',
      '-x',
      '_x',
      'a/b',
      'a b',
      'é',
      'a\u0000',
      'x'.repeat(200),
      'x'.repeat(201),
      '',
    ];
    for (const name of names) {
      let engineAccepts = true;
      try {
        validateVolumeName(name);
      } catch {
        engineAccepts = false;
      }
      expect({ name, documented: pattern.test(name) && name.length <= schema.maxLength }).toEqual({
        name,
        documented: engineAccepts,
      });
    }
  });
});

describe('the volume lifecycle', () => {
  it('creates, lists, gets, mounts, unmounts and removes a volume, each answer as documented', async () => {
    const server = await serve();
    const created = await call(server, 'POST', '/v1/volumes', { body: { name: 'db1', options: { size: '3' } } });
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe('/v1/volumes/db1');
    expect(created.json()).toMatchObject({ name: 'db1', backing: 'fake', scope: 'global', options: { size: '3' } });
    expect(backend.volumes.get('db1')?.options).toEqual({ size: '3' });

    const again = await call(server, 'POST', '/v1/volumes', { body: { name: 'db1', options: { size: '3' } } });
    expect(again.status).toBe(201);
    expect(again.json()).toEqual(created.json());

    await call(server, 'POST', '/v1/volumes', { body: { name: 'cache', options: { backing: 'other' } } });
    const list = await call(server, 'GET', '/v1/volumes');
    expect(list.status).toBe(200);
    expect(
      (list.json() as { volumes: { name: string; backing: string }[] }).volumes.map((v) => [v.name, v.backing]),
    ).toEqual([
      ['cache', 'other'],
      ['db1', 'fake'],
    ]);

    const one = await call(server, 'GET', '/v1/volumes/{name}', { name: 'db1' });
    expect(one.status).toBe(200);
    expect(one.json()).toMatchObject({ name: 'db1', status: { backing: 'fake', mounts: 0 } });
    expect((one.json() as { createdAt: string }).createdAt).toBe(backend.volumes.get('db1')?.createdAt.toISOString());

    const mounted = await call(server, 'POST', '/v1/volumes/{name}/mount', { name: 'db1', body: { caller: 'task-1' } });
    expect(mounted.status).toBe(200);
    expect(mounted.json()).toEqual({ name: 'db1', mountpoint: '/fake/db1' });
    await call(server, 'POST', '/v1/volumes/{name}/mount', { name: 'db1', body: { caller: 'task-2' } });
    expect(backend.mounted.has('db1')).toBe(true);
    expect(engine.holds().map((h) => [h.name, h.callers.map((c) => c.id).sort()])).toEqual([
      ['db1', ['task-1', 'task-2']],
    ]);
    const inspected = await call(server, 'GET', '/v1/volumes/{name}', { name: 'db1' });
    expect(inspected.json()).toMatchObject({ mountpoint: '/fake/db1', status: { mounts: 2 } });

    const inUse = await call(server, 'DELETE', '/v1/volumes/{name}', { name: 'db1' });
    expect(inUse.status).toBe(409);
    expect(inUse.json()).toEqual({
      error: 'volume "db1" is in use on this node (2 mounts); stop the containers using it, then remove it',
      kind: 'InUse',
    });

    const unmounted = await call(server, 'POST', '/v1/volumes/{name}/unmount', {
      name: 'db1',
      body: { caller: 'task-1' },
    });
    expect(unmounted.status).toBe(204);
    expect(backend.mounted.has('db1')).toBe(true);
    await call(server, 'POST', '/v1/volumes/{name}/unmount', { name: 'db1', body: { caller: 'task-2' } });
    expect(backend.mounted.has('db1')).toBe(false);

    const removed = await call(server, 'DELETE', '/v1/volumes/{name}', { name: 'db1' });
    expect(removed.status).toBe(204);
    expect(backend.volumes.has('db1')).toBe(false);
    const gone = await call(server, 'GET', '/v1/volumes/{name}', { name: 'db1' });
    expect(gone.status).toBe(404);
    expect(gone.json()).toEqual({ error: 'volume "db1" not found', kind: 'NotFound' });
    const removedAgain = await call(server, 'DELETE', '/v1/volumes/{name}', { name: 'db1' });
    expect(removedAgain.status).toBe(404);
    const mountGone = await call(server, 'POST', '/v1/volumes/{name}/mount', { name: 'db1', body: { caller: 't' } });
    expect(mountGone.status).toBe(404);
    expect(mountGone.json()).toMatchObject({ kind: 'NotFound' });
  });

  it("answers the engine's option and conflict errors as 400 and 409 with its message, creating nothing", async () => {
    const server = await serve();
    await engine.create('taken', { size: '2' });
    const before = state();
    const cases: [unknown, number, object][] = [
      [
        { name: 'v', options: { size: '0' } },
        400,
        { kind: 'InvalidArgument', error: expect.stringMatching(/^size: /) },
      ],
      [
        { name: 'v', options: { colour: 'red' } },
        400,
        { kind: 'InvalidArgument', error: expect.stringMatching(/colour/) },
      ],
      [
        { name: 'v', options: { backing: 'nowhere' } },
        400,
        { kind: 'InvalidArgument', error: expect.stringMatching(/nowhere/) },
      ],
      [
        { name: 'taken', options: { size: '5' } },
        409,
        { kind: 'AlreadyExists', error: expect.stringMatching(/already exists with other options/) },
      ],
      [
        { name: 'taken', options: { backing: 'other' } },
        409,
        { kind: 'AlreadyExists', error: expect.stringMatching(/backing=fake/) },
      ],
    ];
    for (const [body, status, error] of cases) {
      const answer = await call(server, 'POST', '/v1/volumes', { body });
      expect({ body, status: answer.status, answer: answer.json() }).toEqual({ body, status, answer: error });
    }
    expect(state()).toBe(before);
  });

  it('lists the backings with their scope and the default', async () => {
    const server = await serve();
    const answer = await call(server, 'GET', '/v1/backings');
    expect(answer.status).toBe(200);
    expect(answer.json()).toEqual({
      scope: 'global',
      backings: [
        { name: 'fake', aliases: [], scope: 'global', isDefault: true },
        { name: 'other', aliases: [], scope: 'global', isDefault: false },
      ],
    });
  });

  it('answers a backend failure 503 (BackendFailure) and a bug 500 with no detail, logging it', async () => {
    const server = await serve();
    backend.failNext('list', new Error('the disk array is offline'));
    const failed = await call(server, 'GET', '/v1/volumes');
    expect(failed.status).toBe(503);
    expect(failed.json()).toEqual({
      error: 'listing volumes of backing fake failed: the disk array is offline',
      kind: 'BackendFailure',
    });

    const buggy = Object.assign(Object.create(engine) as VolumeEngine, {
      get: () => Promise.reject(new TypeError('cannot read properties of undefined (reading "x")')),
    });
    const broken = await serve({ engine: buggy });
    const answer = await call(broken, 'GET', '/v1/volumes/{name}', { name: 'db1' });
    expect(answer.status).toBe(500);
    expect(answer.json()).toEqual({ error: 'internal error; see the stowage log' });
    expect(answer.text).not.toMatch(/reading "x"|\.ts:\d+|\.js:\d+/);
    expect(log.text()).toContain('volume API request failed');
    expect(log.text()).toMatch(/"err":"cannot read properties of undefined \(reading \\"x\\"\)"/);
  });
});

describe('the event stream', () => {
  it('streams the events of the calls as the document says, and refuses a bad query with a documented 400', async () => {
    const server = await serve();
    await call(server, 'POST', '/v1/volumes', { body: { name: 'db1', options: { backing: 'fake' } } });
    // The stream ends only when the server closes, which ends it: the whole answer is then checked.
    const streamed = call(server, 'GET', '/v1/events', { path: '/v1/events?since=0&types=volume.created' });
    await expect
      .poll(
        async () => (await (await fetch(`${server.url}/metrics`)).text()).match(/^stowage_event_streams (\d+)$/m)?.[1],
      )
      .toBe('1');
    const bad = await call(server, 'GET', '/v1/events', { path: '/v1/events?types=volume.nope' });
    expect(bad.status).toBe(400);
    await server.close();
    const answer = await streamed;
    expect(answer.status).toBe(200);
    expect(answer.text).toMatch(/^id: 1\nevent: volume.created\ndata: \{"type":"volume.created","volume":"db1"/m);
  });
});

describe('with a token', () => {
  it('requires it on every /v1 endpoint, the document too, and never logs it', async () => {
    const file = join(dir, 'token');
    await writeFile(file, `${TOKEN}\n`, { mode: 0o600 });
    const server = await serve({ tokenFile: file });
    const requests: [string, string, Call][] = [
      ['GET', '/v1/openapi.json', {}],
      ['GET', '/v1/volumes', {}],
      ['POST', '/v1/volumes', { body: { name: 'v1' } }],
      ['GET', '/v1/volumes/{name}', { name: 'v1' }],
      ['DELETE', '/v1/volumes/{name}', { name: 'v1' }],
      ['POST', '/v1/volumes/{name}/mount', { name: 'v1', body: { caller: 'c' } }],
      ['POST', '/v1/volumes/{name}/unmount', { name: 'v1', body: { caller: 'c' } }],
      ['GET', '/v1/backings', {}],
    ];
    const before = state();
    for (const [method, template, request] of requests) {
      for (const headers of [{}, { Authorization: 'Bearer wrong' }, { Authorization: TOKEN }] as Record<
        string,
        string
      >[]) {
        const answer = await call(server, method, template, { ...request, headers });
        expect({ method, template, status: answer.status }).toEqual({ method, template, status: 401 });
        expect(answer.headers['www-authenticate']).toMatch(/^Bearer/);
      }
    }
    expect(state()).toBe(before);
    const statuses = [];
    for (const [method, template, request] of requests) {
      statuses.push((await call(server, method, template, { ...request, headers: bearer })).status);
    }
    expect(statuses).toEqual([200, 200, 201, 200, 204, 404, 404, 200]);
    expect(log.text()).not.toContain(TOKEN);
  });
});

describe('hostile input', () => {
  const HOSTILE_NAMES = [
    '..',
    '%2E%2E',
    '.hidden',
    'a%2Fb',
    '%2F..%2F..%2Fetc%2Fpasswd',
    '..%2F..%2Fetc',
    '%00',
    'a%00b',
    'a%0Ab',
    'a%7F',
    '%E2%80%AE',
    'caf%C3%A9',
    'a%20b',
    '-x',
    'x'.repeat(201),
  ];

  it('refuses names with traversal, encoded slashes, control characters, unicode or too long, changing nothing', async () => {
    const server = await serve();
    await engine.create('keep');
    await engine.mount('keep', 'holder');
    const before = state();
    for (const name of HOSTILE_NAMES) {
      const path = (suffix: string) => `/v1/volumes/${name}${suffix}`;
      const answers = [
        await call(server, 'GET', '/v1/volumes/{name}', { path: path('') }),
        await call(server, 'DELETE', '/v1/volumes/{name}', { path: path('') }),
        await call(server, 'POST', '/v1/volumes/{name}/mount', { path: path('/mount'), body: { caller: 'c' } }),
        await call(server, 'POST', '/v1/volumes/{name}/unmount', {
          path: path('/unmount'),
          body: { caller: 'holder' },
        }),
        await call(server, 'POST', '/v1/volumes', { body: { name: decodeURIComponent(name) } }),
      ];
      for (const answer of answers) {
        expect({ name, status: answer.status, kind: (answer.json() as { kind?: string }).kind }).toEqual({
          name,
          status: 400,
          kind: 'InvalidArgument',
        });
        expect(answer.text).not.toMatch(/\.js:\d+|\.ts:\d+/);
      }
    }
    expect(state()).toBe(before);
  });

  it('refuses malformed JSON, a body that is not an object, and other content types, changing nothing', async () => {
    const server = await serve();
    const before = state();
    const json = { 'Content-Type': 'application/json' };
    const bodies = ['{', '{"name":"v1"', '{"name":"v1",}', "{'name':'v1'}", 'null', '"v1"', '42', 'nul'];
    for (const raw of bodies) {
      for (const [template, path] of [
        ['/v1/volumes', '/v1/volumes'],
        ['/v1/volumes/{name}/mount', '/v1/volumes/v1/mount'],
      ] as const) {
        const answer = await call(server, 'POST', template, { path, raw, headers: json });
        expect({ raw, status: answer.status }).toEqual({ raw, status: 400 });
        expect(answer.json()).toMatchObject({ kind: 'InvalidArgument' });
      }
    }
    const arrays = await call(server, 'POST', '/v1/volumes', { body: [{ name: 'v1' }] });
    expect(arrays.status).toBe(400);
    expect(arrays.json()).toEqual({
      error: 'invalid request: request body: must be a JSON object, got an array',
      kind: 'InvalidArgument',
    });
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/xml',
      'multipart/form-data; boundary=x',
    ]) {
      const answer = await call(server, 'POST', '/v1/volumes', {
        raw: '{"name":"v1"}',
        headers: { 'Content-Type': type },
      });
      expect({ type, status: answer.status }).toEqual({ type, status: 415 });
      expect(answer.json()).toEqual({
        error: 'the request body must be JSON: send Content-Type: application/json',
        kind: 'InvalidArgument',
      });
    }
    const noBody = await call(server, 'POST', '/v1/volumes/{name}/mount', { name: 'v1' });
    expect(noBody.status).toBe(400);
    expect(noBody.json()).toEqual({
      error: expect.stringMatching(/request body: must be a JSON object/),
      kind: 'InvalidArgument',
    });
    const latin1 = await call(server, 'POST', '/v1/volumes', {
      raw: '{"name":"v1"}',
      headers: { 'Content-Type': 'application/json; charset=latin1' },
    });
    expect(latin1.status).toBe(415);
    expect(state()).toBe(before);
  });

  it(`refuses bodies over ${MAX_API_BODY_BYTES} bytes (413), changing nothing`, async () => {
    const server = await serve();
    const before = state();
    const padding = 'x'.repeat(MAX_API_BODY_BYTES);
    const big = await call(server, 'POST', '/v1/volumes', {
      body: { name: 'v1', options: { size: '1', note: padding } },
    });
    expect(big.status).toBe(413);
    expect(big.json()).toEqual({
      error: `request body too large: at most ${MAX_API_BODY_BYTES} bytes are accepted`,
      kind: 'InvalidArgument',
    });
    const bigMount = await call(server, 'POST', '/v1/volumes/{name}/mount', { name: 'v1', body: { caller: padding } });
    expect(bigMount.status).toBe(413);
    expect(state()).toBe(before);
  });

  it('refuses unknown fields, non-string option values, __proto__ and bad caller IDs, changing nothing', async () => {
    const server = await serve();
    await engine.create('v1');
    await engine.mount('v1', 'holder');
    const before = state();
    const creates: [unknown, RegExp][] = [
      [{ name: 'v2', driver: 'local' }, /Unrecognized key.*driver/],
      [{ name: 'v2', options: {}, labels: {} }, /labels/],
      [{ Name: 'v2' }, /name: required/],
      [{}, /name: required/],
      [{ name: 42 }, /name: must be a string, got number/],
      [{ name: null }, /name: must be a string, got null/],
      [{ name: 'v2', options: { size: 3 } }, /options\.size: must be a string, got number/],
      [{ name: 'v2', options: { size: null } }, /options\.size: must be a string, got null/],
      [{ name: 'v2', options: { size: ['3'] } }, /options\.size: must be a string, got an array/],
      [{ name: 'v2', options: { size: { v: '3' } } }, /options\.size: must be a string, got object/],
      [{ name: 'v2', options: { backing: true } }, /options\.backing: must be a string, got boolean/],
      [{ name: 'v2', options: ['size=3'] }, /options: must be an object of strings, got an array/],
      [{ name: 'v2', options: 'size=3' }, /options: must be an object of strings, got string/],
    ];
    for (const [body, message] of creates) {
      const answer = await call(server, 'POST', '/v1/volumes', { body });
      expect({ body, status: answer.status }).toEqual({ body, status: 400 });
      expect((answer.json() as { error: string }).error).toMatch(message);
    }
    const proto = await call(server, 'POST', '/v1/volumes', {
      raw: '{"name":"v2","options":{"__proto__":"x"}}',
      headers: { 'Content-Type': 'application/json' },
    });
    expect(proto.status).toBe(400);
    expect(proto.json()).toEqual({
      error: 'invalid request: options.__proto__: is not an option name',
      kind: 'InvalidArgument',
    });

    const mounts: [unknown, RegExp][] = [
      [{}, /caller: required/],
      [{ id: 'c1' }, /Unrecognized key/],
      [{ caller: 'c1', ID: 'c1' }, /Unrecognized key.*ID/],
      [{ caller: 7 }, /caller: must be a string, got number/],
      [{ caller: '' }, /mount ID is required/],
      [{ caller: 'x'.repeat(257) }, /at most 256 printable characters/],
      [{ caller: 'a\nb' }, /at most 256 printable characters/],
      [{ caller: 'a\u0000b' }, /at most 256 printable characters/],
    ];
    for (const action of ['mount', 'unmount']) {
      for (const [body, message] of mounts) {
        const answer = await call(server, 'POST', `/v1/volumes/{name}/${action}`, { name: 'v1', body });
        expect({ action, body, status: answer.status }).toEqual({ action, body, status: 400 });
        expect((answer.json() as { error: string }).error).toMatch(message);
      }
    }
    expect(state()).toBe(before);
  });

  it('answers other methods 405 with Allow, and unknown /v1 paths 404, changing nothing', async () => {
    const server = await serve();
    await engine.create('v1');
    const before = state();
    const cases: [string, string, string, string][] = [
      ['PUT', '/v1/volumes', '/v1/volumes', 'GET, HEAD, POST'],
      ['DELETE', '/v1/volumes', '/v1/volumes', 'GET, HEAD, POST'],
      ['PATCH', '/v1/volumes/{name}', '/v1/volumes/v1', 'GET, HEAD, DELETE'],
      ['POST', '/v1/volumes/{name}', '/v1/volumes/v1', 'GET, HEAD, DELETE'],
      ['GET', '/v1/volumes/{name}/mount', '/v1/volumes/v1/mount', 'POST'],
      ['DELETE', '/v1/volumes/{name}/unmount', '/v1/volumes/v1/unmount', 'POST'],
      ['POST', '/v1/backings', '/v1/backings', 'GET, HEAD'],
      ['DELETE', '/v1/openapi.json', '/v1/openapi.json', 'GET, HEAD'],
    ];
    for (const [method, template, path, allow] of cases) {
      const answer = await rawRequest(server.url, method, path, {
        headers: { 'Content-Type': 'application/json' },
        body: '{"caller":"c"}',
      });
      expect({ method, path, status: answer.status, allow: answer.headers.allow }).toEqual({
        method,
        path,
        status: 405,
        allow,
      });
      expect(JSON.parse(answer.text)).toEqual({ error: `${method} is not allowed on ${path}` });
      // Not documented per method (there is no such operation): checked against the path's own 405.
      conformance.check(template, Object.keys(conformance.document.paths[template] ?? {})[0] ?? 'get', answer);
    }
    for (const path of [
      '/v1',
      '/v1/',
      '/v1/volume',
      '/v1/volumes/v1/snapshot',
      '/v1/volumes/v1/mount/x',
      '/v1/volumes/',
    ]) {
      const answer = await rawRequest(server.url, 'GET', path);
      expect({ path, status: answer.status }).toEqual({ path, status: 404 });
      expect(JSON.parse(answer.text)).toEqual({ error: expect.stringMatching(/^no such endpoint/) });
    }
    expect(state()).toBe(before);
  });
});

// Last in the file, so it sees every answer the tests above received.
it("saw every /v1 operation's success answer, so no documented operation is untested", () => {
  for (const [template, methods] of Object.entries(conformance.document.paths)) {
    if (!template.startsWith('/v1/')) continue;
    for (const [method, operation] of Object.entries(methods)) {
      const success = Object.keys(operation.responses).find((status) => status.startsWith('2'));
      expect(conformance.checked, `${method} ${template}`).toContain(`${method.toUpperCase()} ${template} ${success}`);
    }
  }
});
