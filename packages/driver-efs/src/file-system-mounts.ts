import { realpath } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { KeyedMutex, StowageError, type HostOperations, type Logger } from '@stowage/core';
import type { FileSystemMounter } from './file-system-mounter.js';

/** The holder that keeps a file system mounted while the driver is enabled. */
const ENABLED = 'driver:enabled';

/**
 * This node's one mount of each file system, shared by every volume and by the driver itself.
 *
 * The engine counts callers per volume; this counts holders per file system: a holder is a mounted volume
 * (`volume:<name>`, held from its mount to its unmount) or the driver, from its start to its close ({@link keep}), so
 * that inspect, list, create and remove read and write an NFS mount that is already there instead of mounting and
 * unmounting for each call (as Cloudstor and the EFS CSI driver keep theirs). Holders are a set, not a counter, so
 * holding again for a volume already held (the engine re-mounting after a restart) is a no-op. The first holder
 * mounts, the last release unmounts; a mount found already there (left by an earlier run of the plugin) is
 * adopted, not stacked.
 */
export class FileSystemMounts {
  private readonly holders = new Map<string, Set<string>>();
  private readonly locks = new KeyedMutex();

  constructor(
    private readonly host: HostOperations,
    readonly mounter: FileSystemMounter,
    /** Directory holding one mount point per file system, named after its ID. */
    readonly root: string,
    private readonly logger: Logger,
  ) {}

  /** Where file system `fileSystemId` is mounted on this node while anyone holds it. */
  mountPoint(fileSystemId: string): string {
    return join(this.root, fileSystemId);
  }

  /** Holds the file system for `holder`, mounting it if nobody did; returns its mount point. */
  async hold(fileSystemId: string, holder: string): Promise<string> {
    const target = this.mountPoint(fileSystemId);
    return this.locks.run(fileSystemId, async () => {
      const holders = this.holders.get(fileSystemId) ?? new Set<string>();
      if (holders.size === 0 && !(await this.host.isMountpoint(target))) {
        await this.mounter.mountFileSystem(fileSystemId, target);
        this.logger.info({ fileSystemId, target }, 'mounted the file system on this node');
      }
      holders.add(holder);
      this.holders.set(fileSystemId, holders);
      return target;
    });
  }

  /** Lets go of `holder`'s hold; the last one out unmounts. Releasing what is not held does nothing. */
  async release(fileSystemId: string, holder: string): Promise<void> {
    await this.locks.run(fileSystemId, async () => {
      const holders = this.holders.get(fileSystemId);
      if (!holders?.delete(holder) || holders.size > 0) return;
      this.holders.delete(fileSystemId);
      await this.unmountNow(fileSystemId);
    });
  }

  /**
   * Keeps the file system mounted for the driver until {@link letGo}, and returns its mount point: the driver calls
   * it before each use, so a mount that failed at start is tried again, and one that is there costs no system call.
   */
  keep(fileSystemId: string): Promise<string> {
    return this.hold(fileSystemId, ENABLED);
  }

  /**
   * Ends {@link keep}. With `unmount`, a file system no volume holds is unmounted; otherwise it stays mounted, for the
   * next start to adopt.
   */
  async letGo(fileSystemId: string, unmount: boolean): Promise<void> {
    await this.locks.run(fileSystemId, async () => {
      const holders = this.holders.get(fileSystemId);
      if (!holders?.delete(ENABLED) || holders.size > 0) return;
      this.holders.delete(fileSystemId);
      if (unmount) await this.unmountNow(fileSystemId);
    });
  }

  /** The holders of a file system, for diagnostics and tests. */
  holdersOf(fileSystemId: string): readonly string[] {
    return [...(this.holders.get(fileSystemId) ?? [])];
  }

  /** Unmounts every file system mounted under the root that nobody holds (what a crash or an old run left). */
  async releaseUnheld(): Promise<void> {
    const mounts = await this.host.listMounts(this.root);
    // The mount table spells the root with its symlinks resolved.
    const root = await realpath(this.root).catch(() => this.root);
    for (const mount of mounts) {
      if (dirname(mount.target) !== root) continue;
      const fileSystemId = basename(mount.target);
      await this.locks.run(fileSystemId, async () => {
        if ((this.holders.get(fileSystemId)?.size ?? 0) > 0) return;
        await this.unmountNow(fileSystemId);
      });
    }
  }

  private async unmountNow(fileSystemId: string): Promise<void> {
    const target = this.mountPoint(fileSystemId);
    try {
      await this.host.unmount(target);
    } catch (error) {
      throw StowageError.wrap(error, `cannot unmount file system ${fileSystemId} from ${target}`);
    }
    this.logger.info({ fileSystemId, target }, 'unmounted the file system: no volume on this node uses it');
  }
}
