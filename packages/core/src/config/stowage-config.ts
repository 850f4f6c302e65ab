/** Settings of one enabled driver, as read from the config file or the environment. */
export interface DriverConfig {
  /**
   * Where to load the driver from: a package name or a file path (absolute, or relative to the config file).
   * Omitted for first-party drivers, which the plugin knows (`local`, `ebs`, `efs`).
   */
  readonly module?: string;
  /** Raw settings, validated against the driver's declared settings when it is loaded. */
  readonly settings: Readonly<Record<string, string | number | boolean>>;
}

/**
 * What the engine and the drivers need, validated at start-up: by {@link loadConfig} from the file and the
 * environment, or built in code by an embedder. An adapter's own settings (where it listens, what it asks its
 * orchestrator) are not here: each adapter reads them through its own config section.
 */
export interface StowageConfig {
  /** Where the node's mount table, catalogue and drivers' own state live. */
  readonly stateDir: string;
  /**
   * The backing used when a create names none; undefined lets the program choose (the Docker adapter: shared, then
   * relocatable, then local; the engine alone: the first driver enabled).
   */
  readonly defaultBacking?: string;
  readonly logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /** Enabled drivers by name; with no config at all, `{ local: {} }`. */
  readonly drivers: Readonly<Record<string, DriverConfig>>;
}
