import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** A file written into a volume, and what it must read back as. */
export interface WrittenFile {
  /** Relative to the volume's root. */
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
}

// Under a page, just over one, and 1 MiB in a subdirectory: small files live in metadata blocks on some file
// systems, large ones in extents, and a directory tree must survive as much as a file.
const FILES: ReadonlyArray<readonly [string, number]> = [
  ['small.txt', 100],
  ['page-plus.bin', 4097],
  ['sub/dir/large.bin', 1 << 20],
];

/** Writes random files under `root` (a volume's mount point, as a container would) and returns their checksums. */
export async function writeVolumeFiles(root: string): Promise<WrittenFile[]> {
  const written: WrittenFile[] = [];
  for (const [path, bytes] of FILES) {
    const content = randomBytes(bytes);
    const file = join(root, path);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, content);
    written.push({ path, bytes, sha256: sha256(content) });
  }
  return written;
}

/** How many of the bytes of `files` do not read back identical under `root` (missing, short or changed files). */
export async function bytesLost(root: string, files: readonly WrittenFile[]): Promise<number> {
  let lost = 0;
  for (const file of files) {
    const content = await readFile(join(root, file.path)).catch(() => undefined);
    if (content === undefined || sha256(content) !== file.sha256) lost += file.bytes;
  }
  return lost;
}

function sha256(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}
