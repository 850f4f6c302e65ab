import type { VolumeEngine } from '@stowage/core';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { PluginRequestObserver } from '../protocol/plugin-app.js';
import { PluginRequestMetrics } from './plugin-request-metrics.js';

/** What the metrics read of the engine, at scrape time only. */
export type MetricsEngine = Pick<VolumeEngine, 'backings' | 'holds'>;

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
   * Hands the plugin app's answers to the request metrics: a few increments, no allocation (see
   * {@link PluginRequestMetrics}); a hostile path is counted as `unknown`, never as a series of its own.
   */
  readonly observePluginRequest: PluginRequestObserver;

  constructor(engine: MetricsEngine) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const requests = new PluginRequestMetrics();
    requests.register(this.registry);
    this.observePluginRequest = requests.observe;

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
