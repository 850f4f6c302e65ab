/**
 * @stowage/core/testing: the kit a driver author tests a provider with. One call, {@link runConformanceSuite},
 * proves a provider keeps the {@link StorageProvider} contract through a real engine. Needs `vitest`.
 */
export { runConformanceSuite } from './conformance-suite.js';
export type { ConformanceSetup } from './conformance-setup.js';
export { expectStowageError, expectStowageErrorThrown } from './expect-stowage-error.js';
// Crash testing: the engine's and the mount table's failpoints, the hook that stands in for a kill in process, and the
// mount table as a restarted engine reads it.
export { armedFailpoints, parseFailpoints, setFailpointHook } from '../failpoints/failpoint.js';
export { ENGINE_FAILPOINTS, type EngineFailpoint } from '../engine/engine-failpoints.js';
export { MOUNT_TABLE_FAILPOINTS, type MountTableFailpoint } from '../engine/mount-table-failpoints.js';
export { readMountTable, MOUNT_TABLE_FILE, MOUNT_JOURNAL_FILE } from '../engine/mount-table.js';
