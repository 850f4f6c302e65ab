import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, VolumeEngine, VolumeEvents } from '@stowage/core';
import { FakeBackend, FakeBackendProvider } from '@stowage/testkit/fake-backend';
import { parsePrometheusText } from '@stowage/testkit/prometheus';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { OpsMetrics } from '../src/ops-metrics.js';
import { VolumeEventMetrics } from '../src/volume-event-metrics.js';

const logger = createLogger({ level: 'silent' });

/** The samples the registry would serve, by series (see parsePrometheusText). */
async function samples(registry: Registry): Promise<Map<string, number>> {
  return parsePrometheusText(await registry.metrics());
}

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('cloud API calls and journal writes (telemetry)', () => {
  it('counts calls by service, action and outcome, retries and throttles apart, and times them', async () => {
    const metrics = new OpsMetrics();
    metrics.telemetry.cloudCall({
      service: 'ec2',
      action: 'AttachVolume',
      outcome: 'ok',
      attempts: 1,
      throttles: 0,
      seconds: 0.2,
    });
    metrics.telemetry.cloudCall({
      service: 'ec2',
      action: 'DescribeVolumes',
      outcome: 'ok',
      attempts: 3,
      throttles: 2,
      seconds: 1.5,
    });
    metrics.telemetry.cloudCall({
      service: 'ec2',
      action: 'DescribeVolumes',
      outcome: 'throttled',
      attempts: 3,
      throttles: 3,
      seconds: 4,
      errorCode: 'RequestLimitExceeded',
    });
    const found = await samples(metrics.registry);
    expect(found.get('stowage_cloud_api_calls_total{action="AttachVolume",outcome="ok",service="ec2"}')).toBe(1);
    expect(found.get('stowage_cloud_api_calls_total{action="DescribeVolumes",outcome="ok",service="ec2"}')).toBe(1);
    expect(found.get('stowage_cloud_api_calls_total{action="DescribeVolumes",outcome="throttled",service="ec2"}')).toBe(
      1,
    );
    expect(found.get('stowage_cloud_api_attempts_retried_total{action="DescribeVolumes",service="ec2"}')).toBe(4);
    expect(found.get('stowage_cloud_api_attempts_retried_total{action="AttachVolume",service="ec2"}')).toBe(0);
    expect(found.get('stowage_cloud_api_throttles_total{action="DescribeVolumes",service="ec2"}')).toBe(5);
    expect(found.get('stowage_cloud_api_call_duration_seconds_count{action="DescribeVolumes",service="ec2"}')).toBe(2);
    expect(found.get('stowage_cloud_api_call_duration_seconds_sum{action="DescribeVolumes",service="ec2"}')).toBe(5.5);
    // The error code is for logs and events, not a label: a label per code would let failures grow the series.
    expect([...found.keys()].some((key) => key.includes('RequestLimitExceeded'))).toBe(false);
  });

  it('times the engine’s real journal writes: a Mount writes the mount table, synced', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stowage-ops-journal-'));
    dirs.push(dir);
    const metrics = new OpsMetrics();
    const engine = new VolumeEngine(
      [new FakeBackendProvider(new FakeBackend())],
      {} as never,
      logger,
      { stateDir: join(dir, 'state') },
      undefined,
      metrics.telemetry,
    );
    metrics.follow(engine);
    await engine.start();
    try {
      await engine.create('v1');
      await engine.mount('v1', 'c1');
      const found = await samples(metrics.registry);
      expect(found.get('stowage_journal_write_duration_seconds_count{journal="mounts",synced="true"}')).toBeGreaterThan(
        0,
      );
      expect(found.get('stowage_mounted_volumes{backing="fake"}')).toBe(1);
      // A global backing is not listed at start: its count is unknown, not 1, until a list (docker volume ls).
      expect(found.has('stowage_volumes{backing="fake"}')).toBe(false);
      await engine.list();
      expect((await samples(metrics.registry)).get('stowage_volumes{backing="fake"}')).toBe(1);
      await engine.create('v2');
      await engine.unmount('v1', 'c1');
      await engine.remove('v1');
      const after = await samples(metrics.registry);
      expect(after.get('stowage_volumes{backing="fake"}')).toBe(1);
      await engine.create('v3');
      expect((await samples(metrics.registry)).get('stowage_volumes{backing="fake"}')).toBe(2);
    } finally {
      await engine.stop();
    }
  });
});

