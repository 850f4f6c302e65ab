import type { OptionSpec } from '@stowage/core';

// 4294967295 is (uid_t)-1, which chown(2) reads as "leave unchanged", so it is not a real owner.
const MAX_ID = 4_294_967_294;

/** The data directory's mode when none is given: what Docker's own local volumes get. */
export const DEFAULT_MODE = '0755';

/** The create options of the local backing. */
export const LOCAL_OPTIONS: readonly OptionSpec[] = [
  { name: 'uid', type: 'integer', description: "owner of the volume's data directory (numeric user ID)", min: 0, max: MAX_ID },
  { name: 'gid', type: 'integer', description: "group of the volume's data directory (numeric group ID)", min: 0, max: MAX_ID },
  {
    name: 'mode',
    type: 'string',
    description: "permissions of the volume's data directory, in octal",
    default: DEFAULT_MODE,
    pattern: /[0-7]{3,4}/,
    patternHint: 'an octal mode such as 755 or 0750',
    // `755` and `0755` are one mode: record one spelling so a repeated create with either is not a conflict.
    normalize: (mode) => mode.padStart(4, '0'),
  },
];
