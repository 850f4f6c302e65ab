import { StowageError, defineOptions, ownershipOptions, type CreateRequest, type InferOptions } from '@stowage/core';

const UNIT_BYTES = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 } as const;

/** The largest `size`, 1 TiB: tmpfs counts against RAM and swap, so anything above is a typo, not a budget. */
export const MAX_SIZE_BYTES = 1024 ** 4;

/** The create options of the tmpfs backing: `size` (required) and the ownership of the volume's root. */
export const TMPFS_OPTIONS = defineOptions({
  size: {
    type: 'string',
    required: true,
    description: 'the most the volume may hold, in k, m or g (KiB, MiB, GiB), such as 64m; it counts against RAM',
    pattern: /[0-9]{1,10}[kmgKMG]/,
    patternHint: 'a whole number with a k, m or g suffix, such as 64m',
    // `64M` and `064m` are one size: one recorded spelling, so a repeated create with either is no conflict.
    normalize: (size: string) => `${Number(size.slice(0, -1))}${size.slice(-1).toLowerCase()}`,
  },
  // 1777, as tmpfs itself and Docker's --tmpfs default: any container user may write, as in /tmp.
  ...ownershipOptions("the volume's root directory", '1777'),
});

/** What a tmpfs create receives: `{ size: string; mode: string; uid?: number; gid?: number }`. */
export type TmpfsOptions = InferOptions<typeof TMPFS_OPTIONS>;

/** The bytes a normalised `size` (`64m`) stands for. */
export function sizeInBytes(size: string): number {
  return Number(size.slice(0, -1)) * UNIT_BYTES[size.slice(-1) as keyof typeof UNIT_BYTES];
}

/** Bounds `size`, which its pattern cannot: `0k` would mean "no limit" to the kernel. */
export function validateTmpfsOptions({ options }: CreateRequest<TmpfsOptions>): void {
  const bytes = sizeInBytes(options.size);
  if (bytes < UNIT_BYTES.m || bytes > MAX_SIZE_BYTES) {
    throw StowageError.invalidArgument(`size: must be between 1m and 1024g, got ${options.size}`);
  }
}
