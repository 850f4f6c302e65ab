import { syncDirectory, type Logger } from '@stowage/core';
import { AT_ONCE, QuietGate } from './quiet-gate.js';
import { QuietWorker } from './quiet-worker.js';

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
  /** Made durable by a caller of `durable`, whatever a pass that carries it still does. */
  synced = false;
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
 * (BENCHMARKS.md), so they run after the answer, once the backing's calls pause (see {@link QuietGate}: a second at
 * the latest), batched: one pass syncs every volume queued since the last, then the root once for all of them.
 * Nothing is put in a volume before its first Mount, which syncs that volume at once ({@link durable}); a clean stop
 * waits for {@link drain}. A power cut in the moments between an answer and its pass can lose that empty volume's
 * record file, which the provider then rebuilds from the data directory.
 */
export class DeferredSync {
  /** Every volume not yet durable: queued, being synced, or whose pass failed (retried by {@link durable}). */
  private readonly unsynced = new Map<string, Unsynced>();
  private queued = new Map<string, Unsynced>();
  private readonly worker: QuietWorker;

  constructor(
    private readonly root: string,
    private readonly logger: Logger,
    private readonly sync: SyncPath = fsyncPath,
    gate: QuietGate = new QuietGate(AT_ONCE),
  ) {
    // Each pass takes every volume queued so far, whatever came in since the pause: a batch shares one root sync.
    this.worker = new QuietWorker(
      gate,
      () => this.queued.size > 0,
      () => this.syncQueued(),
    );
  }

  /** Queues the syncs of the volume just published under `name`: each of `paths`, then the root. */
  add(name: string, paths: readonly string[]): void {
    const entry = new Unsynced(paths);
    this.unsynced.set(name, entry);
    this.queued.set(name, entry);
    this.worker.start();
  }

  /**
   * Resolves once the create of `name` is durable, at once when nothing is pending for it. Otherwise syncs that volume
   * now, on its own, and throws what that throws: someone is about to write into it, and a pass may carry thousands of
   * volumes (a burst of creates), so waiting for the pass would make the caller wait for every one of them.
   */
  async durable(name: string): Promise<void> {
    const entry = this.unsynced.get(name);
    if (entry === undefined) return;
    if (this.queued.get(name) === entry) this.queued.delete(name);
    await this.syncAll(entry.paths);
    await this.sync(this.root);
    entry.synced = true;
    this.settled(name, entry);
    entry.resolve();
  }

  /** `name` was removed: nothing of it is left to sync, and a failed pass of it is no longer anyone's concern. */
  forget(name: string): void {
    const entry = this.unsynced.get(name);
    if (entry === undefined) return;
    this.unsynced.delete(name);
    if (this.queued.get(name) === entry) this.queued.delete(name);
    entry.resolve();
  }

  /** Waits until every queued volume has had its pass (those that failed stay pending for {@link durable}). */
  drain(): Promise<void> {
    return this.worker.settled();
  }

  /** How many volumes are not yet durable: for tests and diagnostics. */
  get size(): number {
    return this.unsynced.size;
  }

  /** One pass: syncs every volume queued, then the root once for all of them. */
  private async syncQueued(): Promise<void> {
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
      if (entry.synced) continue;
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
