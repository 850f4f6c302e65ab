import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('./idmapped-mount.py', import.meta.url));

/**
 * Makes the stand-in export of `fileSystemId` a file system that refuses to give files any owner from `count` up,
 * as an NFS server squashing root refuses root's chown: an id-mapped mount of a directory beside the exports, mapping
 * ids 0 to count-1 only. Everything else (mkdir, link, rename, chmod as root) works as before. Unmounted with the
 * rest of the scratch directory.
 */
export async function refuseOwnersFrom(
  scratch: { dir: string; exports: string },
  fileSystemId: string,
  count: number,
): Promise<string> {
  const backing = join(scratch.dir, 'backing', fileSystemId);
  const exported = join(scratch.exports, fileSystemId);
  await mkdir(backing, { recursive: true });
  await mkdir(exported, { recursive: true });
  await run('python3', [SCRIPT, backing, exported, String(count)]);
  return exported;
}
