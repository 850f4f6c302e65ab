import { PassThrough } from 'node:stream';
import { createLogger, type Logger } from '@stowage/core';

/** A logger at trace level and every line it wrote, as text: what a token must never appear in. */
export function capturingLogger(): { logger: Logger; text: () => string } {
  const destination = new PassThrough();
  let text = '';
  destination.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return { logger: createLogger({ level: 'trace', destination }), text: () => text };
}
