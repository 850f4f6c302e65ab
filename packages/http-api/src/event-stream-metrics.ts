import { Counter, Gauge, type Metric, type Registry } from 'prom-client';

const OPEN = 'stowage_event_streams';
const DROPPED = 'stowage_event_streams_dropped_total';
const REFUSED = 'stowage_event_streams_refused_total';

/**
 * The event streams' own series: `stowage_event_streams` (open now), `stowage_event_streams_dropped_total` (clients
 * cut off because they did not read fast enough) and `stowage_event_streams_refused_total` (turned away at the cap).
 * Two apps given one registry share the series, and their counts add up.
 */
export class EventStreamMetrics {
  readonly open: Gauge;
  readonly dropped: Counter;
  readonly refused: Counter;

  constructor(registry: Registry) {
    this.open = shared(registry, OPEN, () => new Gauge({ name: OPEN, help: 'Event streams open now', registers: [] }));
    this.dropped = shared(
      registry,
      DROPPED,
      () =>
        new Counter({
          name: DROPPED,
          help: 'Event stream clients cut off because their unread events passed the limit',
          registers: [],
        }),
    );
    this.refused = shared(
      registry,
      REFUSED,
      () =>
        new Counter({
          name: REFUSED,
          help: 'Event stream requests refused (503) because the most streams were open',
          registers: [],
        }),
    );
  }
}

/** The metric of `registry` named `name`, made and registered first if it has none. */
function shared<T extends Metric>(registry: Registry, name: string, make: () => T): T {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as T;
  const metric = make();
  registry.registerMetric(metric);
  return metric;
}
