import path from 'node:path';
import * as z from 'zod';

/** `sun_path` is 108 bytes on Linux, one of which is the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107;

const absolutePath = z.string().superRefine((value, ctx) => {
  if (!path.isAbsolute(value)) ctx.addIssue({ code: 'custom', message: `must be an absolute path, got "${value}"` });
});

const unixSocketPath = absolutePath.superRefine((value, ctx) => {
  const bytes = Buffer.byteLength(value);
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    ctx.addIssue({
      code: 'custom',
      message: `must be at most ${MAX_SOCKET_PATH_BYTES} bytes to fit a unix socket address, "${value}" is ${bytes}`,
    });
  }
});

/** Whole seconds in [1, max], as a number (file) or its decimal digits (environment). */
const wholeSeconds = (max: number) =>
  z.preprocess(
    (value) => (typeof value === 'string' && /^\d{1,9}$/.test(value) ? Number(value) : value),
    z
      .number({ error: (issue) => `must be a whole number of seconds, got ${JSON.stringify(issue.input)}` })
      .int({ error: (issue) => `must be a whole number of seconds, got ${JSON.stringify(issue.input)}` })
      .min(1, { error: 'must be at least 1' })
      .max(max, { error: `must be at most ${max}` }),
  );

/**
 * Schemas for values that recur in config sections, with the messages core's own keys use, so every section
 * refuses the same mistake in the same words (and a config file reads as one thing, whoever owns a key).
 */
export const configValues = {
  /** An absolute path. */
  absolutePath,
  /** An absolute path short enough for a unix socket address (at most 107 bytes on Linux). */
  unixSocketPath,
  /** Whole seconds from 1 to `max`: a number in the file, its digits in the environment. */
  wholeSeconds,
} as const;
