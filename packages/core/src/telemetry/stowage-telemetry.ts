/**
 * How one cloud API call ended, as the caller saw it after the SDK's retries: `throttled` when the last attempt was
 * refused for the account's request rate (the SDK's own classification), `error` for any other failure.
 */
export type CloudCallOutcome = 'ok' | 'error' | 'throttled';

/** One cloud API call, retries included: what a metrics exporter counts and times. Never parameters or credentials. */
export interface CloudCallObservation {
  /** The API: the SDK client's service id in lower case (`ec2`, `efs`). */
  readonly service: string;
  /** The operation: `DescribeVolumes`, `CreateAccessPoint`. */
  readonly action: string;
  readonly outcome: CloudCallOutcome;
  /** Requests sent for the call: 1 unless the SDK retried it. 0 when it failed before any was sent (no credentials). */
  readonly attempts: number;
  /** Attempts the service refused as throttled, retried ones included: an account near its limit shows here first. */
  readonly throttles: number;
  /** From the call's start to its answer, retries and their back-off included. */
  readonly seconds: number;
  /** The error's code (`RequestLimitExceeded`, `InvalidVolume.NotFound`, `TimeoutError`) when the call failed. */
  readonly errorCode?: string;
}

/** One durable write of a state file's changes (the mount table's or the catalogue's journal): a group commit. */
export interface JournalWriteObservation {
  /** Which state file: `mounts`, `catalogue`. */
  readonly journal: string;
  /** From the start of the write to the changes being on disk (or written, when not synced). */
  readonly seconds: number;
  /** Whether the write ended with an fdatasync (or a snapshot's fsync); `false` for changes a power cut may lose. */
  readonly synced: boolean;
}

/**
 * What Stowage reports for metrics, to whatever the embedder plugs in (the HTTP ops server's Prometheus registry):
 * observations only, answered at once. A method must not throw or block; the composition root guards against one
 * that does (see `guardedTelemetry`), so that a metrics bug never fails a mount. Given to drivers as
 * `DriverContext.telemetry`: a driver that calls a cloud API reports each call with {@link cloudCall}.
 */
export interface StowageTelemetry {
  /** One cloud API call, after its last attempt. */
  cloudCall(observation: CloudCallObservation): void;
  /** One write of a state journal, once it succeeded. */
  journalWrite(observation: JournalWriteObservation): void;
}

/** Telemetry that records nothing: what a Stowage composed without any reports to. */
export const NO_TELEMETRY: StowageTelemetry = Object.freeze({
  cloudCall: () => undefined,
  journalWrite: () => undefined,
});
