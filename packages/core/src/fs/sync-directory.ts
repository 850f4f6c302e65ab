import { open } from 'node:fs/promises';

/**
 * Makes the entries of `dir` durable (a rename, a create, a delete in it): fsync of a file covers its data, not
 * the directory entry that names it, so without this a power loss can undo a rename the caller was told is done.
 */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
