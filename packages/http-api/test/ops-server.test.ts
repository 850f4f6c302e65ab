import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorKind, VolumeEngine } from '@stowage/core';
import { expectStowageError } from '@stowage/core/testing';
import { capturingLogger } from '@stowage/testkit/logging';
import { parsePrometheusText } from '@stowage/testkit/prometheus';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeBackend, FakeBackendProvider } from '@stowage/testkit/fake-backend';
import { Counter } from 'prom-client';
import { OpsMetrics } from '../src/ops-metrics.js';
import { startOpsServer, type OpsServer } from '../src/ops-server.js';

const TOKEN = 'ops-token-4f1c9a7e-never-logged';

/** A fake backing whose readiness check the test decides. */
class CheckedProvider extends FakeBackendProvider {
  check: () => Promise<void> = async () => undefined;

  constructor(
    backend: FakeBackend,
    override readonly name: string,
  ) {
    super(backend);
  }

  checkReady(): Promise<void> {
    return this.check();
  }
}

let dir: string;
let backend: FakeBackend;
let fake: CheckedProvider;
let other: CheckedProvider;
let engine: VolumeEngine;
let metrics: OpsMetrics;
let log: ReturnType<typeof capturingLogger>;
const servers: OpsServer[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stowage-ops-'));
  backend = new FakeBackend();
  fake = new CheckedProvider(backend, 'fake');
  other = new CheckedProvider(new FakeBackend(), 'other');
  log = capturingLogger();
  engine = new VolumeEngine([fake, other], {} as never, log.logger, { stateDir: join(dir, 'state') });
  await engine.start();
  metrics = new OpsMetrics(engine);
});

afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
  await engine.stop();
  await rm(dir, { recursive: true, force: true });
});

async function ops(options: { tokenFile?: string; readinessBudgetMs?: number; host?: string } = {}) {
  const server = await startOpsServer({
    listen: { host: options.host ?? '127.0.0.1', port: 0 },
    tokenFile: options.tokenFile,
    readinessBudgetMs: options.readinessBudgetMs,
    engine,
    metrics,
    logger: log.logger,
  });
  servers.push(server);
  return server;
}

async function tokenFile(content = `${TOKEN}\n`): Promise<string> {
  const file = join(dir, `token-${servers.length}`);
  await writeFile(file, content, { mode: 0o600 });
  return file;
}

