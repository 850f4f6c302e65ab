import { StowageError } from '../errors/stowage-error.js';

/** Volume names become directory names, tag values and mount paths: long enough for swarm templates, short enough for all. */
export const MAX_VOLUME_NAME_LENGTH = 200;

// Docker's own rule for local volume names. It admits no '/', and no name starting with '.', so no name
// can be '.', '..' or climb out of a directory it is joined to.
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Throws an InvalidArgument StowageError unless `name` is a valid Stowage volume name. */
export function validateVolumeName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) {
    throw StowageError.invalidArgument('volume name is required');
  }
  if (name.length > MAX_VOLUME_NAME_LENGTH) {
    throw StowageError.invalidArgument(
      `volume name is ${name.length} characters long; at most ${MAX_VOLUME_NAME_LENGTH} are allowed`,
    );
  }
  if (!VOLUME_NAME.test(name)) {
    throw StowageError.invalidArgument(
      `invalid volume name ${JSON.stringify(name)}: use letters, digits, '_', '.' and '-', starting with a letter or digit`,
    );
  }
}

/** Whether `name` (read from outside: a tag, a file name, a CO's volume id) is a volume name the engine accepts. */
export function isVolumeName(name: string): boolean {
  try {
    validateVolumeName(name);
    return true;
  } catch {
    return false;
  }
}
