import type { Logger } from '@stowage/core';

/** How often a wait that goes on says what it waits for. */
export const PROGRESS_LOG_MS = 10_000;

/** What a long wait logs: its fields, a sentence naming what it waits for, and how far the thing waited for is. */
export interface ProgressLog {
  readonly logger: Logger;
  /** Fields of every line (`volume`, `volumeId`...). */
  readonly fields: Record<string, unknown>;
  /** What is waited for, as the end of "still waiting for ...": `EBS volume vol-x to become available`. */
  readonly what: string;
  /** Where the thing waited for stands now (`{ state: 'creating' }`), read at each line. */
  readonly detail?: () => Record<string, unknown>;
  readonly everyMs?: number;
}

/**
 * Waits for `work`, logging every {@link PROGRESS_LOG_MS} (or `everyMs`) while it is pending what it waits for and
 * how long so far, so that an operator reading the log of a slow Mount sees where it is.
 */
export async function withProgressLog<T>(log: ProgressLog, work: Promise<T>): Promise<T> {
  const started = Date.now();
  const timer = setInterval(() => {
    log.logger.info(
      { ...log.fields, ...log.detail?.(), waitedSeconds: Math.round((Date.now() - started) / 1000) },
      `still waiting for ${log.what}`,
    );
  }, log.everyMs ?? PROGRESS_LOG_MS);
  // The log alone must not keep the process alive.
  timer.unref();
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}
