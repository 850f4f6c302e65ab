import type { CloudCallObservation, JournalWriteObservation, StowageTelemetry } from '@stowage/core';
import { Counter, Histogram, type Registry } from 'prom-client';

/** From a DescribeVolumes answered in milliseconds to a snapshot copy's calls waited on for minutes. */
const CLOUD_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
/** An unsynced append takes microseconds; an fdatasync under load tens of milliseconds. */
const JOURNAL_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/**
 * {@link StowageTelemetry} as Prometheus series in `registry`: the composition root hands it to the engine and every
 * driver, so each cloud API call (through the AWS clients' middleware) and each journal write lands here.
 *
 * - `stowage_cloud_api_calls_total{service,action,outcome}`: calls, after the SDK's retries (`ok`, `error`,
 *   `throttled`); `stowage_cloud_api_attempts_retried_total{service,action}` and
 *   `stowage_cloud_api_throttles_total{service,action}` count retries and throttled attempts apart, so a call that
 *   succeeded on its third try shows in both; `stowage_cloud_api_call_duration_seconds{service,action}` times them.
 * - `stowage_journal_write_duration_seconds{journal,synced}`: each durable write of a state file.
 *
 * Labels come from the SDK's own service ids and command names, never from a caller's input, so the series stay few.
 */
export class PrometheusTelemetry implements StowageTelemetry {
  private readonly calls: Counter<'service' | 'action' | 'outcome'>;
  private readonly retries: Counter<'service' | 'action'>;
  private readonly throttles: Counter<'service' | 'action'>;
  private readonly callSeconds: Histogram<'service' | 'action'>;
  private readonly journalSeconds: Histogram<'journal' | 'synced'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.calls = new Counter({
      name: 'stowage_cloud_api_calls_total',
      help: 'Cloud API calls by service, action and outcome (ok, error, throttled), after the SDK retries',
      labelNames: ['service', 'action', 'outcome'],
      registers,
    });
    this.retries = new Counter({
      name: 'stowage_cloud_api_attempts_retried_total',
      help: 'Attempts the SDK sent again after a failed one, by service and action',
      labelNames: ['service', 'action'],
      registers,
    });
    this.throttles = new Counter({
      name: 'stowage_cloud_api_throttles_total',
      help: 'Attempts the cloud refused as throttled (request rate), retried ones included, by service and action',
      labelNames: ['service', 'action'],
      registers,
    });
    this.callSeconds = new Histogram({
      name: 'stowage_cloud_api_call_duration_seconds',
      help: 'Cloud API call latency, retries and back-off included, by service and action',
      labelNames: ['service', 'action'],
      buckets: CLOUD_BUCKETS,
      registers,
    });
    this.journalSeconds = new Histogram({
      name: 'stowage_journal_write_duration_seconds',
      help: 'Writes of a state journal (mounts, catalogue), by whether they were synced to disk',
      labelNames: ['journal', 'synced'],
      buckets: JOURNAL_BUCKETS,
      registers,
    });
  }

  cloudCall({ service, action, outcome, attempts, throttles, seconds }: CloudCallObservation): void {
    this.calls.inc({ service, action, outcome });
    const labels = { service, action };
    // Zero increments still create the series, so a dashboard's rate() has a 0 to show before the first retry.
    this.retries.inc(labels, Math.max(0, attempts - 1));
    this.throttles.inc(labels, Math.max(0, throttles));
    this.callSeconds.observe(labels, seconds);
  }

  journalWrite({ journal, seconds, synced }: JournalWriteObservation): void {
    this.journalSeconds.observe({ journal, synced: synced ? 'true' : 'false' }, seconds);
  }
}
