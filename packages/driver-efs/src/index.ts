/**
 * @stowage/driver-efs: shared volumes on Amazon EFS (`backing=shared`), mounted by every node of a cluster at once.
 * Load {@link driver} like any other driver, or build an {@link EfsProvider} directly when embedding.
 */
export { driver } from './efs-driver.js';
export { EfsProvider, type EfsProviderSettings, type EfsProviderDeps } from './efs-provider.js';
export { EFS_SETTINGS, type EfsSettings } from './efs-settings.js';
export {
  EFS_OPTIONS,
  PERFORMANCE_MODES,
  DEFAULT_EFS_MODE,
  type EfsOptions,
  type PerformanceMode,
} from './efs-options.js';
export {
  EFS_NFS_OPTIONS,
  NfsMounter,
  BindStandInMounter,
  type FileSystemMounter,
  type AccessPointTarget,
  type NfsMounterSettings,
} from './file-system-mounter.js';
export { FileSystemMounts } from './file-system-mounts.js';
export { SYSTEM_FILE_OPERATIONS, type FileOperations } from './file-operations.js';
export { DEFAULT_LOCK_TIMING, type LockTiming } from './work-area.js';
