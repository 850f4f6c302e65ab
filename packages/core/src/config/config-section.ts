import type * as z from 'zod';

/** The schemas of a section's top-level config file keys, by key. */
export type SectionFileKeys = Readonly<Record<string, z.ZodType>>;

/** A section's file keys as {@link loadConfig} hands them over: validated, and absent when the file does not set them. */
export type SectionFileValues<Keys extends SectionFileKeys> = { readonly [K in keyof Keys]?: z.output<Keys[K]> };

/** The environment as a section reads it, with core's rules: empty counts as unset, bad values fail as `config:`. */
export interface SectionEnvironment {
  /**
   * The variable `name` parsed with `schema`, or undefined when it is unset or empty.
   * @throws StowageError InvalidArgument `config: <name>: <problem>` when the value does not parse.
   * @throws Error when `name` is not among the section's `envNames`: an undeclared variable could be read as a
   *   driver setting as well.
   */
  read<T>(name: string, schema: z.ZodType<T>): T | undefined;
}

/**
 * The settings of one adapter (or other program around the engine) that live in Stowage's config file and
 * environment beside core's: the Docker adapter's socket, a future HTTP adapter's listen address. Core knows no
 * adapter; a program passes the sections it runs to {@link loadConfig}, which then accepts their keys in the file,
 * never takes their variables for driver settings, and returns each section's value under its name.
 */
export interface ConfigSection<Keys extends SectionFileKeys = SectionFileKeys, T = unknown> {
  /**
   * The top-level keys the section owns in the config file, with their schemas (each is optional in the file). A
   * key of core's or of another section is refused when loading.
   */
  readonly fileKeys: Keys;
  /**
   * Every environment variable the section reads, `STOWAGE_`-prefixed by convention. Core never reads these as
   * `STOWAGE_<DRIVER>_<SETTING>`, so a driver named `hold` or `http` does not take them for its settings.
   */
  readonly envNames: readonly string[];
  /** The section's value: its file keys, the environment over them, and its own defaults. */
  resolve(fromFile: SectionFileValues<Keys>, env: SectionEnvironment): T;
}

/** Any section, as {@link loadConfig} takes them by name. */
export type ConfigSections = Readonly<Record<string, ConfigSection>>;

/** What a section resolves to. */
export type SectionValue<S> = S extends ConfigSection<SectionFileKeys, infer T> ? T : never;

/**
 * Declares a {@link ConfigSection}, inferring the types of its file keys and of its value, so `resolve` sees each
 * key with its schema's type.
 */
export function defineConfigSection<const Keys extends SectionFileKeys, T>(
  section: ConfigSection<Keys, T>,
): ConfigSection<Keys, T> {
  return section;
}
