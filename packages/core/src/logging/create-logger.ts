import { pino } from 'pino';
import type { StowageConfig } from '../config/stowage-config.js';
import type { Logger } from './logger.js';

/** Options of {@link createLogger}. */
export interface CreateLoggerOptions {
  /** The least severe level written; `info` by default. */
  level?: StowageConfig['logLevel'];
  /** Where JSON lines go; standard output by default. */
  destination?: NodeJS.WritableStream;
  /** Written as `name` on every line, to tell Stowage's lines from others in a shared log. */
  name?: string;
}

/** Field names that hold credentials in the AWS SDK, HTTP headers and driver settings. */
const CREDENTIAL_KEYS = [
  'secretAccessKey',
  'accessKeyId',
  'sessionToken',
  'secretKey',
  'password',
  'passphrase',
  'token',
  'accessToken',
  'refreshToken',
  'apiKey',
  'privateKey',
  'credentials',
  'authorization',
  'Authorization',
  'cookie',
];

/**
 * Redaction paths match a fixed depth (`*` is one level), so each key is listed at the top and up to three
 * objects deep, which covers a request, a driver's settings or an SDK error's fields. Each level costs every log
 * call some microseconds, hence not deeper: logging credentials stays forbidden, this only limits the damage.
 */
const REDACT_DEPTH = 4;
const REDACT_PATHS = CREDENTIAL_KEYS.flatMap((key) =>
  Array.from({ length: REDACT_DEPTH }, (_, depth) => [...Array<string>(depth).fill('*'), key].join('.')),
);

/**
 * The structured logger of a Stowage process: pino, writing one JSON object per line to `destination`, with
 * credential-looking fields (`secretAccessKey`, `password`, `token`, `authorization`...) replaced by
 * `[redacted]` at the top level and up to three objects deep.
 */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const settings = {
    level: options.level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    ...(options.name === undefined ? {} : { name: options.name }),
  };
  return options.destination === undefined ? pino(settings) : pino(settings, options.destination);
}
