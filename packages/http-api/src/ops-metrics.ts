import type { VolumeEngine } from '@stowage/core';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';

/** What the metrics read of the engine, at scrape time only. */
export type MetricsEngine = Pick<VolumeEngine, 'backings' | 'holds'>;

/**
 * Stowage's Prometheus metrics, in a registry of their own (never prom-client's global one, so two servers in one
 * process, or a test and the code under test, do not share series). An adapter adds its own protocol's metrics to
 * {@link registry} (the Docker adapter its plugin requests); this holds what every adapter shares:
 *
 * - `stowage_mounted_volumes{backing}` and `stowage_volume_holds{backing}`, read from the engine's holds at scrape
 *   time, with every enabled backing present (0 when it holds nothing);
 * - the process's own metrics (`process_*`, `nodejs_*`).
 */
export class OpsMetrics {
  readonly registry = new Registry();

  constructor(engine: MetricsEngine) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });

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
