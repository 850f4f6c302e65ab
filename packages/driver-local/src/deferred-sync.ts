import { syncDirectory, type Logger } from '@stowage/core';

/** Makes one file or directory durable. */
export type SyncPath = (path: string) => Promise<void>;

/**
 * The default {@link SyncPath}: fsync(2) through a read-only descriptor, which for a directory covers its entries and
 * for a file its data and size: core's `syncDirectory` is exactly that, whichever `path` is.
 */
export const fsyncPath: SyncPath = syncDirectory;

/** One volume's syncs, and the promise its create's durability hangs on. */
class Unsynced {
  readonly done: Promise<void>;
  resolve!: () => void;
  reject!: (error: unknown) => void;

  constructor(readonly paths: readonly string[]) {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // Awaited only by durable(); a failure is logged by the pass and must never surface as unhandled.
    this.done.catch(() => undefined);
  }
}

/**
 * The volumes whose create has answered but is not yet safe from a power cut, and the background pass that makes
 * them so. A create is visible to every caller, and survives a crash of this process, once its rename is done; the
 * fsyncs that carry it through a power cut too cost more than all the rest of a create on this kind of disk
 * (BENCHMARKS.md), so they run just after the answer, batched: one pass syncs every volume queued since the last,
 * then the root once for all of them. Nothing is put in a volume before its first Mount, which waits for
 * {@link durable}; a clean stop waits for {@link drain}. A power cut in the milliseconds between an answer and its
 * pass can lose that empty volume's record file, which the provider then rebuilds from the data directory.
 */
export class DeferredSync {
  /** Every volume not yet durable: queued, being synced, or whose pass failed (retried by {@link durable}). */
  private readonly unsynced = new Map<string, Unsynced>();
  private queued = new Map<string, Unsynced>();
  private pass: Promise<void> | undefined;

  constructor(
    private readonly root: string,
    private readonly logger: Logger,
    private readonly sync: SyncPath = fsyncPath,
  ) {}

  /** Queues the syncs of the volume just published under `name`: each of `paths`, then the root. */
  add(name: string, paths: readonly string[]): void {
    const entry = new Unsynced(paths);
    this.unsynced.set(name, entry);
    this.queued.set(name, entry);
    this.pass ??= this.runPasses();
  }

  /**
   * Resolves once the create of `name` is durable, at once when nothing is pending for it. When the background pass
   * failed for it, syncs it again now and throws what that throws.
   */
  async durable(name: string): Promise<void> {
    const entry = this.unsynced.get(name);
    if (entry === undefined) return;
    try {
      await entry.done;
    } catch {
      await this.syncAll(entry.paths);
      await this.sync(this.root);
      this.settled(name, entry);
    }
  }

  /** Waits until every queued volume has had its pass (those that failed stay pending for {@link durable}). */
  async drain(): Promise<void> {
    while (this.pass) await this.pass;
  }

  /** How many volumes are not yet durable: for tests and diagnostics. */
  get size(): number {
    return this.unsynced.size;
  }

  private async runPasses(): Promise<void> {
    try {
      // The answer that queued the first volume leaves before the disk is asked for anything.
      await new Promise((resolve) => setImmediate(resolve));
      while (this.queued.size > 0) {
        const batch = this.queued;
        this.queued = new Map();
        const failures = new Map<string, unknown>();
        for (const [name, entry] of batch) {
          await this.syncAll(entry.paths).catch((error: unknown) => failures.set(name, error));
        }
        const rootFailure = await this.sync(this.root).then(
          () => undefined,
          (error: unknown) => error ?? new Error('sync failed'),
        );
        for (const [name, entry] of batch) {
          const failure = failures.get(name) ?? rootFailure;
          if (failure === undefined) {
            this.settled(name, entry);
            entry.resolve();
            continue;
          }
          this.logger.error(
            { volume: name, err: (failure as Error).message },
            'could not make a created volume durable; its first mount tries again',
          );
          entry.reject(failure);
        }
      }
    } finally {
      this.pass = undefined;
    }
  }

  /** `entry` is durable: forgotten, unless the name was created again since (a newer entry stands). */
  private settled(name: string, entry: Unsynced): void {
    if (this.unsynced.get(name) === entry) this.unsynced.delete(name);
  }

  /** Syncs each path in turn; one already gone (its volume removed meanwhile) needs nothing. */
  private async syncAll(paths: readonly string[]): Promise<void> {
    for (const path of paths) {
      try {
        await this.sync(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
  }
}
