/**
 * @stowage/driver-ebs: relocatable volumes on Amazon EBS. Load {@link driver} like any other driver, or build an
 * {@link EbsProvider} directly when embedding.
 */
export { driver } from './ebs-driver.js';
export { EbsProvider, type EbsProviderDependencies } from './ebs-provider.js';
export {
  EBS_SETTINGS,
  DEFAULT_ATTACH_LIMIT,
  DEFAULT_DEVICE_DIR,
  DEFAULT_SYSFS_ROOT,
  type EbsSettings,
} from './ebs-settings.js';
export {
  ebsCreateOptions,
  validateEbsRequest,
  EBS_SIZE,
  EBS_VOLUME_TYPES,
  EBS_TYPE_LIMITS,
  DEFAULT_EBS_TYPE,
  FILESYSTEM_TYPES,
  type EbsOptions,
  type FilesystemType,
  type EbsVolumeType,
  type EbsTypeLimits,
} from './ebs-options.js';
export { stackIdFor, CLUSTER_TAG, VOLUME_NAME_TAG, OPTION_TAG_PREFIX } from './cluster-tags.js';
export { PAGE_SIZE, DEFAULT_WAIT_TIMING, NEW_VOLUME_VISIBLE_MS, type WaitTiming } from './ebs-volumes.js';
export type { CallBudgets } from './call-budget.js';
export { DEFAULT_NODE_READINESS_TIMING, type NodeReadinessTiming } from './node-readiness.js';
// The tags an operator sees on Stowage's snapshots.
export { SNAPSHOT_PURPOSE_TAG, SOURCE_VOLUME_TAG, type SnapshotPurpose, type SnapshotTiming } from './ebs-snapshots.js';
// The node identity lives in @stowage/aws-node; these types stay nameable here because EbsProvider's API uses them.
export type { NodeIdentity, MetadataReader } from '@stowage/aws-node';
export { EBS_FAILPOINTS } from './ebs-failpoints.js';
