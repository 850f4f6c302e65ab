import { UsageError } from './cli-context.js';

/**
 * Parses repeated `--opt key=value` arguments. The value may contain `=` (split at the first one) or be empty;
 * a missing `=`, an empty key or a key given twice is a usage error.
 */
export function parseOpts(values: readonly string[]): Record<string, string> {
  const options: Record<string, string> = {};
  for (const value of values) {
    const at = value.indexOf('=');
    if (at < 0) throw new UsageError(`--opt ${JSON.stringify(value)}: expected key=value`);
    const key = value.slice(0, at).trim();
    if (key === '') throw new UsageError(`--opt ${JSON.stringify(value)}: the key before '=' is empty`);
    if (Object.hasOwn(options, key)) throw new UsageError(`--opt ${key}: given more than once`);
    options[key] = value.slice(at + 1);
  }
  return options;
}
