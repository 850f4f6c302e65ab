import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CsiTestClient } from '../src/conformance/csi-test-client.js';
import { CsiRequestMetrics } from '../src/csi-request-metrics.js';
import { type CsiServer, startCsiServer } from '../src/csi-server.js';
import { FakeHost } from './support/fake-host.js';
import { type LocalEngine, silentLogger, startLocalEngine } from './support/local-engine.js';

describe('CSI request metrics: every call answered, by method and gRPC code', () => {
  let local: LocalEngine;
  let server: CsiServer;
  let client: CsiTestClient;
  let registry: Registry;
  const seen: { method: string; code: status; seconds: number }[] = [];

  beforeEach(async () => {
    local = await startLocalEngine(new FakeHost());
    registry = new Registry();
    const metrics = CsiRequestMetrics.registeredIn(registry);
    seen.length = 0;
    const socket = join(local.dir, 'csi.sock');
    server = await startCsiServer({
      engine: local.stowage.engine,
      host: new FakeHost(),
      socket,
      mode: 'controller',
      pluginName: 'stowage.local',
      version: '9.9.9',
      nodeId: 'node-1',
      logger: silentLogger,
      observe: (method, code, seconds) => {
        seen.push({ method, code, seconds });
        metrics.observe(method, code, seconds);
      },
    });
    client = new CsiTestClient(`unix://${socket}`);
  });
  afterEach(async () => {
    client.close();
    await server.close();
    await local.dispose();
  });

  const value = async (name: string, labels: Record<string, string>) => {
    const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name.replace(/_count$/, ''));
    const sample = (metric?.values ?? []).find(
      (v) =>
        (v as { metricName?: string }).metricName === (name.endsWith('_count') ? name : undefined) &&
        Object.entries(labels).every(([k, l]) => v.labels[k] === l),
    );
    return sample?.value;
  };

  it('counts answers and failures, the methods it does not serve included, with their durations', async () => {
    const capability = { mount: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
    await client.call('identity', 'Probe', {});
    await client.call('controller', 'CreateVolume', { name: 'm', volume_capabilities: [capability] });
    await client.call('controller', 'CreateVolume', { name: 'm', volume_capabilities: [capability] });
    await client.call('controller', 'CreateVolume', { name: '', volume_capabilities: [capability] });
    await client.call('controller', 'ControllerExpandVolume', { volume_id: 'm' });

    expect(seen.map(({ method, code }) => `${method} ${status[code]}`)).toEqual([
      'Probe OK',
      'CreateVolume OK',
      'CreateVolume OK',
      'CreateVolume INVALID_ARGUMENT',
      'ControllerExpandVolume UNIMPLEMENTED',
    ]);
    expect(seen.every(({ seconds }) => seconds >= 0 && seconds < 60)).toBe(true);
    expect(await value('stowage_csi_requests_total', { method: 'CreateVolume', code: 'OK' })).toBe(2);
    expect(await value('stowage_csi_requests_total', { method: 'CreateVolume', code: 'INVALID_ARGUMENT' })).toBe(1);
    expect(await value('stowage_csi_requests_total', { method: 'ControllerExpandVolume', code: 'UNIMPLEMENTED' })).toBe(
      1,
    );
    expect(await value('stowage_csi_request_duration_seconds_count', { method: 'CreateVolume', code: 'OK' })).toBe(2);
  });
});
