import type { ContainerModule } from 'inversify';
import type { OptionSpec, OptionType, OptionValues } from './option-spec.js';

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
  /** One line for help output and logs. */
  readonly description: string;
  /**
   * The settings the driver accepts, declared like create options (type, default, bounds, pattern, `secret` to
   * keep a credential out of logs). `module` is not a setting name: `STOWAGE_<NAME>_MODULE` says where to load from.
   */
  readonly settings: readonly OptionSpec[];
  /**
   * An inversify module binding the driver's provider(s) to `STORAGE_PROVIDER`, called once at start-up with the
   * validated settings (defaults applied, typed as in {@link OptionType}). It may `get` the shared services
   * `HOST_OPERATIONS`, `LOGGER` and `NODE_CONTEXT`, inside `toDynamicValue` (they are bound by the composition
   * root, not by the module). Bind in singleton scope: the engine resolves each provider once.
   */
  module(settings: S): ContainerModule;
}

/** Identity helper that gives a driver definition its types. */
export function defineDriver<S extends OptionValues>(driver: StowageDriver<S>): StowageDriver<S> {
  return driver;
}
