import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { PluginRequestMetrics } from '../src/protocol/plugin-request-metrics.js';

async function exposition(metrics: PluginRequestMetrics): Promise<string[]> {
  const registry = new Registry();
  metrics.register(registry);
  return (await registry.metrics()).split('\n');
}

describe('PluginRequestMetrics', () => {
  it('writes nothing but the HELP and TYPE lines before any request', async () => {
    expect((await exposition(new PluginRequestMetrics())).filter((line) => line !== '')).toEqual([
      expect.stringMatching(/^# HELP stowage_plugin_requests_total /),
      '# TYPE stowage_plugin_requests_total counter',
      expect.stringMatching(/^# HELP stowage_plugin_request_duration_seconds /),
      '# TYPE stowage_plugin_request_duration_seconds histogram',
    ]);
  });

  it('puts a duration in the first bucket whose bound it does not exceed (le is inclusive), and sums them', async () => {
    const metrics = new PluginRequestMetrics();
    for (const seconds of [0.001, 0.0011, 0.0011, 200]) metrics.observe('/VolumeDriver.Get', 'ok', seconds);
    metrics.observe('/VolumeDriver.Get', 'error', 0.0001);
    const lines = await exposition(metrics);
    const get = (le: string) =>
      lines.find((line) =>
        line.startsWith(
          `stowage_plugin_request_duration_seconds_bucket{endpoint="VolumeDriver.Get",outcome="ok",le="${le}"}`,
        ),
      );
    expect(get('0.0005')).toMatch(/ 0$/);
    expect(get('0.001')).toMatch(/ 1$/);
    expect(get('0.0025')).toMatch(/ 3$/);
    expect(get('120')).toMatch(/ 3$/);
    expect(get('+Inf')).toMatch(/ 4$/);
    expect(lines).toContain(
      'stowage_plugin_request_duration_seconds_count{endpoint="VolumeDriver.Get",outcome="ok"} 4',
    );
    expect(lines).toContain(
      'stowage_plugin_request_duration_seconds_sum{endpoint="VolumeDriver.Get",outcome="ok"} 200.0032',
    );
    expect(lines).toContain('stowage_plugin_requests_total{endpoint="VolumeDriver.Get",outcome="error"} 1');
    expect(lines.filter((line) => line.startsWith('stowage_plugin_requests_total{'))).toHaveLength(2);
  });

  it('counts every path it does not know as one unknown endpoint, and starts over on a registry reset', async () => {
    const metrics = new PluginRequestMetrics();
    const registry = new Registry();
    metrics.register(registry);
    for (const path of ['/a', '/VolumeDriver.Mount/', '/volumedriver.mount', '/' + 'x'.repeat(10_000)]) {
      metrics.observe(path, 'refused', 0.0001);
    }
    expect(await registry.metrics()).toContain('stowage_plugin_requests_total{endpoint="unknown",outcome="refused"} 4');
    registry.resetMetrics();
    expect(await registry.metrics()).not.toContain('stowage_plugin_requests_total{');
  });
});