describe('moves and snapshots (volume events)', () => {
  const route = { volume: 'db', backing: 'relocatable', from: 'eu-west-1a', to: 'eu-west-1b' };

  it('shows a move in progress with its phase and percent, then counts it done and drops its series', async () => {
    const registry = new Registry();
    const hub = new VolumeEvents({ logger });
    new VolumeEventMetrics(registry, hub);
    hub.emit({ type: 'move.started', ...route });
    let found = await samples(registry);
    expect(found.get('stowage_moves_in_progress{backing="relocatable"}')).toBe(1);
    hub.emit({ type: 'move.progress', ...route, phase: 'snapshot', percent: 40 });
    found = await samples(registry);
    expect(found.get('stowage_move_progress_percent{backing="relocatable",phase="snapshot",volume="db"}')).toBe(40);
    hub.emit({ type: 'move.progress', ...route, phase: 'volume', percent: 10 });
    found = await samples(registry);
    expect(found.get('stowage_move_progress_percent{backing="relocatable",phase="volume",volume="db"}')).toBe(10);
    expect(found.has('stowage_move_progress_percent{backing="relocatable",phase="snapshot",volume="db"}')).toBe(false);
    hub.emit({ type: 'move.done', ...route, seconds: 12 });
    hub.emit({ type: 'move.started', ...route, volume: 'logs' });
    hub.emit({ type: 'move.failed', ...route, volume: 'logs', error: 'copy failed' });
    found = await samples(registry);
    expect(found.get('stowage_moves_total{backing="relocatable",outcome="done"}')).toBe(1);
    expect(found.get('stowage_moves_total{backing="relocatable",outcome="failed"}')).toBe(1);
    expect([...found.keys()].filter((key) => key.startsWith('stowage_move_progress_percent'))).toEqual([]);
    expect(found.has('stowage_moves_in_progress{backing="relocatable"}')).toBe(false);
  });

  it('counts snapshots taken, failed and pruned, and ages the newest per attached volume until it is unmounted', async () => {
    const registry = new Registry();
    const hub = new VolumeEvents({ logger });
    let now = Date.parse('2026-12-03T10:00:00Z');
    new VolumeEventMetrics(registry, hub, () => now);
    const subject = { volume: 'db', backing: 'relocatable' };
    hub.emit({
      type: 'snapshot.taken',
      ...subject,
      snapshotId: 'snap-1',
      purpose: 'periodic',
      takenAt: '2026-12-03T09:00:00Z',
    });
    hub.emit({
      type: 'snapshot.taken',
      ...subject,
      snapshotId: 'snap-2',
      purpose: 'periodic',
      takenAt: '2026-12-03T09:30:00Z',
    });
    // An older one reported late does not make the newest look older.
    hub.emit({
      type: 'snapshot.taken',
      ...subject,
      snapshotId: 'snap-0',
      purpose: 'periodic',
      takenAt: '2026-12-03T08:00:00Z',
    });
    hub.emit({ type: 'snapshot.failed', ...subject, purpose: 'periodic', error: 'SnapshotLimitExceeded' });
    hub.emit({ type: 'snapshot.pruned', ...subject, snapshotId: 'snap-0' });
    let found = await samples(registry);
    expect(found.get('stowage_snapshots_total{backing="relocatable",outcome="taken"}')).toBe(3);
    expect(found.get('stowage_snapshots_total{backing="relocatable",outcome="failed"}')).toBe(1);
    expect(found.get('stowage_snapshots_pruned_total{backing="relocatable"}')).toBe(1);
    expect(found.get('stowage_snapshot_newest_age_seconds{backing="relocatable",volume="db"}')).toBe(1800);
    now += 60_000;
    found = await samples(registry);
    expect(found.get('stowage_snapshot_newest_age_seconds{backing="relocatable",volume="db"}')).toBe(1860);
    hub.emit({ type: 'volume.unmounted', ...subject });
    found = await samples(registry);
    expect(found.has('stowage_snapshot_newest_age_seconds{backing="relocatable",volume="db"}')).toBe(false);
  });

  it('follows the hub given to OpsMetrics.follow, and stops at close', async () => {
    const hub = new VolumeEvents({ logger });
    const metrics = new OpsMetrics();
    metrics.follow({ backings: () => [], holds: () => [], volumeCounts: () => [] }, hub);
    hub.emit({ type: 'snapshot.pruned', volume: 'db', backing: 'relocatable', snapshotId: 'snap-9' });
    metrics.close();
    hub.emit({ type: 'snapshot.pruned', volume: 'db', backing: 'relocatable', snapshotId: 'snap-10' });
    expect((await samples(metrics.registry)).get('stowage_snapshots_pruned_total{backing="relocatable"}')).toBe(1);
  });
});
