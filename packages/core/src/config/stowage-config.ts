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

/** The plugin's whole configuration, validated at start-up. */
export interface StowageConfig {
  /** The unix socket the Docker adapter listens on. */
  readonly socket: string;
  /** Where the node's mount table, catalogue and drivers' own state live. */
  readonly stateDir: string;
  /** The backing used when a create names none; undefined lets the engine choose (shared, relocatable, local). */
  readonly defaultBacking?: string;
  readonly logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /** Enabled drivers by name; with no config at all, `{ local: {} }`. */
  readonly drivers: Readonly<Record<string, DriverConfig>>;
  /**
   * How the Docker plugin learns from the Docker engine which containers still exist, to release the holds of gone
   * ones; {@link loadConfig} always fills it in, and an embedder without Docker leaves it out (reconciliation off).
   */
  readonly holds?: HoldsConfig;
}

/** Hold reconciliation against the Docker engine (see the Docker adapter's `HoldsReconciler`). */
export interface HoldsConfig {
  /** The Docker engine's API socket; undefined when reconciliation is off. */
  readonly dockerApi?: string;
  /** Seconds between two passes. */
  readonly intervalSeconds: number;
  /** A hold younger than this many seconds is never released. */
  readonly graceSeconds: number;
}
