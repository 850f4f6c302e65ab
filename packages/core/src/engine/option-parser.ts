import type { InferOptions } from '../contract/define-options.js';
import type { OptionCondition, OptionSpec, OptionValues } from '../contract/option-spec.js';
import { StowageError } from '../errors/stowage-error.js';

/** Raw option or setting values as they arrive: strings from Docker and env, maybe numbers or booleans from JSON config. */
export type RawValues = Readonly<Record<string, unknown>>;

const MAX_VALUE_LENGTH = 1024;
// Control characters in a value would end up in tags, file names or command arguments; no option needs them.
// eslint-disable-next-line no-control-regex
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;
const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);

/**
 * Validates `raw` against `specs` and returns the parsed values with defaults applied. Every problem found is
 * reported in one InvalidArgument StowageError, each as `<option>: <what is wrong>`. `subject` names what the
 * options belong to in messages (`backing=relocatable`, `driver local`). Specs made by `defineOptions` give their
 * inferred type.
 */
export function parseOptions<S extends readonly OptionSpec[]>(
  specs: S,
  raw: RawValues,
  subject: string,
): InferOptions<S> {
  const problems: string[] = [];
  const bySpec = new Map(specs.map((spec) => [spec.name, spec]));

  for (const name of Object.keys(raw)) {
    if (!bySpec.has(name)) {
      const known = specs.map((s) => s.name).join(', ') || 'none';
      problems.push(`unknown option ${JSON.stringify(name)} for ${subject} (known options: ${known})`);
    }
  }

  const parsed: Record<string, string | number | boolean> = {};
  const supplied = new Set<string>();
  for (const spec of specs) {
    // Own values only: what the caller sent, never something inherited from a prototype.
    const value = Object.hasOwn(raw, spec.name) ? raw[spec.name] : undefined;
    if (value === undefined || value === '') continue;
    supplied.add(spec.name);
    const result = parseValue(spec, value);
    if (typeof result === 'object') problems.push(`${spec.name}: ${result.problem}`);
    else parsed[spec.name] = result;
  }

  // Conditions refer to values after defaults, so fill defaults before checking them.
  const withDefaults: Record<string, string | number | boolean> = { ...parsed };
  for (const spec of specs) {
    if (withDefaults[spec.name] === undefined && spec.default !== undefined) withDefaults[spec.name] = spec.default;
  }

  for (const spec of specs) {
    // A supplied but malformed value was reported above; "required" on top of it would only confuse.
    const given = supplied.has(spec.name);
    if (!given && spec.required === true) {
      problems.push(`${spec.name}: required for ${subject}`);
    } else if (!given && typeof spec.required === 'object' && holds(spec.required, withDefaults)) {
      problems.push(`${spec.name}: required for ${describeCondition(spec.required, withDefaults)}`);
    }
    if (parsed[spec.name] !== undefined && spec.allowedOnlyWhen && !holds(spec.allowedOnlyWhen, withDefaults)) {
      problems.push(
        `${spec.name}: only allowed when ${spec.allowedOnlyWhen.option} is ${spec.allowedOnlyWhen.oneOf.join(' or ')}` +
          ` (it is ${String(withDefaults[spec.allowedOnlyWhen.option] ?? 'not set')})`,
      );
    }
  }

  if (problems.length > 0) throw StowageError.invalidArgument(problems.join('; '));
  // The specs' inferred type describes exactly what the checks above let through.
  return withDefaults as InferOptions<S>;
}

/** The string form of parsed values, as recorded with a volume and compared on a repeated create. */
export function formatOptionValues(values: OptionValues): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, String(v)]));
}

function parseValue(spec: OptionSpec, value: unknown): string | number | boolean | { problem: string } {
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
    return { problem: `must be ${spec.type === 'integer' ? 'an' : 'a'} ${spec.type}, got ${describeType(value)}` };
  }
  const text = String(value);
  if (text.length > MAX_VALUE_LENGTH)
    return { problem: `value is too long (${text.length} characters, at most ${MAX_VALUE_LENGTH})` };
  if (CONTROL_CHARACTERS.test(text)) return { problem: 'must not contain control characters' };
  // A secret setting (a credential) is never echoed: these messages reach stderr and the logs.
  const shown = spec.secret === true ? 'a secret value (not shown)' : JSON.stringify(text);

  switch (spec.type) {
    case 'integer': {
      if (!/^-?\d{1,15}$/.test(text)) return { problem: `must be a whole number, got ${shown}` };
      const n = Number(text);
      if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
        return { problem: `must be ${describeRange(spec)}, got ${spec.secret === true ? shown : n}` };
      }
      return n;
    }
    case 'boolean': {
      const word = text.toLowerCase();
      if (TRUE_WORDS.has(word)) return true;
      if (FALSE_WORDS.has(word)) return false;
      return { problem: `must be true or false, got ${shown}` };
    }
    case 'string': {
      if (spec.values && !spec.values.includes(text)) {
        return { problem: `must be one of ${spec.values.join(', ')}, got ${shown}` };
      }
      if (spec.pattern && !wholeMatch(spec.pattern, text)) {
        return { problem: `must be ${spec.patternHint ?? `of the form ${spec.pattern.source}`}, got ${shown}` };
      }
      return spec.normalize ? spec.normalize(text) : text;
    }
  }
}

function wholeMatch(pattern: RegExp, text: string): boolean {
  const m = new RegExp(pattern.source, pattern.flags.replace('g', '')).exec(text);
  return m !== null && m.index === 0 && m[0].length === text.length;
}

function holds(condition: OptionCondition, values: Record<string, string | number | boolean>): boolean {
  const v = values[condition.option];
  return v !== undefined && condition.oneOf.includes(String(v));
}

function describeCondition(condition: OptionCondition, values: Record<string, string | number | boolean>): string {
  return `${condition.option}=${String(values[condition.option])}`;
}

function describeRange(spec: OptionSpec): string {
  if (spec.min !== undefined && spec.max !== undefined) return `between ${spec.min} and ${spec.max}`;
  if (spec.min !== undefined) return `at least ${spec.min}`;
  return `at most ${String(spec.max)}`;
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : typeof value;
}
