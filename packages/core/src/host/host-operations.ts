/** One line of the kernel's mount table (`/proc/self/mountinfo`), unescaped. */
export interface MountEntry {
  /** What is mounted: a device, `server:/path`, or for a bind mount the device holding the bound directory. */
  readonly source: string;
  /** The absolute mount point. */
  readonly target: string;
  readonly fstype: string;
  /** The directory of `source`'s file system that is mounted here (`/` unless a bind mount of a subdirectory). */
  readonly root: string;
  /** Per-mount and super-block options, merged (`rw`, `relatime`, ...). */
  readonly options: readonly string[];
}

export interface MountOptions {
  /** File system type (`ext4`, `nfs4`, `efs`); omitted lets `mount` detect it. */
  readonly fstype?: string;
  /** `-o` options, joined with commas. */
  readonly options?: readonly string[];
}

/**
 * The node's system operations, shared by every driver. The real implementation runs the system tools with
 * argument arrays (never a shell); tests can point it at loop devices and bind mounts. Every failure is a
 * BackendFailure StowageError whose message names the command, its exit status and its stderr.
 */
export interface HostOperations {
  /** `mount [-t fstype] [-o opts] source target`; creates `target` if missing. */
  mount(source: string, target: string, options?: MountOptions): Promise<void>;
  /** `mount --bind source target`; creates `target` if missing. */
  bindMount(source: string, target: string): Promise<void>;
  /** `umount target`. Succeeds when `target` is not mounted (idempotent release). */
  unmount(target: string): Promise<void>;
  /** Whether `path` is a mount point right now. */
  isMountpoint(path: string): Promise<boolean>;
  /** The kernel's mount table, optionally only the mounts at or below `under`. */
  listMounts(under?: string): Promise<MountEntry[]>;
  /** `mkfs.<fstype>` on `device` (ext4 and xfs at least), with an optional label. */
  mkfs(device: string, fstype: string, options?: { label?: string }): Promise<void>;
  /** The file system type `blkid` finds on `device`, or `undefined` when it has none (blank device). */
  probeFilesystem(device: string): Promise<string | undefined>;
}
