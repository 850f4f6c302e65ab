import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import * as z from 'zod';
import { StowageError } from '../errors/stowage-error.js';
import type { ConfigSections, SectionEnvironment, SectionValue } from './config-section.js';
import { configValues } from './config-values.js';
import type { DriverConfig, StowageConfig } from './stowage-config.js';

/** Where Stowage keeps its state when neither the config file nor `STOWAGE_STATE_DIR` says otherwise. */
export const DEFAULT_STATE_DIR = '/var/lib/stowage';

type Environment = Readonly<Record<string, string | undefined>>;

/** What {@link loadConfig} reads. */
export interface LoadConfigInput<S extends ConfigSections = ConfigSections> {
  /** A JSON config file (`--config`); relative paths are taken from the working directory. */
  file?: string;
  /** The environment, which overrides the file; `process.env` when omitted. */
  env?: Environment;
  /**
   * The config sections of the adapters this program runs, by name: their keys are accepted in the file, their
   * variables are never read as driver settings, and their values come back under `sections`.
   */
  sections?: S;
  /**
   * What to do with a top-level file key that neither core nor a given section knows. `reject` (the default)
   * fails, so a misspelt key never silently does nothing. `ignore` is for a program that reads a file shared with
   * adapters it does not run (an embedder reading the operator's `/etc/stowage.json`, which also configures the
   * Docker plugin): their keys are skipped unchecked here, and are checked by the adapter that runs them. Keys
   * inside `drivers` are always checked.
   */
  unknownKeys?: 'reject' | 'ignore';
}

/** What {@link loadConfig} returns: core's configuration, and each given section's value under its name. */
export type LoadedConfig<S extends ConfigSections = ConfigSections> = StowageConfig & {
  readonly sections: { readonly [K in keyof S]: SectionValue<S[K]> };
};

const LOG_LEVELS = [
  'trace',
  'debug',
  'info',
  'warn',
  'error',
  'fatal',
  'silent',
] as const satisfies readonly StowageConfig['logLevel'][];
const DRIVER_NAME = /^[a-z][a-z0-9]*$/;
/** The part of `STOWAGE_<DRIVER>_<SETTING>` after the driver: upper snake case. */
const ENV_SETTING = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$/;

const ENV = {
  stateDir: 'STOWAGE_STATE_DIR',
  defaultBacking: 'STOWAGE_DEFAULT_BACKING',
  logLevel: 'STOWAGE_LOG_LEVEL',
  drivers: 'STOWAGE_DRIVERS',
} as const;

const { absolutePath } = configValues;

const logLevel = z.enum(LOG_LEVELS, {
  error: (issue) => `must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(issue.input)}`,
});

const driverName = z.string().regex(DRIVER_NAME, {
  error: (issue) =>
    `driver name ${JSON.stringify(issue.input)} must be lower-case letters and digits, starting with a letter`,
});

const backingName = z.string().min(1, { error: 'must not be empty' });

const moduleSpecifier = z.string().min(1, { error: 'must be a package name or a path, not empty' });

const settingValue = z.union([z.string(), z.number(), z.boolean()], {
  error: (issue) => `must be a string, a number or a boolean, got ${JSON.stringify(issue.input)}`,
});

/** Core's own keys of the config file. */
const coreFileKeys = {
  stateDir: absolutePath.optional(),
  defaultBacking: backingName.optional(),
  logLevel: logLevel.optional(),
  drivers: z
    .record(
      driverName,
      z.strictObject({
        module: moduleSpecifier.optional(),
        settings: z.record(z.string(), settingValue).optional(),
      }),
    )
    .optional(),
};

type CoreFile = z.infer<z.ZodObject<typeof coreFileKeys>>;

/**
 * Reads Stowage's configuration once, at start-up: the optional JSON file, then the environment over it, then
 * the defaults, and validates the result. Core reads only what the engine and the drivers need; an adapter's own
 * settings (the Docker adapter's socket) are read through its {@link ConfigSection}, given in `input.sections`.
 *
 * `STOWAGE_STATE_DIR`, `STOWAGE_DEFAULT_BACKING` and `STOWAGE_LOG_LEVEL` override the file's keys;
 * `STOWAGE_DRIVERS` (comma-separated names) replaces the file's set of enabled drivers, keeping the file's settings
 * of the drivers it names; `STOWAGE_<DRIVER>_MODULE` and `STOWAGE_<DRIVER>_<SETTING>` (the camelCase setting in
 * upper snake case: `STOWAGE_EBS_CLUSTER_ID` is `clusterId`) set an enabled driver's module and settings, as
 * strings. Variables of drivers that are not enabled are ignored, and so are core's and the sections' own
 * variables. An empty variable counts as unset, because a managed plugin declares every variable it accepts with a
 * default value, usually empty.
 *
 * With no file and no environment, the state directory is {@link DEFAULT_STATE_DIR}, the log level `info`, and
 * only the `local` driver is enabled.
 *
 * A relative `module` in the file (`./x.js`, `../x.js`, or `dist/x.js` when that file exists) is resolved against the
 * file's directory, and in the environment against the working directory; package names and absolute paths are
 * kept as they are.
 *
 * @throws StowageError InvalidArgument, with a message starting `config:` that names the file or the variable and
 *   the key, when the file cannot be read or parsed, has unknown keys (unless `unknownKeys` is `ignore`), or any
 *   value is invalid.
 * @throws Error when two sections, or a section and core, claim the same file key or variable.
 */
