/**
 * @stowage/core: everything a driver author, an adapter or an embedding orchestrator needs.
 * This file is the whole public surface; nothing else is imported by path.
 */

// The contract a driver implements.
export type {
  StorageProvider,
  ProviderVolume,
  ProviderCapabilities,
  CreateRequest,
  MountResult,
  VolumeHandle,
  VolumeScope,
} from './contract/storage-provider.js';
export { MAX_VOLUME_REF_LENGTH } from './contract/storage-provider.js';
export type { SizeOption, SizeBounds } from './contract/size-option.js';
export type { BackingSize } from './engine/backing-size.js';
export type { NodeFacts } from './contract/node-facts.js';
export { VolumeAnswers } from './contract/volume-answers.js';
export type { OptionSpec, OptionType, OptionCondition, OptionValues } from './contract/option-spec.js';
export {
  defineOptions,
  type OptionSpecs,
  type InferOptions,
  type OptionDeclaration,
  type OptionDeclarations,
  type StringOptionDeclaration,
  type IntegerOptionDeclaration,
  type BooleanOptionDeclaration,
  type TypedCondition,
  type ValuesOf,
} from './contract/define-options.js';
export {
  defineDriver,
  type StowageDriver,
  type CreatingDriver,
  type ModuleDriver,
  type DriverContext,
  type DriverProviders,
} from './contract/driver-definition.js';
export { ownershipOptions } from './contract/ownership-options.js';
export { volumeEntry, volumeRecordProblem, type VolumeRecord } from './contract/volume-record.js';
export {
  STORAGE_PROVIDER,
  HOST_OPERATIONS,
  LOGGER,
  NODE_CONTEXT,
  VOLUME_EVENTS,
  TELEMETRY,
  type NodeContext,
} from './tokens.js';

// Telemetry: what metrics exporters are told (cloud API calls, journal writes).
export {
  NO_TELEMETRY,
  type StowageTelemetry,
  type CloudCallObservation,
  type CloudCallOutcome,
  type JournalWriteObservation,
} from './telemetry/stowage-telemetry.js';
export { guardedTelemetry } from './telemetry/guarded-telemetry.js';

// Errors.
export { ErrorKind } from './errors/error-kind.js';
export { StowageError } from './errors/stowage-error.js';

// The volume engine.
export {
  VolumeEngine,
  ENGINE_SETTINGS,
  DEFAULT_READINESS_BUDGET_MS,
  type EngineSettings,
  type EngineStartOptions,
} from './engine/volume-engine.js';
export type { EngineMountOptions, HeldVolume, CallerHoldSummary } from './engine/mount-counter.js';
export type {
  Volume,
  BackingSummary,
  BackingReadiness,
  BackingVolumeCount,
  BackingNodeFacts,
} from './engine/volume.js';
export { validateVolumeName, isVolumeName, MAX_VOLUME_NAME_LENGTH } from './engine/volume-name.js';
export { parseOptions, formatOptionValues } from './engine/option-parser.js';
export { KeyedMutex } from './engine/keyed-mutex.js';
export type { MountRecord, MountState, CallerHold } from './engine/mount-record.js';
export { syncDirectory } from './fs/sync-directory.js';

// Volume events: what the engine and drivers report (created, mounted, moved, snapshotted...), for streams and metrics.
export {
  VOLUME_EVENT_TYPES,
  type VolumeEvent,
  type VolumeEventInput,
  type VolumeEventType,
  type EventStamp,
  type VolumeCreatedEvent,
  type VolumeRemovedEvent,
  type VolumeMountedEvent,
  type VolumeUnmountedEvent,
  type MoveStartedEvent,
  type MoveProgressEvent,
  type MoveDoneEvent,
  type MoveFailedEvent,
  type SnapshotTakenEvent,
  type SnapshotPrunedEvent,
  type SnapshotFailedEvent,
} from './events/volume-event.js';
export { NO_VOLUME_EVENTS, type VolumeEventSink } from './events/volume-event-sink.js';
export {
  VolumeEvents,
  DEFAULT_EVENT_BUFFER,
  type VolumeEventListener,
  type VolumeEventsOptions,
  type EventsSince,
} from './events/volume-events.js';
export { eventErrorMessage } from './events/event-error.js';

// Failpoints: a test kills the process at a named step (STOWAGE_FAILPOINTS, tests only) to prove crash recovery.
// A driver declares and passes its own; the engine's, and the hooks a crash harness uses, are in @stowage/core/testing.
export { failpoint, failpointsOf, FAILPOINTS_ENV } from './failpoints/failpoint.js';

// Composition: building an engine from config and driver definitions.
export { composeStowage, type ComposeOptions, type Stowage } from './compose/compose-stowage.js';
export { driverProviders, type DriverProvidersInput } from './compose/driver-module.js';

// Host operations.
export type { HostOperations, MountEntry, MountOptions } from './host/host-operations.js';
export { SystemHostOperations } from './host/system-host-operations.js';
export { BOOT_ID_FILE, isBootId, readBootId } from './host/boot-id.js';

// Config and logging.
export type { StowageConfig, DriverConfig } from './config/stowage-config.js';
export {
  loadConfig,
  driverSettingEnvName,
  DEFAULT_STATE_DIR,
  type LoadConfigInput,
  type LoadedConfig,
} from './config/load-config.js';
export {
  defineConfigSection,
  type ConfigSection,
  type ConfigSections,
  type SectionEnvironment,
  type SectionFileKeys,
  type SectionFileValues,
  type SectionValue,
} from './config/config-section.js';
export { configValues } from './config/config-values.js';
export type { Logger } from './logging/logger.js';
export { createLogger, type CreateLoggerOptions } from './logging/create-logger.js';
