// 4294967295 is (uid_t)-1, which chown(2) reads as "leave unchanged", so it is no real owner.
const LARGEST_POSIX_ID = 4_294_967_294;

/**
 * The `uid`, `gid` and `mode` create options of a backing whose volumes are POSIX directories (local, EFS, loop-file
 * file systems), declared once so every backing spells, bounds and normalises them alike. `of` names what they apply
 * to in help text ("the volume's data directory"). Spread them into `defineOptions`:
 * `defineOptions({ ...ownershipOptions("the volume's root"), adopt: {...} })`.
 */
export function ownershipOptions(of: string, defaultMode = '0755') {
  return {
    uid: { type: 'integer', description: `numeric owner of ${of}`, min: 0, max: LARGEST_POSIX_ID },
    gid: { type: 'integer', description: `numeric group of ${of}`, min: 0, max: LARGEST_POSIX_ID },
    mode: {
      type: 'string',
      description: `octal permissions of ${of}`,
      default: defaultMode,
      pattern: /[0-7]{3,4}/,
      patternHint: 'an octal mode such as 755 or 0750',
      // `755` and `0755` are one mode: one recorded spelling, so a repeated create with either is no conflict.
      normalize: (mode: string) => mode.padStart(4, '0'),
    },
  } as const;
}