export async function loadConfig<const S extends ConfigSections = Record<never, never>>(
  input: LoadConfigInput<S> = {},
): Promise<LoadedConfig<S>> {
  const sections: ConfigSections = input.sections ?? {};
  const { fileSchema, reserved } = composeSections(sections, input.unknownKeys ?? 'reject');
  const file = input.file === undefined ? undefined : path.resolve(input.file);
  const fromFile: Record<string, unknown> = file === undefined ? {} : await readConfigFile(file, fileSchema);
  const coreFile = fromFile as CoreFile;
  const env = input.env ?? process.env;
  const fromEnv = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value === '' ? undefined : value;
  };
  const envValue = <T>(schema: z.ZodType<T>, name: string): T | undefined => {
    const value = fromEnv(name);
    return value === undefined ? undefined : parseOrThrow(schema, value, name);
  };

  const stateDir = envValue(absolutePath, ENV.stateDir) ?? coreFile.stateDir ?? DEFAULT_STATE_DIR;
  const defaultBacking = envValue(backingName, ENV.defaultBacking) ?? coreFile.defaultBacking;
  const level = envValue(logLevel, ENV.logLevel) ?? coreFile.logLevel ?? 'info';

  const fileDrivers = coreFile.drivers ?? {};
  const names = enabledDriverNames(fromEnv(ENV.drivers)) ?? Object.keys(fileDrivers);
  if (names.length === 0) names.push('local');

  const drivers: Record<string, DriverConfig> = {};
  for (const name of names) {
    const base = Object.hasOwn(fileDrivers, name) ? fileDrivers[name] : undefined;
    const fromDriverEnv = driverEnv(name, env, reserved);
    const fileModule =
      base?.module === undefined || file === undefined
        ? base?.module
        : await resolveModule(base.module, path.dirname(file));
    const envModule =
      fromDriverEnv.module === undefined ? undefined : await resolveModule(fromDriverEnv.module, process.cwd());
    const module = envModule ?? fileModule;
    drivers[name] = {
      ...(module === undefined ? {} : { module }),
      settings: { ...base?.settings, ...fromDriverEnv.settings },
    };
  }

  const values: Record<string, unknown> = {};
  for (const [name, section] of Object.entries(sections)) {
    const declared = new Set(section.envNames);
    const sectionEnv: SectionEnvironment = {
      read: (variable, schema) => {
        if (!declared.has(variable)) {
          throw new Error(`config section "${name}" reads ${variable}, which is not among its envNames`);
        }
        return envValue(schema, variable);
      },
    };
    const sectionFile = Object.fromEntries(
      Object.keys(section.fileKeys)
        .filter((key) => Object.hasOwn(fromFile, key) && fromFile[key] !== undefined)
        .map((key) => [key, fromFile[key]]),
    );
    values[name] = section.resolve(sectionFile, sectionEnv);
  }

  return {
    stateDir,
    ...(defaultBacking === undefined ? {} : { defaultBacking }),
    logLevel: level,
    drivers,
    sections: values as LoadedConfig<S>['sections'],
  };
}

/**
 * The file's schema (core's keys and every section's, each optional) and the variables never read as driver
 * settings: core's own, or a driver named `state`, `default` or `log` would take `STOWAGE_STATE_DIR` for its setting
 * `dir`, and every section's.
 */
function composeSections(
  sections: ConfigSections,
  unknownKeys: 'reject' | 'ignore',
): { fileSchema: z.ZodType<Record<string, unknown>>; reserved: ReadonlySet<string> } {
  const keys: Record<string, z.ZodType> = { ...coreFileKeys };
  const owners = new Map<string, string>(Object.keys(coreFileKeys).map((key) => [key, 'core']));
  const reserved = new Map<string, string>(Object.values(ENV).map((variable) => [variable, 'core']));
  for (const [name, section] of Object.entries(sections)) {
    for (const [key, schema] of Object.entries(section.fileKeys)) {
      const owner = owners.get(key);
      if (owner !== undefined)
        throw new Error(`config section "${name}" claims file key "${key}", which is ${owner}'s`);
      owners.set(key, `section "${name}"`);
      keys[key] = schema.optional();
    }
    for (const variable of section.envNames) {
      const owner = reserved.get(variable);
      if (owner !== undefined) throw new Error(`config section "${name}" claims ${variable}, which is ${owner}'s`);
      reserved.set(variable, `section "${name}"`);
    }
  }
  const fileSchema = unknownKeys === 'reject' ? z.strictObject(keys) : z.object(keys);
  return { fileSchema, reserved: new Set(reserved.keys()) };
}

