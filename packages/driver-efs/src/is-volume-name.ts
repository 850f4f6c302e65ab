import { validateVolumeName } from '@stowage/core';

/** Whether a name read from outside (a tag, a file name) is a volume name Stowage would accept from a user. */
export function isVolumeName(name: string): boolean {
  try {
    validateVolumeName(name);
    return true;
  } catch {
    return false;
  }
}
