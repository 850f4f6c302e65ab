import type { ServiceIdentifier } from 'inversify';
import type { StorageProvider } from './contract/storage-provider.js';
import type { VolumeEventSink } from './events/volume-event-sink.js';
import type { HostOperations } from './host/host-operations.js';
import type { Logger } from './logging/logger.js';
import type { StowageTelemetry } from './telemetry/stowage-telemetry.js';

/** Facts about this node that drivers need. */
export interface NodeContext {
  /** The plugin's state directory; a driver keeps its own files under `<stateDir>/drivers/<driver name>`. */
  readonly stateDir: string;
}

/** Every provider is bound here; the engine receives them all by multi-injection. */
export const STORAGE_PROVIDER: ServiceIdentifier<StorageProvider> = Symbol.for('stowage.StorageProvider');
export const HOST_OPERATIONS: ServiceIdentifier<HostOperations> = Symbol.for('stowage.HostOperations');
export const LOGGER: ServiceIdentifier<Logger> = Symbol.for('stowage.Logger');
export const NODE_CONTEXT: ServiceIdentifier<NodeContext> = Symbol.for('stowage.NodeContext');
/**
 * Where the engine and drivers report volume events: the composed Stowage's hub (`Stowage.events`). Optional: an
 * engine or a module driver built without it reports nowhere.
 */
export const VOLUME_EVENTS: ServiceIdentifier<VolumeEventSink> = Symbol.for('stowage.VolumeEvents');
/** Where metrics observations go (the embedder's, or `NO_TELEMETRY`); bound by the composition root, guarded. */
export const TELEMETRY: ServiceIdentifier<StowageTelemetry> = Symbol.for('stowage.Telemetry');
