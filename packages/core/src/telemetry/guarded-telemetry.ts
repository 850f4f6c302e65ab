import type { Logger } from '../logging/logger.js';
import type { StowageTelemetry } from './stowage-telemetry.js';

/**
 * `telemetry` with each method's failure caught and logged (once per method, then silenced), so that a broken
 * metrics exporter costs its metrics and never the volume operation that was being observed.
 */
export function guardedTelemetry(telemetry: StowageTelemetry, logger: Logger): StowageTelemetry {
  const failed = new Set<keyof StowageTelemetry>();
  const guard =
    <K extends keyof StowageTelemetry>(method: K) =>
    (observation: Parameters<StowageTelemetry[K]>[0]): void => {
      try {
        (telemetry[method] as (o: typeof observation) => void).call(telemetry, observation);
      } catch (error) {
        if (failed.has(method)) return;
        failed.add(method);
        logger.warn(
          { err: (error as Error).message, method },
          'a telemetry observer failed; its further failures are not logged',
        );
      }
    };
  return { cloudCall: guard('cloudCall'), journalWrite: guard('journalWrite') };
}
