import type { StowageTelemetry, VolumeEngine } from '@stowage/core';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { PrometheusTelemetry } from './prometheus-telemetry.js';
import { type EventSource, VolumeEventMetrics } from './volume-event-metrics.js';

/** What the metrics read of the engine, at scrape time only. */
export type MetricsEngine = Pick<VolumeEngine, 'backings' | 'holds' | 'volumeCounts'>;

/**
 * Stowage's Prometheus metrics, in a registry of their own (never prom-client's global one, so two servers in one
 * process, or a test and the code under test, do not share series). An adapter adds its own protocol's metrics to
 * {@link registry} (the Docker adapter its plugin requests); this holds what every adapter shares:
 *
 * - `stowage_mounted_volumes{backing}` and `stowage_volume_holds{backing}`, read from the engine's holds at scrape
 *   time, with every enabled backing present (0 when it holds nothing), once {@link follow} gave it the engine;
 * - `stowage_volumes{backing}`: the engine's count, for the backings it has listed whole (no backing is asked);
 * - cloud API calls and journal writes, through {@link telemetry} (see {@link PrometheusTelemetry}), which the
 *   composition root must be given: so the metrics exist before the engine they observe;
 * - moves and snapshots, from the volume events {@link follow} is given (see {@link VolumeEventMetrics});
 * - the process's own metrics (`process_*`, `nodejs_*`).
 */
export class OpsMetrics {
  readonly registry = new Registry();
  /** Give it to `composeStowage` (`telemetry`): every cloud API call and journal write shows here. */
  readonly telemetry: StowageTelemetry;
  private engine: MetricsEngine | undefined;
  private eventMetrics: VolumeEventMetrics | undefined;

  /** With `engine`, as if {@link follow} were called with it. */
  constructor(engine?: MetricsEngine) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.telemetry = new PrometheusTelemetry(this.registry);
    this.engine = engine;

    const holds = () => this.engine?.holds() ?? [];
    const volumeCounts = () => this.engine?.volumeCounts() ?? [];
    const backingNames = () => (this.engine?.backings() ?? []).map((backing) => backing.name);
    new Gauge({
      name: 'stowage_mounted_volumes',
      help: 'Volumes this node has mounted for containers, by backing',
      labelNames: ['backing'],
      registers,
      collect() {
        const mounted = countByBacking(backingNames(), holds(), (held) => (held.state === 'mounted' ? 1 : 0));
        this.reset();
        for (const [backing, count] of mounted) this.set({ backing }, count);
      },
    });
    new Gauge({
      name: 'stowage_volumes',
      help:
        'Volumes of each backing the engine knows, for the backings it has listed whole since start-up (local at ' +
        'start; a cloud backing once listed, e.g. by docker volume ls)',
      labelNames: ['backing'],
      registers,
      collect() {
        this.reset();
        for (const { name, volumes, complete } of volumeCounts()) {
          if (complete) this.set({ backing: name }, volumes);
        }
      },
    });
    new Gauge({
      name: 'stowage_volume_holds',
      help: 'Mounts containers hold on this node (a volume mounted for two containers holds 2), by backing',
      labelNames: ['backing'],
      registers,
      collect() {
        const counts = countByBacking(backingNames(), holds(), (held) =>
          held.callers.reduce((sum, caller) => sum + caller.count, 0),
        );
        this.reset();
        for (const [backing, count] of counts) this.set({ backing }, count);
      },
    });
  }

  /**
   * Reads the engine's mounts at each scrape and follows `events` (the composed Stowage's hub) for the move and
   * snapshot metrics. Once: the engine a server reports on does not change.
   */
  follow(engine: MetricsEngine, events?: EventSource): void {
    this.engine = engine;
    if (events && !this.eventMetrics) this.eventMetrics = new VolumeEventMetrics(this.registry, events);
  }

  /** Stops following the events. */
  close(): void {
    this.eventMetrics?.close();
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
