import type { VolumeEngine } from '@stowage/core';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PluginRequestObserver, PluginRequestOutcome } from '../protocol/plugin-app.js';

/** What the metrics read of the engine, at scrape time only. */
export type MetricsEngine = Pick<VolumeEngine, 'backings' | 'holds'>;

/** The endpoints of the plugin protocol, as metric labels; any other path a caller tries counts as `unknown`. */
const PLUGIN_ENDPOINTS = [
  'Plugin.Activate',
  'VolumeDriver.Create',
  'VolumeDriver.Remove',
  'VolumeDriver.Mount',
  'VolumeDriver.Unmount',
  'VolumeDriver.Path',
  'VolumeDriver.Get',
  'VolumeDriver.List',
  'VolumeDriver.Capabilities',
] as const;
const UNKNOWN_ENDPOINT = 'unknown';
const OUTCOMES: readonly PluginRequestOutcome[] = ['ok', 'error', 'refused', 'failed'];

// From a cached Get (about 0.1 ms) to an EBS Mount that moves a volume across zones within Docker's 2 minutes.
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

type Labels = { readonly endpoint: string; readonly outcome: PluginRequestOutcome };

/**
 * Stowage's Prometheus metrics, in a registry of their own (never prom-client's global one, so two servers in one
 * process, or a test and the code under test, do not share series):
 *
 * - `stowage_plugin_requests_total{endpoint,outcome}` and `stowage_plugin_request_duration_seconds{endpoint,outcome}`,
 *   fed by {@link observePluginRequest} from the plugin protocol app;
 * - `stowage_mounted_volumes{backing}` and `stowage_volume_holds{backing}`, read from the engine's holds at scrape
 *   time, with every enabled backing present (0 when it holds nothing);
 * - the process's own metrics (`process_*`, `nodejs_*`).
 */
export class OpsMetrics {
  readonly registry = new Registry();
  /**
   * Hands the plugin app's answers to the request metrics. The label objects are made once per endpoint and outcome
   * here, so the socket's path only looks one up and increments; a hostile path is counted as `unknown`, never as a
   * series of its own.
   */
  readonly observePluginRequest: PluginRequestObserver;

  constructor(engine: MetricsEngine) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const requests = new Counter({
      name: 'stowage_plugin_requests_total',
      help: 'Docker volume plugin requests answered, by endpoint and outcome (ok, error: Err answered, refused: 4xx, failed: 5xx)',
      labelNames: ['endpoint', 'outcome'],
      registers,
    });
    const latency = new Histogram({
      name: 'stowage_plugin_request_duration_seconds',
      help: 'Time from a Docker volume plugin request to its answer, by endpoint and outcome',
      labelNames: ['endpoint', 'outcome'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    const labelsByPath = new Map<string, ReadonlyMap<PluginRequestOutcome, Labels>>();
    const labelsFor = (endpoint: string) => new Map(OUTCOMES.map((outcome) => [outcome, { endpoint, outcome }]));
    for (const endpoint of PLUGIN_ENDPOINTS) labelsByPath.set(`/${endpoint}`, labelsFor(endpoint));
    const unknown = labelsFor(UNKNOWN_ENDPOINT);
    this.observePluginRequest = (path, outcome, seconds) => {
      const labels = (labelsByPath.get(path) ?? unknown).get(outcome) as Labels;
      requests.inc(labels);
      latency.observe(labels, seconds);
    };

    const backingNames = () => engine.backings().map((backing) => backing.name);
    new Gauge({
      name: 'stowage_mounted_volumes',
      help: 'Volumes this node has mounted for containers, by backing',
      labelNames: ['backing'],
      registers,
      collect() {
        const mounted = countByBacking(backingNames(), engine.holds(), (held) => (held.state === 'mounted' ? 1 : 0));
        this.reset();
        for (const [backing, count] of mounted) this.set({ backing }, count);
      },
    });
    new Gauge({
      name: 'stowage_volume_holds',
      help: 'Mounts containers hold on this node (a volume mounted for two containers holds 2), by backing',
      labelNames: ['backing'],
      registers,
      collect() {
        const holds = countByBacking(backingNames(), engine.holds(), (held) =>
          held.callers.reduce((sum, caller) => sum + caller.count, 0),
        );
        this.reset();
        for (const [backing, count] of holds) this.set({ backing }, count);
      },
    });
  }

  /** The Prometheus text exposition of every metric, and its content type. */
  async scrape(): Promise<{ readonly contentType: string; readonly text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }
}

/** `weigh` summed per backing, every backing of `backings` present. */
function countByBacking<T extends { readonly backing: string }>(
  backings: readonly string[],
  items: readonly T[],
  weigh: (item: T) => number,
): Map<string, number> {
  const counts = new Map(backings.map((backing) => [backing, 0]));
  for (const item of items) counts.set(item.backing, (counts.get(item.backing) ?? 0) + weigh(item));
  return counts;
}
