import { defineOptions, type InferOptions } from '@stowage/core';

/** One mebibyte: `size` is given in MiB. */
export const MIB = 1024 * 1024;

/** The size of a volume created with no `size` option, in MiB. */
export const DEFAULT_SIZE_MIB = 1024;

/** The create options of the loopfs backing. */
export const LOOPFS_OPTIONS = defineOptions({
  size: {
    type: 'integer',
    description: 'size of the volume in MiB; writes beyond it fail with "No space left on device"',
    default: DEFAULT_SIZE_MIB,
    // Below 16 MiB ext4's own metadata eats most of the space; 16 TiB is ext4's limit with 4 KiB blocks.
    min: 16,
    max: 16 * 1024 * 1024,
  },
});

/** What a loopfs create receives: `{ size: number }`. */
export type LoopfsOptions = InferOptions<typeof LOOPFS_OPTIONS>;
