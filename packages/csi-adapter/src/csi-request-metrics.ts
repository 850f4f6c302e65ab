import { status } from '@grpc/grpc-js';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { CsiRequestObserver } from './request-observer.js';

/** Upper bounds in seconds: from Probe (well under a millisecond) to a publish that attaches within Swarm's 15 s. */
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30];

/**
 * `stowage_csi_requests_total{method,code}` and the histogram `stowage_csi_request_duration_seconds{method,code}`:
 * the CSI calls answered, by method and gRPC status name (`OK`, `NOT_FOUND`...). A CO makes a few calls a second at
 * most, so prom-client's own counter and histogram are cheap enough; the labels are bounded by csi.proto's methods and
 * gRPC's codes.
 */
export class CsiRequestMetrics {
  private readonly requests: Counter<'method' | 'code'>;
  private readonly duration: Histogram<'method' | 'code'>;

  private constructor(registry: Registry) {
    this.requests = new Counter({
      name: 'stowage_csi_requests_total',
      help: 'CSI calls answered, by method and gRPC status code',
      labelNames: ['method', 'code'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'stowage_csi_request_duration_seconds',
      help: 'Time from a CSI call to its answer, by method and gRPC status code',
      labelNames: ['method', 'code'],
      buckets: BUCKETS,
      registers: [registry],
    });
  }

  /** New metrics, already added to `registry` (the ops server's). */
  static registeredIn(registry: Registry): CsiRequestMetrics {
    return new CsiRequestMetrics(registry);
  }

  /** Counts one answered call: pass it to `startCsiServer` as `observe`. */
  readonly observe: CsiRequestObserver = (method, code, seconds) => {
    const labels = { method, code: status[code] ?? String(code) };
    this.requests.inc(labels);
    this.duration.observe(labels, seconds);
  };
}
