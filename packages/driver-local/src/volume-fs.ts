import * as direct from 'node:fs';
import * as pooled from 'node:fs/promises';
import { constants, type Stats } from 'node:fs';

/** open(2) flags: a file that must not exist yet, or one that must. */
const NEW_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;
const EXISTING_FILE = constants.O_WRONLY | constants.O_TRUNC;

/**
 * The file system calls on a create's, a Get's and a remove's answer path, as promises. Two ways to make them:
 * on libuv's thread pool, or directly on the calling thread.
 */
export interface VolumeFs {
  /** How the calls are made: `direct` on the calling thread, `pool` on libuv's thread pool. */
  readonly kind: 'direct' | 'pool';
  mkdtemp(prefix: string): Promise<string>;
  mkdir(path: string): Promise<void>;
  chmod(path: string, mode: number): Promise<void>;
  chown(path: string, uid: number, gid: number): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** Creates `path`, which must not exist, holding `text`. */
  writeNewFile(path: string, text: string, mode: number): Promise<void>;
  /** Replaces what the existing file `path` holds with `text`; fails with ENOENT when it is not there. */
  overwriteFile(path: string, text: string): Promise<void>;
  lstat(path: string): Promise<Stats>;
  stat(path: string): Promise<Stats>;
}

/** Every call a thread-pool round trip: the event loop stays free however long the file system takes. */
export const POOL_FS: VolumeFs = {
  kind: 'pool',
  mkdtemp: (prefix) => pooled.mkdtemp(prefix),
  mkdir: async (path) => {
    await pooled.mkdir(path);
  },
  chmod: (path, mode) => pooled.chmod(path, mode),
  chown: (path, uid, gid) => pooled.chown(path, uid, gid),
  rename: (from, to) => pooled.rename(from, to),
  writeNewFile: (path, text, mode) => pooledWrite(path, NEW_FILE, text, mode),
  overwriteFile: (path, text) => pooledWrite(path, EXISTING_FILE, text),
  lstat: (path) => pooled.lstat(path),
  stat: (path) => pooled.stat(path),
};

/**
 * Every call made at once on the calling thread. On a local disk each of these is a few microseconds of kernel work
 * (tens when it allocates or frees a block), while handing it to the pool and back costs tens to hundreds (a thread
 * woken, then the event loop): a create's seven calls were about 1 ms that way, most of it hand-offs (bench/,
 * BENCHMARKS.md). The price: while another process writes heavily to the same disk, a change of a directory can wait
 * milliseconds for room in the file system's journal, and the event loop waits with it, once per create or remove;
 * the pool would have waited as long, with the loop free meanwhile. Only for a file system that cannot hang on a
 * network: see {@link volumeFsFor}.
 */
export const DIRECT_FS: VolumeFs = {
  kind: 'direct',
  mkdtemp: async (prefix) => direct.mkdtempSync(prefix),
  mkdir: async (path) => {
    direct.mkdirSync(path);
  },
  chmod: async (path, mode) => direct.chmodSync(path, mode),
  chown: async (path, uid, gid) => direct.chownSync(path, uid, gid),
  rename: async (from, to) => direct.renameSync(from, to),
  writeNewFile: async (path, text, mode) => directWrite(path, NEW_FILE, text, mode),
  overwriteFile: async (path, text) => directWrite(path, EXISTING_FILE, text),
  lstat: async (path) => direct.lstatSync(path),
  stat: async (path) => direct.statSync(path),
};

async function pooledWrite(path: string, flags: number, text: string, mode?: number): Promise<void> {
  const handle = await pooled.open(path, flags, mode);
  try {
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
}

function directWrite(path: string, flags: number, text: string, mode?: number): void {
  const fd = direct.openSync(path, flags, mode);
  try {
    const data = Buffer.from(text, 'utf8');
    // A regular file takes a whole write of a few hundred bytes, unless the disk fills up: a short one goes on from
    // where it stopped, and a full disk fails it.
    for (let written = 0; written < data.length;) {
      written += direct.writeSync(fd, data, written, data.length - written);
    }
  } finally {
    direct.closeSync(fd);
  }
}

/**
 * statfs(2) `f_type` of the file systems that live on this host's own disks or memory. A root on anything else (NFS,
 * SMB, FUSE, Ceph, 9p, virtiofs) may answer slowly or never; there a direct call would stop the event loop, and with it
 * every other backing and the plugin's answers, so it keeps the thread pool.
 */
const LOCAL_FILE_SYSTEMS: ReadonlyMap<number, string> = new Map([
  [0xef53, 'ext2/3/4'],
  [0x58465342, 'xfs'],
  [0x9123683e, 'btrfs'],
  [0x01021994, 'tmpfs'],
  [0x858458f6, 'ramfs'],
  [0x794c7630, 'overlayfs'],
  [0xf2f52010, 'f2fs'],
  [0x2fc12fc1, 'zfs'],
  [0xca451a4e, 'bcachefs'],
]);

/** The calls for a root on the file system of statfs type `type`: {@link DIRECT_FS} on a local one. */
export function volumeFsFor(type: number): VolumeFs {
  return LOCAL_FILE_SYSTEMS.has(type) ? DIRECT_FS : POOL_FS;
}
