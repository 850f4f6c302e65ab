import type { Logger } from '@stowage/core';

const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * Resolves with the first stop signal. A second one while shutting down exits at once: the operator insists, and
 * each change of the mount table is one fdatasync'd journal line (a torn last line is cut off at the next start), so
 * nothing is left half written.
 */
export function stopSignal(logger: Logger): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let received = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (received) {
        logger.warn({ signal }, 'second stop signal: exiting without finishing the shutdown');
        process.exit(1);
      }
      received = true;
      resolve(signal);
    };
    for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  });
}
