import { lstat, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';

/**
 * Every entry under `dir` (recursively, not following links) with its type, mode, size and modification time,
 * keyed by path relative to `dir`; paths in `exclude` (absolute) are skipped with everything below them. Two
 * equal snapshots mean nothing was created, removed or written there in between.
 */
export async function snapshotTree(dir: string, exclude: readonly string[] = []): Promise<Record<string, string>> {
  const snapshot: Record<string, string> = {};
  const walk = async (path: string): Promise<void> => {
    if (exclude.includes(path)) return;
    let stats;
    try {
      stats = await lstat(path);
    } catch {
      return;
    }
    const kind = stats.isDirectory() ? 'dir' : stats.isSymbolicLink() ? 'link' : stats.isFile() ? 'file' : 'other';
    snapshot[relative(dir, path) || '.'] = `${kind} ${stats.mode.toString(8)} ${stats.size} ${stats.mtimeMs}`;
    if (stats.isDirectory()) {
      for (const entry of (await readdir(path)).sort()) await walk(join(path, entry));
    }
  };
  await walk(dir);
  return snapshot;
}
