import { open } from 'node:fs/promises';

/** Makes `file` a sparse file of `bytes` bytes. */
export async function makeSparseFile(file: string, bytes: number): Promise<void> {
  const handle = await open(file, 'w');
  try {
    await handle.truncate(bytes);
  } finally {
    await handle.close();
  }
}
