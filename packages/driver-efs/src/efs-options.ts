import type { OptionSpec } from '@stowage/core';

/** The performance modes a volume can ask for, as Cloudstor spelled them. */
export const PERFORMANCE_MODES = ['generalpurpose', 'maxio'] as const;
export type PerformanceMode = (typeof PERFORMANCE_MODES)[number];

/** The mode of a volume's root directory when none is given. */
export const DEFAULT_EFS_MODE = '0755';

// EFS POSIX IDs are 0 to 2^32-2, as for local files: (uid_t)-1 means "unchanged" to chown(2).
const LARGEST_POSIX_ID = 4_294_967_294;

/** The create options of the shared backing (`--opt perfmode=maxio --opt uid=1000 ...`). */
export const EFS_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'perfmode',
    type: 'string',
    description: 'generalpurpose, or maxio to place the volume on the max I/O file system',
    default: 'generalpurpose',
    values: PERFORMANCE_MODES,
  },
  { name: 'uid', type: 'integer', description: "numeric owner of the volume's root directory", min: 0, max: LARGEST_POSIX_ID },
  { name: 'gid', type: 'integer', description: "numeric group of the volume's root directory", min: 0, max: LARGEST_POSIX_ID },
  {
    name: 'mode',
    type: 'string',
    description: "octal permissions of the volume's root directory",
    default: DEFAULT_EFS_MODE,
    pattern: /0?[0-7]{3}/,
    patternHint: 'octal permissions such as 755 or 0770',
    // One spelling per mode, so `755` and `0755` are the same volume config on a repeated create.
    normalize: (value) => `0${value.slice(-3)}`,
  },
];
