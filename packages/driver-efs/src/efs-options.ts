import { defineOptions, ownershipOptions, type InferOptions } from '@stowage/core';

/** The performance modes a volume can ask for, as Cloudstor spelled them. */
export const PERFORMANCE_MODES = ['generalpurpose', 'maxio'] as const;
export type PerformanceMode = (typeof PERFORMANCE_MODES)[number];

/** The mode of a volume's root directory when none is given. */
export const DEFAULT_EFS_MODE = '0755';

/** The create options of the shared backing (`--opt perfmode=maxio --opt uid=1000 ...`). */
export const EFS_OPTIONS = defineOptions({
  perfmode: {
    type: 'string',
    description: 'generalpurpose, or maxio to place the volume on the max I/O file system',
    default: 'generalpurpose',
    values: PERFORMANCE_MODES,
  },
  ...ownershipOptions("the volume's root directory", DEFAULT_EFS_MODE),
  adopt: {
    type: 'boolean',
    // No default: a default would be recorded with every new volume, and volumes created before this option
    // existed would then refuse a repeated create with the same options.
    description:
      'yes: make the existing directory /<name> of the file system (a Cloudstor volume, data put there by hand) the volume, as it is; ' +
      'removing the volume then keeps the directory',
  },
});

/** What an EFS create receives, parsed and typed. */
export type EfsOptions = InferOptions<typeof EFS_OPTIONS>;
