import { UsageError } from './cli-context.js';

/**
 * Parses repeated `--opt key=value` arguments. The value may contain `=` (split at the first one) or be empty;
 * a missing `=`, an empty key or a key given twice is a usage error.
 */
export function parseOpts(values: readonly string[]): Record<string, string> {
  // No prototype: on a plain object `--opt __proto__=x` would hit the prototype setter and vanish without a word,
  // and the create would go on without it; here it stays a key, refused later as an unknown option.
  const options = Object.create(null) as Record<string, string>;
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
