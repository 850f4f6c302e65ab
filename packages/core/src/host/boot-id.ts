import { readFile } from 'node:fs/promises';

/** Where Linux names the current boot: a random UUID the kernel makes at each boot (the same in every container). */
export const BOOT_ID_FILE = '/proc/sys/kernel/random/boot_id';

const BOOT_ID = /^[0-9A-Za-z-]{1,64}$/;

/** Whether `value` can name a boot: 1 to 64 letters, digits and dashes (the kernel's is a UUID). */
export function isBootId(value: unknown): value is string {
  return typeof value === 'string' && BOOT_ID.test(value);
}

/**
 * The host's current boot ID, or undefined when it cannot be read (not Linux, no /proc): then nothing may be
 * concluded from it, and the engine syncs every mount record as it would without it.
 */
export async function readBootId(file = BOOT_ID_FILE): Promise<string | undefined> {
  try {
    const id = (await readFile(file, 'utf8')).trim();
    return isBootId(id) ? id : undefined;
  } catch {
    return undefined;
  }
}
