import type { ContainerModule } from 'inversify';
import type { VolumeEventSink } from '../events/volume-event-sink.js';
import type { HostOperations } from '../host/host-operations.js';
import type { Logger } from '../logging/logger.js';
import type { StowageTelemetry } from '../telemetry/stowage-telemetry.js';
import type { NodeContext } from '../tokens.js';
import type { InferOptions } from './define-options.js';
import type { OptionSpec } from './option-spec.js';
import type { StorageProvider } from './storage-provider.js';

/** What a driver's {@link StowageDriver.create} receives: its validated settings and the node's shared services. */
export interface DriverContext<S> {
  /** The settings, validated against {@link StowageDriver.settings}, defaults applied, typed as declared. */
  readonly settings: S;
  /** The node's host operations (mount, unmount, mkfs...): real system tools, or a test's stand-in. */
  readonly host: HostOperations;
  /** The plugin's logger, bound to `backing: <driver name>`. */
  readonly logger: Logger;
  /** Facts about this node (`stateDir`). */
  readonly node: NodeContext;
  /** `<stateDir>/drivers/<driver name>`: where the driver keeps its own files unless a setting says otherwise. */
  readonly driverDir: string;
  /**
   * Where the driver reports what its providers do to volumes on their own (moves, snapshots), once each change is
   * made: subscribers read them as an event stream and metrics. The engine reports creates, removes, mounts and
   * unmounts itself. Goes nowhere when the driver is built without a hub.
   */
  readonly events: VolumeEventSink;
  /**
   * Where the driver reports what metrics show (the embedder's exporter; records nothing when there is none): a driver
   * calling a cloud API reports each call with `cloudCall`. The AWS drivers add `observeCloudCalls` of
   * `@stowage/aws-node` to their SDK clients, which does it for every call.
   */
  readonly telemetry: StowageTelemetry;
}

/** A provider, several, or a promise of either: what {@link StowageDriver.create} may return. */
export type DriverProviders<P = StorageProvider> = P | readonly P[] | Promise<P | readonly P[]>;

/** The parts every driver definition has, whichever way it makes its providers. */
interface DriverBase<S extends readonly OptionSpec[], O extends readonly OptionSpec[]> {
  /** The driver's name in config and env (`local`, `ebs`); usually its provider's backing name. */
  readonly name: string;
  /** One line for help output and logs. */
  readonly description: string;
  /**
   * The settings the driver accepts, declared with `defineOptions` (type, default, bounds, pattern, `secret` to keep
   * a credential out of logs), read from the config file's `drivers.<name>.settings` or from environment variables
   * `STOWAGE_<NAME>_<SETTING>` (upper snake case) and validated at start-up. `module` is not a setting name:
   * `STOWAGE_<NAME>_MODULE` says where to load the driver from. None when left out.
   */
  readonly settings?: S;
  /**
   * The create options of the driver's provider(s), declared with `defineOptions`: the same declaration the provider
   * exposes as its `options`, which `create` is then checked against. For help output and tools.
   */
  readonly options?: O;
}

/** A driver that builds its providers from settings and services: what {@link defineDriver} takes. */
export interface CreatingDriver<
  S extends readonly OptionSpec[] = readonly OptionSpec[],
  O extends readonly OptionSpec[] = readonly OptionSpec[],
> extends DriverBase<S, O> {
  /**
   * Builds the driver's provider(s), once, at start-up. The composition root binds each to `STORAGE_PROVIDER` in an
   * inversify module of its own making, so the engine receives them by multi-injection; a throw stops the plugin
   * with its message.
   */
  create(context: DriverContext<InferOptions<S>>): DriverProviders<StorageProvider<InferOptions<O>>>;
  readonly module?: undefined;
}

/**
 * The escape hatch for a driver that wants the container itself: an inversify `ContainerModule` binding its
 * provider(s) to `STORAGE_PROVIDER` (singleton scope), which may `get` `HOST_OPERATIONS`, `LOGGER`,
 * `NODE_CONTEXT` and `TELEMETRY` inside `toDynamicValue`, and `VOLUME_EVENTS` with `{ optional: true }` (not bound
 * without a hub).
 */
export interface ModuleDriver<
  S extends readonly OptionSpec[] = readonly OptionSpec[],
  O extends readonly OptionSpec[] = readonly OptionSpec[],
> extends DriverBase<S, O> {
  module(settings: InferOptions<S>): ContainerModule;
  readonly create?: undefined;
}

/**
 * A driver package's entry point: what the plugin loads (by package name or path, from config) to get its
 * provider(s). Export it as `driver` (or `default`) from the package; make it with {@link defineDriver}.
 */
export type StowageDriver<
  S extends readonly OptionSpec[] = readonly OptionSpec[],
  O extends readonly OptionSpec[] = readonly OptionSpec[],
> = CreatingDriver<S, O> | ModuleDriver<S, O>;

/**
 * Defines a driver: its name, its settings and create options (each one `defineOptions` declaration, whose types
 * are inferred), and `create`, which receives the typed settings and the shared services and returns the
 * provider(s). The engine wraps them in the inversify module itself; a driver that wants the container gives
 * `module` instead of `create`.
 *
 * ```ts
 * export const driver = defineDriver({
 *   name: 'loopfs',
 *   description: 'Size-limited ext4 volumes in loop-mounted files on this host',
 *   settings: defineOptions({ root: { type: 'string', description: 'absolute directory of the images' } }),
 *   options: LOOPFS_OPTIONS,
 *   create: ({ settings, host, logger, driverDir }) =>
 *     new LoopfsProvider({ root: settings.root ?? driverDir }, host, logger),
 * });
 * ```
 */
export function defineDriver<
  const S extends readonly OptionSpec[] = readonly [],
  const O extends readonly OptionSpec[] = readonly OptionSpec[],
>(driver: StowageDriver<S, O>): StowageDriver<S, O> & { readonly settings: S } {
  // Settings are always there once defined, so tools (the managed plugin's env list) read them without a check.
  if (driver.settings !== undefined) return driver as StowageDriver<S, O> & { readonly settings: S };
  return { ...driver, settings: [] as readonly OptionSpec[] as S };
}
