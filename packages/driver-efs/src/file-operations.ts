import { chmod, chown, link, mkdir, open, rename, rm, rmdir, unlink } from 'node:fs/promises';

/**
 * The changes the shared backing makes to a mounted file system, one system call each. Every step that creates,
 * moves or deletes a volume's files or the work area's goes through here, so that a test can refuse any one of
 * them (EFS refuses root's chown to another user when it squashes root) or stop for ever before it (what a
 * `kill -9` there leaves on the file system). Reads are not here: they change nothing a crash could leave behind.
 */
export interface FileOperations {
  /** mkdir(2) of one directory; fails with EEXIST if `path` exists. */
  mkdir(path: string, mode: number): Promise<void>;
  /** chown(2); -1 leaves that half unchanged. */
  chown(path: string, uid: number, gid: number): Promise<void>;
  chmod(path: string, mode: number): Promise<void>;
  /** rename(2): replaces a file at `to`, or an empty directory. */
  rename(from: string, to: string): Promise<void>;
  /** link(2): fails with EEXIST if `to` exists, so it is the atomic "create if absent, fully written" NFS offers. */
  link(existing: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** rmdir(2) of an empty directory. */
  rmdir(path: string): Promise<void>;
  /** Creates `path` (fails with EEXIST if it exists), writes `text` and fsyncs it. */
  writeNewFile(path: string, text: string): Promise<void>;
  /** Deletes `path` and everything under it; nothing there is fine. */
  removeTree(path: string): Promise<void>;
}

/** The real system calls. */
export const SYSTEM_FILE_OPERATIONS: FileOperations = {
  mkdir: async (path, mode) => {
    await mkdir(path, { mode });
  },
  chown: (path, uid, gid) => chown(path, uid, gid),
  chmod: (path, mode) => chmod(path, mode),
  rename: (from, to) => rename(from, to),
  link: (existing, to) => link(existing, to),
  unlink: (path) => unlink(path),
  rmdir: (path) => rmdir(path),
  writeNewFile: async (path, text) => {
    const handle = await open(path, 'wx', 0o644);
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  removeTree: (path) => rm(path, { recursive: true, force: true }),
};

/** The errno code of a failed system call, if it has one. */
export function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}
