import { failpointsOf } from '../failpoints/failpoint.js';

/**
 * The mount table's failpoints: between the two durable steps of a compaction (the new snapshot is on disk, the
 * journal still holds the entries it took in), and between a journal append and its acknowledgement.
 */
export const MOUNT_TABLE_FAILPOINTS = ['mount-table:after-append', 'mount-table:after-snapshot'] as const;

export type MountTableFailpoint = (typeof MOUNT_TABLE_FAILPOINTS)[number];

/** The mount table's failpoint: see {@link failpointsOf}. */
export const mountTableFailpoint = failpointsOf(MOUNT_TABLE_FAILPOINTS);
