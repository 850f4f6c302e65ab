/**
 * @stowage/driver-ebs: relocatable volumes on Amazon EBS. Load {@link driver} like any other driver, or build an
 * {@link EbsProvider} directly when embedding.
 */
export { driver } from './ebs-driver.js';
export { EbsProvider, type EbsProviderDependencies } from './ebs-provider.js';
export { EBS_SETTINGS, DEFAULT_ATTACH_LIMIT, DEFAULT_DEVICE_DIR, DEFAULT_SYSFS_ROOT, type EbsSettings } from './ebs-settings.js';
export {
  ebsCreateOptions,
  validateEbsRequest,
  EBS_VOLUME_TYPES,
  EBS_TYPE_LIMITS,
  DEFAULT_EBS_TYPE,
  FILESYSTEM_TYPES,
  type EbsOptions,
  type FilesystemType,
  type EbsVolumeType,
  type EbsTypeLimits,
} from './ebs-options.js';
export { clientToken } from './client-token.js';
export { stackIdFor, CLUSTER_TAG, VOLUME_NAME_TAG, OPTION_TAG_PREFIX } from './cluster-tags.js';
export { BlockDeviceFinder, nvmeLinkName, compactVolumeId, type BlockDeviceFinderOptions, type FoundDevice } from './block-device-finder.js';
export { DeviceNameAllocator, DEVICE_NAMES, type DeviceReservation, type AttachedDevices } from './device-name-allocator.js';
export { PAGE_SIZE, DEFAULT_WAIT_TIMING, NEW_VOLUME_VISIBLE_MS, type WaitTiming } from './ebs-volumes.js';
export { CALL_BUDGETS_MS, DETACH_WAIT_MS, type CallBudgets } from './call-budget.js';
export {
  EbsSnapshots,
  SNAPSHOT_PURPOSE_TAG,
  SOURCE_VOLUME_TAG,
  SNAPSHOT_PAGE_SIZE,
  DEFAULT_SNAPSHOT_TIMING,
  progressOf,
  type SnapshotPurpose,
  type SnapshotTiming,
} from './ebs-snapshots.js';
export { periodicSnapshotsToPrune } from './snapshot-retention.js';
export { SnapshotSchedule, type SnapshotScheduleOptions, type SnapshotRunSummary } from './snapshot-schedule.js';
// The node identity lives in @stowage/aws-node; these types stay nameable here because EbsProvider's API uses them.
export type { NodeIdentity, MetadataReader } from '@stowage/aws-node';
export { EBS_FAILPOINTS } from './ebs-failpoints.js';
