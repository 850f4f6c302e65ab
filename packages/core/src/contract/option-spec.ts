/**
 * A condition on another option's value, used by {@link OptionSpec.required} and {@link OptionSpec.allowedOnlyWhen}.
 * It holds when option `option` (after defaults) has one of the values in `oneOf`.
 */
export interface OptionCondition {
  readonly option: string;
  readonly oneOf: readonly string[];
}

/** The types an option value can have once parsed. */
export type OptionType = 'string' | 'integer' | 'boolean';

/**
 * One option a provider accepts at create time (`--opt name=value`), or one setting a driver accepts in config.
 * The engine validates every request against these before the provider is called, with messages such as
 * `size: required for backing=relocatable` or `ebstype: must be one of gp2, gp3, io1`.
 */
export interface OptionSpec {
  /** The option's name as users type it; lower case by convention (`size`, `ebstype`). */
  readonly name: string;
  readonly type: OptionType;
  /** One line shown in help and error messages. */
  readonly description: string;
  /** Used when the user gives no value. Not combined with `required: true`. */
  readonly default?: string | number | boolean;
  /** The only values accepted (string options), listed in the error message when another is given. */
  readonly values?: readonly string[];
  /** Inclusive bounds for integer options. */
  readonly min?: number;
  readonly max?: number;
  /** A pattern a string value must match entirely, with `patternHint` telling users what it means. */
  readonly pattern?: RegExp;
  readonly patternHint?: string;
  /**
   * Rewrites a valid string value to its one canonical spelling (`755` to `0755`), so that the recorded options
   * of a volume compare equal however the user wrote them.
   */
  readonly normalize?: (value: string) => string;
  /** `true`: always required. A condition: required when it holds (`iops` when `ebstype` is io1). */
  readonly required?: boolean | OptionCondition;
  /** Refused unless the condition holds (`throughput` only for `ebstype=gp3`). */
  readonly allowedOnlyWhen?: OptionCondition;
  /** Settings only: hidden from logs (credentials). */
  readonly secret?: boolean;
}

/** Parsed option values, keyed by option name; absent options with no default are absent here too. */
export type OptionValues = Readonly<Record<string, string | number | boolean>>;
