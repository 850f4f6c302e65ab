import type { OptionCondition, OptionSpec, OptionValues } from './option-spec.js';

// Type-only: the parsed values an option list stands for. Never set at run time; `InferOptions` reads it.
declare const parsedValues: unique symbol;

/**
 * Option specs that remember, in their type, what they parse to: what {@link defineOptions} returns. At run time a
 * plain `OptionSpec[]`, so the engine, `parseOptions` and every existing caller take it as one.
 */
export type OptionSpecs<T extends object = OptionValues> = readonly OptionSpec[] &
  (string extends keyof T ? unknown : { readonly [parsedValues]: T });

/**
 * What option specs parse to: `InferOptions<typeof LOOPFS_OPTIONS>` is `{ readonly size: number }`. An option with a
 * default or `required: true` is always present; any other may be absent. A plain `OptionSpec[]` gives
 * {@link OptionValues}.
 */
export type InferOptions<S> = S extends { readonly [parsedValues]: infer T } ? T : OptionValues;

/** What every kind of option declaration accepts; see {@link OptionSpec} for each field. */
interface DeclarationBase<Name extends string> {
  readonly description: string;
  readonly required?: boolean | TypedCondition<Name>;
  readonly allowedOnlyWhen?: TypedCondition<Name>;
  /** Settings only: hidden from logs and error messages (credentials). */
  readonly secret?: boolean;
}

/** An {@link OptionCondition} whose `option` must be one of the declared names: a typo fails to compile. */
export interface TypedCondition<Name extends string> extends OptionCondition {
  readonly option: Name;
}

/** A string option: `values` narrows its type to those literals. */
export interface StringOptionDeclaration<Name extends string = string> extends DeclarationBase<Name> {
  readonly type: 'string';
  readonly default?: string;
  readonly values?: readonly string[];
  readonly pattern?: RegExp;
  readonly patternHint?: string;
  readonly normalize?: (value: string) => string;
  readonly min?: never;
  readonly max?: never;
}

/** An integer option, parsed to a number. */
export interface IntegerOptionDeclaration<Name extends string = string> extends DeclarationBase<Name> {
  readonly type: 'integer';
  readonly default?: number;
  readonly min?: number;
  readonly max?: number;
  readonly values?: never;
  readonly pattern?: never;
  readonly normalize?: never;
}

/** A boolean option (`true/false`, `1/0`, `yes/no`, `on/off`), parsed to a boolean. */
export interface BooleanOptionDeclaration<Name extends string = string> extends DeclarationBase<Name> {
  readonly type: 'boolean';
  readonly default?: boolean;
  readonly values?: never;
  readonly pattern?: never;
  readonly normalize?: never;
  readonly min?: never;
  readonly max?: never;
}

/** One option as {@link defineOptions} takes it: an {@link OptionSpec} without its name, which is its key. */
export type OptionDeclaration<Name extends string = string> =
  StringOptionDeclaration<Name> | IntegerOptionDeclaration<Name> | BooleanOptionDeclaration<Name>;

/** The declarations of {@link defineOptions}, keyed by option name, each condition naming one of them. */
export type OptionDeclarations<T> = { readonly [K in keyof T]: OptionDeclaration<Extract<keyof T, string>> };

type ValueOf<D> = D extends { readonly type: 'integer' }
  ? number
  : D extends { readonly type: 'boolean' }
    ? boolean
    : D extends { readonly values: readonly (infer V extends string)[] }
      ? V
      : string;

type AlwaysPresent<D> = D extends { readonly default: string | number | boolean } | { readonly required: true }
  ? true
  : false;

// One object type rather than an intersection, so editors show `{ readonly size: number }`.
type Flatten<T> = { [K in keyof T]: T[K] } & {};

/** The parsed values of declarations `T`, as {@link InferOptions} reports them. */
export type ValuesOf<T> = Flatten<
  { readonly [K in keyof T as AlwaysPresent<T[K]> extends true ? K : never]: ValueOf<T[K]> } & {
    readonly [K in keyof T as AlwaysPresent<T[K]> extends true ? never : K]?: ValueOf<T[K]>;
  }
>;

/**
 * Declares create options or driver settings once, keyed by name, and returns them as {@link OptionSpecs} whose
 * parsed type {@link InferOptions} infers: no hand-written type to keep in step.
 *
 * ```ts
 * export const LOOPFS_OPTIONS = defineOptions({
 *   size: { type: 'integer', description: 'size in MiB', default: 1024, min: 16 },
 *   fstype: { type: 'string', description: 'file system', values: ['ext4', 'xfs'], default: 'ext4' },
 * });
 * // { readonly size: number; readonly fstype: 'ext4' | 'xfs' }
 * type LoopfsOptions = InferOptions<typeof LOOPFS_OPTIONS>;
 * ```
 *
 * The declarations are checked here, once, so a wrong one fails when the driver is imported rather than on a user's
 * request: a default must be a valid value of its own option, and a condition must name a declared option.
 *
 * @throws Error describing the declaration that is wrong.
 */
export function defineOptions<const T extends OptionDeclarations<T>>(declarations: T): OptionSpecs<ValuesOf<T>> {
  const entries = Object.entries(declarations as Record<string, OptionDeclaration>);
  const specs: OptionSpec[] = entries.map(([name, declaration]) => ({ name, ...declaration }));
  for (const spec of specs) checkDeclaration(spec, specs);
  return specs as unknown as OptionSpecs<ValuesOf<T>>;
}

function checkDeclaration(spec: OptionSpec, specs: readonly OptionSpec[]): void {
  const wrong = (what: string): never => {
    throw new Error(`option "${spec.name}" is declared wrong: ${what}`);
  };
  for (const condition of [spec.required, spec.allowedOnlyWhen]) {
    if (typeof condition === 'object' && !specs.some((other) => other.name === condition.option)) {
      wrong(`its condition names option "${condition.option}", which is not declared`);
    }
  }
  if (spec.default === undefined) return;
  if (spec.required === true) wrong('a default makes no sense on an option that is always required');
  const expected = spec.type === 'integer' ? 'number' : spec.type;
  if (typeof spec.default !== expected) wrong(`its default ${JSON.stringify(spec.default)} is not a ${expected}`);
  if (spec.values !== undefined && !spec.values.includes(String(spec.default))) {
    wrong(`its default "${String(spec.default)}" is not one of ${spec.values.join(', ')}`);
  }
  const n = spec.default;
  if (typeof n === 'number' && ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max))) {
    wrong(`its default ${n} is out of its bounds`);
  }
}
