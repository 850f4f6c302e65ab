import type { ContainerModule } from 'inversify';
import type { OptionSpec, OptionValues } from './option-spec.js';

/**
 * A driver package's entry point: what the plugin loads (by package name or path, from config) to get a provider.
 * Export it as `driver` (or `default`) from the package.
 *
 * Settings are declared like create options and read from the config file's `drivers.<name>` section or from
 * environment variables `STOWAGE_<NAME>_<SETTING>` (upper snake case), validated at start-up.
 */
export interface StowageDriver<S extends OptionValues = OptionValues> {
  /** The driver's name in config and env (`local`, `ebs`); usually its provider's backing name. */
  readonly name: string;
  readonly description: string;
  readonly settings: readonly OptionSpec[];
  /**
   * An inversify module binding the driver's provider(s) to `STORAGE_PROVIDER`. It may `get` the shared services
   * `HOST_OPERATIONS`, `LOGGER` and `NODE_CONTEXT`.
   */
  module(settings: S): ContainerModule;
}

/** Identity helper that gives a driver definition its types. */
export function defineDriver<S extends OptionValues>(driver: StowageDriver<S>): StowageDriver<S> {
  return driver;
}
