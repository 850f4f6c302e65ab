import { failpointsOf } from '../failpoints/failpoint.js';

/**
 * The mount table's failpoints: before each kind of write (nothing of it on disk yet: where a test also makes the
 * write fail, as a full disk would), between a journal append and its acknowledgement, and between the two durable
 * steps of a compaction (the new snapshot is on disk, the journal still holds the entries it took in).
 */
export const MOUNT_TABLE_FAILPOINTS = [
  'mount-table:before-append',
  'mount-table:after-append',
  'mount-table:before-snapshot',
  'mount-table:after-snapshot',
] as const;

export type MountTableFailpoint = (typeof MOUNT_TABLE_FAILPOINTS)[number];

/** The mount table's failpoint: see {@link failpointsOf}. */
export const mountTableFailpoint = failpointsOf(MOUNT_TABLE_FAILPOINTS);
