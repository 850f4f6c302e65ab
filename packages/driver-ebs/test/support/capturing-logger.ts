import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@stowage/core';

/** A logged line, as pino writes it. */
export type LogLine = Record<string, unknown> & { msg?: string };

/**
 * A real logger (debug and up) whose lines are kept for the test to read, and `next(match)` resolves with the first
 * line, past or future, for which `match` holds: a test waits for what the code logs rather than for a while.
 */
export function capturingLogger(): {
  logger: Logger;
  lines: LogLine[];
  next(match: (line: LogLine) => boolean): Promise<LogLine>;
} {
  const lines: LogLine[] = [];
  const waiting: Array<{ match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const line = JSON.parse(chunk.toString()) as LogLine;
      lines.push(line);
      for (const waiter of waiting.filter((w) => w.match(line))) {
        waiting.splice(waiting.indexOf(waiter), 1);
        waiter.resolve(line);
      }
      done();
    },
  });
  return {
    logger: createLogger({ level: 'debug', destination }),
    lines,
    next: (match) => {
      const seen = lines.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiting.push({ match, resolve }));
    },
  };
}