function get(server: OpsServer, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${server.url}${path}`, init);
}

const bearer = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });

describe('GET /healthz', () => {
  it('answers 200 {"status":"ok"} without a token, even when one is configured', async () => {
    const server = await ops({ tokenFile: await tokenFile() });
    const answer = await get(server, '/healthz');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    expect(answer.headers.get('x-powered-by')).toBeNull();
    expect(await answer.json()).toEqual({ status: 'ok' });
  });
});

describe('GET /readyz', () => {
  it('answers 200 naming the backings when every one is ready', async () => {
    const server = await ops();
    const answer = await get(server, '/readyz');
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ status: 'ready', backings: ['fake', 'other'] });
  });

  it('answers 503 naming the backing whose check throws, and logs why', async () => {
    other.check = async () => {
      throw new Error('the volume root /srv/x is not writable');
    };
    const server = await ops({ tokenFile: await tokenFile() });
    const answer = await get(server, '/readyz');
    expect(answer.status).toBe(503);
    expect(await answer.json()).toEqual({ status: 'not ready', failing: ['other'] });
    expect(log.text()).toMatch(/"backing":"other".*is not writable/);
  });

  it('answers 503 naming a hung backing once its budget passes, without piling up its checks', async () => {
    let calls = 0;
    fake.check = () => {
      calls += 1;
      return new Promise<void>(() => undefined);
    };
    const server = await ops({ readinessBudgetMs: 100 });
    const started = Date.now();
    const [first, second] = await Promise.all([get(server, '/readyz'), get(server, '/readyz')]);
    expect(Date.now() - started).toBeLessThan(2_000);
    for (const answer of [first, second]) {
      expect(answer.status).toBe(503);
      expect(await answer.json()).toEqual({ status: 'not ready', failing: ['fake'] });
    }
    expect(calls).toBe(1);
    expect(log.text()).toMatch(/gave no answer to its readiness check within 100 ms/);
  });

  it('is ready again once the backing recovers', async () => {
    other.check = async () => {
      throw new Error('down');
    };
    const server = await ops();
    expect((await get(server, '/readyz')).status).toBe(503);
    other.check = async () => undefined;
    expect((await get(server, '/readyz')).status).toBe(200);
  });
});

describe('GET /metrics', () => {
  it('shows mounts and holds per backing, every backing present, and the process metrics', async () => {
    const server = await ops();
    await engine.create('v1');
    await engine.mount('v1', 'c1');
    await engine.mount('v1', 'c2');

    const answer = await get(server, '/metrics');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = parsePrometheusText(await answer.text());
    expect(samples.get('stowage_mounted_volumes{backing="fake"}')).toBe(1);
    expect(samples.get('stowage_mounted_volumes{backing="other"}')).toBe(0);
    expect(samples.get('stowage_volume_holds{backing="fake"}')).toBe(2);
    expect(samples.get('stowage_volume_holds{backing="other"}')).toBe(0);
    expect(samples.get('process_cpu_user_seconds_total{}')).toBeGreaterThan(0);
    expect(samples.get('nodejs_heap_size_used_bytes{}')).toBeGreaterThan(0);

    // Scraped again: the gauges follow the engine.
    await engine.unmount('v1', 'c1');
    const after = parsePrometheusText(await (await get(server, '/metrics')).text());
    expect(after.get('stowage_volume_holds{backing="fake"}')).toBe(1);
    expect(after.get('stowage_mounted_volumes{backing="fake"}')).toBe(1);
    await engine.unmount('v1', 'c2');
    const released = parsePrometheusText(await (await get(server, '/metrics')).text());
    expect(released.get('stowage_volume_holds{backing="fake"}')).toBe(0);
    expect(released.get('stowage_mounted_volumes{backing="fake"}')).toBe(0);
  });

  it('serves what an adapter adds to its registry, and keeps each instance’s series apart', async () => {
    const adapter = new Counter({ name: 'stowage_adapter_calls_total', help: 'test', registers: [metrics.registry] });
    adapter.inc(3);
    const server = await ops();
    const samples = parsePrometheusText(await (await get(server, '/metrics')).text());
    expect(samples.get('stowage_adapter_calls_total{}')).toBe(3);
    const mine = new OpsMetrics(engine);
    expect(parsePrometheusText(await mine.registry.metrics()).get('stowage_adapter_calls_total{}')).toBeUndefined();
  });
});

describe('with a token', () => {
  it('refuses /metrics and unknown paths without the right bearer token (401), serves them with it', async () => {
    const server = await ops({ tokenFile: await tokenFile(`  ${TOKEN}  \n\n`) });
    for (const init of [{}, bearer('wrong'), bearer(`${TOKEN}x`), { headers: { Authorization: TOKEN } }]) {
      const answer = await get(server, '/metrics', init);
      expect(answer.status).toBe(401);
      expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await answer.json()).toEqual({ error: expect.stringMatching(/bearer token is required/) });
    }
    expect((await get(server, '/nothing-here')).status).toBe(401);
    expect((await get(server, '/metrics', bearer(TOKEN))).status).toBe(200);
    expect((await get(server, '/metrics', { headers: { authorization: `bearer ${TOKEN}` } })).status).toBe(200);
    expect((await get(server, '/nothing-here', bearer(TOKEN))).status).toBe(404);
  });

  it('never writes the token to the log', async () => {
    const server = await ops({ tokenFile: await tokenFile() });
    await get(server, '/metrics', bearer(TOKEN));
    await get(server, '/metrics', bearer(`${TOKEN}-wrong`));
    await get(server, '/readyz', bearer(TOKEN));
    await engine.create(TOKEN.replace(/-/g, ''));
    expect(log.text()).not.toBe('');
    expect(log.text()).not.toContain(TOKEN);
  });

  it('refuses an empty token file and a missing one, naming the file, not listening', async () => {
    const empty = await tokenFile(' \n');
    const { message } = await expectStowageError(ops({ tokenFile: empty }), ErrorKind.InvalidArgument);
    expect(message).toBe(`config: http.tokenFile: ${empty} is empty; put the token in it`);
    await expectStowageError(ops({ tokenFile: join(dir, 'absent') }), ErrorKind.InvalidArgument);
    expect(servers).toEqual([]);
  });

  it('refuses a non-loopback address without a token file', async () => {
    const { message } = await expectStowageError(ops({ host: '0.0.0.0' }), ErrorKind.InvalidArgument);
    expect(message).toMatch(/refusing to listen on 0\.0\.0\.0:0 without a token/);
  });
});

describe('hostile input', () => {
  it('answers unknown paths 404 and other methods 405, in JSON, with no stack', async () => {
    const server = await ops();
    const unknown = await get(server, '/v2/volumes');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: expect.stringMatching(/no such endpoint/) });
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      const answer = await get(server, path, { method: 'POST', body: '{"a":1}' });
      expect(answer.status).toBe(405);
      expect(answer.headers.get('allow')).toBe('GET, HEAD');
      expect(await answer.json()).toEqual({ error: `POST is not allowed on ${path}` });
    }
    const head = await get(server, '/healthz', { method: 'HEAD' });
    expect(head.status).toBe(200);
  });

  it('answers a wrong method on /healthz and /readyz 405 even with a token configured, on /metrics 401 first', async () => {
    const server = await ops({ tokenFile: await tokenFile() });
    expect((await get(server, '/healthz', { method: 'DELETE' })).status).toBe(405);
    expect((await get(server, '/readyz', { method: 'PUT' })).status).toBe(405);
    expect((await get(server, '/metrics', { method: 'POST' })).status).toBe(401);
    expect((await get(server, '/metrics', { method: 'POST', ...bearer(TOKEN) })).status).toBe(405);
  });

  it('answers a malformed path and a failing readiness read without a stack trace', async () => {
    const server = await ops();
    const malformed = await get(server, '/%E0%A4%A');
    expect([400, 404]).toContain(malformed.status);
    expect(await malformed.text()).not.toMatch(/at .*\.js:\d+/);
    const broken = await startOpsServer({
      listen: { host: '127.0.0.1', port: 0 },
      engine: Object.assign(Object.create(engine) as VolumeEngine, {
        readiness: () => {
          throw new Error('engine exploded');
        },
      }),
      metrics,
      logger: log.logger,
    });
    servers.push(broken);
    const answer = await get(broken, '/readyz');
    expect(answer.status).toBe(500);
    const body = await answer.text();
    expect(JSON.parse(body)).toEqual({ error: 'internal error; see the stowage log' });
    expect(body).not.toContain('engine exploded');
    expect(log.text()).toContain('engine exploded');
  });

  it('refuses an address another process listens on (InUse)', async () => {
    const server = await ops();
    await expectStowageError(
      startOpsServer({ listen: server.address, engine, metrics, logger: log.logger }),
      ErrorKind.InUse,
    );
  });
});