async function readConfigFile(
  file: string,
  schema: z.ZodType<Record<string, unknown>>,
): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw StowageError.invalidArgument(`config: cannot read config file ${file}: ${reason}`, error);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw StowageError.invalidArgument(`config: ${file} is not valid JSON: ${reason}`, error);
  }
  const forbidden = prototypeKeyPath(json);
  if (forbidden !== undefined) {
    // zod's records drop such a key without a word; a setting that silently does nothing is worse than an error.
    throw StowageError.invalidArgument(
      `config: ${file}: key "__proto__" at ${forbidden || 'the top level'} is not a valid name`,
    );
  }
  return parseOrThrow(schema, json, file);
}

/** Where, in parsed JSON, an own `__proto__` key is (a dotted path, '' for the top), or undefined if nowhere. */
function prototypeKeyPath(value: unknown, at = ''): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (!Array.isArray(value) && Object.hasOwn(value, '__proto__')) return at;
  for (const [key, child] of Object.entries(value)) {
    const found = prototypeKeyPath(child, at === '' ? key : `${at}.${key}`);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The names in `STOWAGE_DRIVERS`, or undefined when it is unset, so that the file's set applies. */
function enabledDriverNames(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const names = [
    ...new Set(
      value
        .split(',')
        .map((name) => name.trim())
        .filter((name) => name !== ''),
    ),
  ];
  if (names.length === 0) {
    throw StowageError.invalidArgument(`config: ${ENV.drivers}: names no driver, got "${value}"`);
  }
  for (const name of names) parseOrThrow(driverName, name, ENV.drivers);
  return names;
}

/** `STOWAGE_<DRIVER>_MODULE` and `STOWAGE_<DRIVER>_<SETTING>` of one enabled driver. */
function driverEnv(
  name: string,
  env: Environment,
  reserved: ReadonlySet<string>,
): { module?: string; settings: Record<string, string> } {
  const prefix = `STOWAGE_${name.toUpperCase()}_`;
  const settings: Record<string, string> = {};
  let module: string | undefined;
  for (const [variable, value] of Object.entries(env)) {
    if (!variable.startsWith(prefix) || reserved.has(variable) || value === undefined || value === '') continue;
    const setting = variable.slice(prefix.length);
    if (setting === 'MODULE') {
      module = value;
    } else if (ENV_SETTING.test(setting)) {
      settings[camelCase(setting)] = value;
    } else {
      throw StowageError.invalidArgument(
        `config: ${variable}: "${setting}" is not a setting name; ` +
          `write driver settings as ${prefix}<SETTING> in upper snake case, e.g. ${prefix}CLUSTER_ID for clusterId`,
      );
    }
  }
  return { ...(module === undefined ? {} : { module }), settings };
}

/**
 * The environment variable that sets `setting` of driver `driver`: `('ebs', 'clusterId')` → `STOWAGE_EBS_CLUSTER_ID`.
 * The inverse of how {@link loadConfig} reads them, for tools that declare the variables (the managed plugin).
 */
export function driverSettingEnvName(driver: string, setting: string): string {
  const snake = setting.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
  return `STOWAGE_${driver.toUpperCase()}_${snake}`;
}

/** `CLUSTER_ID` → `clusterId`. */
function camelCase(upperSnake: string): string {
  return upperSnake
    .toLowerCase()
    .split('_')
    .map((word, index) => (index === 0 ? word : word.charAt(0).toUpperCase() + word.slice(1)))
    .join('');
}

/**
 * A module path relative to `base` made absolute: `./x.js` and `../x.js` always, and a name with no leading `./`
 * (`dist/index.js`) when it is a file there, since that is what someone who types a path means. Anything else is
 * a package name (or an absolute path or URL) and is kept.
 */
async function resolveModule(specifier: string, base: string): Promise<string> {
  if (specifier.startsWith('./') || specifier.startsWith('../')) return path.resolve(base, specifier);
  if (path.isAbsolute(specifier) || specifier.startsWith('file:')) return specifier;
  const candidate = path.resolve(base, specifier);
  const isFile = await stat(candidate).then(
    (s) => s.isFile(),
    () => false,
  );
  return isFile ? candidate : specifier;
}

/** Parses `value` or throws one InvalidArgument listing every problem, each as `<where>: <key>: <what>`. */
function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map(describeIssue);
  throw StowageError.invalidArgument(`config: ${where}: ${problems.join('; ')}`, result.error);
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const key = issue.path.map(String).join('.');
  const prefix = key === '' ? '' : `${key}: `;
  switch (issue.code) {
    case 'unrecognized_keys':
      return `${prefix}unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    case 'invalid_key':
      return `${prefix}${issue.issues.map((inner) => inner.message).join('; ')}`;
    default:
      return `${prefix}${issue.message}`;
  }
}
