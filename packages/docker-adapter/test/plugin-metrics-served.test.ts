import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VolumeEngine } from '@stowage/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OpsMetrics, startOpsServer, type OpsServer } from '@stowage/http-api';
import { PluginRequestMetrics } from '../src/protocol/plugin-request-metrics.js';
import { startPluginServer, type PluginServer } from '../src/protocol/plugin-server.js';
import { FakeBackend, FakeBackendProvider } from '@stowage/testkit/fake-backend';
import { capturingLogger } from '@stowage/testkit/logging';
import { parsePrometheusText } from '@stowage/testkit/prometheus';
import { postJson, rawPost } from './support/raw-post.js';

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
let plugin: PluginServer;
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
  plugin = await startPluginServer({
    engine,
    socket: join(dir, 'plugin.sock'),
    logger: log.logger,
    observe: PluginRequestMetrics.registeredIn(metrics.registry).observe,
  });
});

afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
  await plugin.close();
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

function get(server: OpsServer, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${server.url}${path}`, init);
}

describe('the plugin requests on the ops server’s /metrics', () => {
  it('counts real plugin requests by endpoint and outcome, times them, and shows mounts and holds per backing', async () => {
    const server = await ops();
    const call = (path: string, body: unknown) => postJson(plugin.socket, path, body);
    expect((await call('/VolumeDriver.Create', { Name: 'v1', Opts: null })).json()).toEqual({ Err: '' });
    expect((await call('/VolumeDriver.Mount', { Name: 'v1', ID: 'c1' })).json().Err).toBe('');
    expect((await call('/VolumeDriver.Mount', { Name: 'v1', ID: 'c2' })).json().Err).toBe('');
    expect((await call('/VolumeDriver.Get', { Name: 'missing' })).json().Err).not.toBe('');
    expect((await call('/VolumeDriver.Nope', null)).status).toBe(404);
    expect((await call('/Plugin.Activate/../../etc', null)).status).toBe(404);

    const answer = await get(server, '/metrics');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = parsePrometheusText(await answer.text());
    const sample = (series: string) => samples.get(series);

    expect(sample('stowage_plugin_requests_total{endpoint="VolumeDriver.Create",outcome="ok"}')).toBe(1);
    expect(sample('stowage_plugin_requests_total{endpoint="VolumeDriver.Mount",outcome="ok"}')).toBe(2);
    expect(sample('stowage_plugin_requests_total{endpoint="VolumeDriver.Get",outcome="error"}')).toBe(1);
    // Hostile paths share one series: a caller cannot make the registry grow.
    expect(sample('stowage_plugin_requests_total{endpoint="unknown",outcome="refused"}')).toBe(2);
    expect([...samples.keys()].filter((key) => key.includes('Nope') || key.includes('etc'))).toEqual([]);
    expect(sample('stowage_plugin_request_duration_seconds_count{endpoint="VolumeDriver.Mount",outcome="ok"}')).toBe(2);
    expect(
      sample('stowage_plugin_request_duration_seconds_bucket{endpoint="VolumeDriver.Mount",le="+Inf",outcome="ok"}'),
    ).toBe(2);
    expect(sample('stowage_mounted_volumes{backing="fake"}')).toBe(1);
    expect(sample('stowage_mounted_volumes{backing="other"}')).toBe(0);
    expect(sample('stowage_volume_holds{backing="fake"}')).toBe(2);
    expect(sample('process_cpu_user_seconds_total{}')).toBeGreaterThan(0);
    expect(sample('nodejs_heap_size_used_bytes{}')).toBeGreaterThan(0);

    // Scraped again after an Unmount: the gauges follow the engine, the counters only grow.
    expect((await call('/VolumeDriver.Unmount', { Name: 'v1', ID: 'c1' })).json().Err).toBe('');
    const after = parsePrometheusText(await (await get(server, '/metrics')).text());
    expect(after.get('stowage_volume_holds{backing="fake"}')).toBe(1);
    expect(after.get('stowage_mounted_volumes{backing="fake"}')).toBe(1);
    expect(after.get('stowage_plugin_requests_total{endpoint="VolumeDriver.Unmount",outcome="ok"}')).toBe(1);
    expect(after.get('stowage_plugin_requests_total{endpoint="VolumeDriver.Mount",outcome="ok"}')).toBe(2);
  });
});

describe('the plugin socket without metrics', () => {
  it('still answers when no observer is given', async () => {
    const bare = await startPluginServer({ engine, socket: join(dir, 'bare.sock'), logger: log.logger });
    try {
      expect((await rawPost(bare.socket, '/Plugin.Activate', 'null')).status).toBe(200);
    } finally {
      await bare.close();
    }
  });
});
