import type { Metric, Registry } from 'prom-client';
import type { PluginRequestObserver, PluginRequestOutcome } from './plugin-app.js';

/** The endpoints of the plugin protocol, as metric labels; any other path a caller tries counts as `unknown`. */
const ENDPOINTS = [
  'Plugin.Activate',
  'VolumeDriver.Create',
  'VolumeDriver.Remove',
  'VolumeDriver.Mount',
  'VolumeDriver.Unmount',
  'VolumeDriver.Path',
  'VolumeDriver.Get',
  'VolumeDriver.List',
  'VolumeDriver.Capabilities',
  'unknown',
] as const;
const UNKNOWN = ENDPOINTS.length - 1;
const OUTCOMES = ['ok', 'error', 'refused', 'failed'] as const satisfies readonly PluginRequestOutcome[];
const OUTCOME_INDEX: Readonly<Record<PluginRequestOutcome, number>> = { ok: 0, error: 1, refused: 2, failed: 3 };

/** Upper bounds in seconds: from a cached Get (about 0.1 ms) to an EBS Mount that moves a volume within 2 minutes. */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

const REQUESTS = 'stowage_plugin_requests_total';
const DURATION = 'stowage_plugin_request_duration_seconds';

/** One sample as prom-client's registry writes it: `metricName{labels} value`. */
interface Sample {
  readonly metricName?: string;
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
}

/**
 * `stowage_plugin_requests_total{endpoint,outcome}` and the histogram `stowage_plugin_request_duration_seconds
 * {endpoint,outcome}`, kept in typed arrays rather than prom-client's own Counter and Histogram: those hash their
 * labels into a new string on every call (about 0.7 µs and some garbage a request, measured), while the plugin
 * socket's path should pay only for a few increments. The series are built when Prometheus scrapes, in prom-client's
 * format, so the registry writes them with the rest. Only cells that saw a request are written.
 */
export class PluginRequestMetrics {
  private readonly counts = new Float64Array(ENDPOINTS.length * OUTCOMES.length);
  private readonly sums = new Float64Array(ENDPOINTS.length * OUTCOMES.length);
  /** Per cell, the requests that fell in each bucket (not cumulative), the last one being +Inf. */
  private readonly buckets = new Float64Array(ENDPOINTS.length * OUTCOMES.length * (BUCKETS.length + 1));
  private readonly endpointOf = new Map<string, number>(ENDPOINTS.map((endpoint, index) => [`/${endpoint}`, index]));

  /** Counts one answered request; no allocation. */
  readonly observe: PluginRequestObserver = (path, outcome, seconds) => {
    const cell = (this.endpointOf.get(path) ?? UNKNOWN) * OUTCOMES.length + OUTCOME_INDEX[outcome];
    this.counts[cell] = (this.counts[cell] as number) + 1;
    this.sums[cell] = (this.sums[cell] as number) + seconds;
    let bucket = 0;
    while (bucket < BUCKETS.length && seconds > (BUCKETS[bucket] as number)) bucket += 1;
    const at = cell * (BUCKETS.length + 1) + bucket;
    this.buckets[at] = (this.buckets[at] as number) + 1;
  };

  /** New metrics, already added to `registry` (the ops server's). */
  static registeredIn(registry: Registry): PluginRequestMetrics {
    const metrics = new PluginRequestMetrics();
    metrics.register(registry);
    return metrics;
  }

  /** Adds both metrics to `registry`. */
  register(registry: Registry): void {
    registry.registerMetric(this.metric(REQUESTS, 'counter', REQUESTS_HELP, () => this.requestValues()));
    registry.registerMetric(this.metric(DURATION, 'histogram', DURATION_HELP, () => this.durationValues()));
  }

  private metric(name: string, type: 'counter' | 'histogram', help: string, values: () => Sample[]): Metric {
    const metric = {
      name,
      help,
      type,
      aggregator: 'sum',
      get: async () => ({ name, help, type, aggregator: 'sum', values: values() }),
      reset: () => this.reset(),
    };
    // A collector of prom-client's shape (name, help, type, get): the registry only calls get() and reset(). Its
    // typings declare `type` a numeric enum, but the registry writes it as is: it must be the string.
    return metric as unknown as Metric;
  }

  private reset(): void {
    this.counts.fill(0);
    this.sums.fill(0);
    this.buckets.fill(0);
  }

  private *cells(): Generator<{ cell: number; endpoint: string; outcome: PluginRequestOutcome }> {
    for (let e = 0; e < ENDPOINTS.length; e += 1) {
      for (let o = 0; o < OUTCOMES.length; o += 1) {
        const cell = e * OUTCOMES.length + o;
        if (this.counts[cell] !== 0)
          yield { cell, endpoint: ENDPOINTS[e] as string, outcome: OUTCOMES[o] as PluginRequestOutcome };
      }
    }
  }

  private requestValues(): Sample[] {
    return [...this.cells()].map(({ cell, endpoint, outcome }) => ({
      labels: { endpoint, outcome },
      value: this.counts[cell] as number,
    }));
  }

  private durationValues(): Sample[] {
    const values: Sample[] = [];
    for (const { cell, endpoint, outcome } of this.cells()) {
      let cumulative = 0;
      for (let b = 0; b <= BUCKETS.length; b += 1) {
        cumulative += this.buckets[cell * (BUCKETS.length + 1) + b] as number;
        const le = b < BUCKETS.length ? (BUCKETS[b] as number) : '+Inf';
        values.push({ metricName: `${DURATION}_bucket`, labels: { endpoint, outcome, le }, value: cumulative });
      }
      values.push({ metricName: `${DURATION}_sum`, labels: { endpoint, outcome }, value: this.sums[cell] as number });
      values.push({
        metricName: `${DURATION}_count`,
        labels: { endpoint, outcome },
        value: this.counts[cell] as number,
      });
    }
    return values;
  }
}

const REQUESTS_HELP =
  'Docker volume plugin requests answered, by endpoint and outcome (ok, error: Err answered, refused: 4xx, failed: 5xx)';
const DURATION_HELP = 'Time from a Docker volume plugin request to its answer, by endpoint and outcome';
