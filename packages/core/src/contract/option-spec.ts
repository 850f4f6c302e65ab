/**
 * A condition on another option's value, used by {@link OptionSpec.required} and {@link OptionSpec.allowedOnlyWhen}.
 * It holds when option `option` (after defaults) has one of the values in `oneOf`.
 */
export interface OptionCondition {
  readonly option: string;
  readonly oneOf: readonly string[];
}

/**
 * The types an option value can have once parsed: `string` stays a string, `integer` (`-?\d{1,15}`) becomes a
 * number, `boolean` (`true/false`, `1/0`, `yes/no`, `on/off`) becomes a boolean.
 */
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
  /**
   * Used when the user gives no value (an empty value counts as none), of the option's type. It is recorded with
   * the volume like a given value. Not combined with `required: true`.
   */
  readonly default?: string | number | boolean;
  /** The only values accepted (string options), listed in the error message when another is given. */
  readonly values?: readonly string[];
  /** Inclusive lower bound for integer options (`size: must be between 1 and 16384, got 0`). */
  readonly min?: number;
  /** Inclusive upper bound for integer options. */
  readonly max?: number;
  /**
   * A pattern a string value must match entirely (no anchors needed), checked after `values`. Give `patternHint`
   * too: the message reads `<name>: must be <patternHint>, got "<value>"`.
   */
  readonly pattern?: RegExp;
  /** What `pattern` means to a user, completing "must be ...": `an octal mode such as 755 or 0750`. */
  readonly patternHint?: string;
  /**
   * Rewrites a valid string value to its one canonical spelling (`755` to `0755`), so that the recorded options
   * of a volume compare equal however the user wrote them.
   */
  readonly normalize?: (value: string) => string;
  /**
   * `true`: always required (`size: required for backing=loopfs`). A condition: required when it holds, defaults
   * included (`iops: required for ebstype=io1`).
   */
  readonly required?: boolean | OptionCondition;
  /**
   * Refused unless the condition holds, defaults included (`throughput: only allowed when ebstype is gp3 (it is gp2)`).
   */
  readonly allowedOnlyWhen?: OptionCondition;
  /** Settings only: hidden from logs (credentials). */
  readonly secret?: boolean;
}

/** Parsed option values, keyed by option name; absent options with no default are absent here too. */
export type OptionValues = Readonly<Record<string, string | number | boolean>>;
