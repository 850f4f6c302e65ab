import type { Logger } from '@stowage/core';
import { AT_ONCE, QuietGate, type QuietEnd } from './quiet-gate.js';
import { QuietWorker } from './quiet-worker.js';

/**
 * Deletes volume directories already withdrawn from their names, in the background, one at a time, while the
 * backing's calls pause (see {@link QuietGate}). A remove is done for every caller once its rename is: the name is
 * free, nothing lists or mounts what was under it, and a crash leaves a dot entry that the next start deletes.
 * Deleting the files is the slow part (each inode freed is a journaled, discarded block on this kind of disk; a
 * volume full of data takes as long as its files), and the caller need not wait for it.
 */
export class BackgroundDeleter {
  private readonly queue: string[] = [];
  private readonly worker: QuietWorker;

  constructor(
    private readonly deleteDir: (dir: string) => Promise<void>,
    private readonly logger: Logger,
    gate: QuietGate = new QuietGate(AT_ONCE),
  ) {
    this.worker = new QuietWorker(
      gate,
      () => this.queue.length > 0,
      (end, more) => this.deleteSome(end, more),
    );
  }

  /** Queues `dir` for deletion; after {@link close}, leaves it to the next start. */
  add(dir: string): void {
    if (this.worker.isClosed) return;
    this.queue.push(dir);
    this.worker.start();
  }

  /** Resolves once everything queued so far is deleted, or logged as not deletable, without waiting for quiet. */
  settled(): Promise<void> {
    return this.worker.settled();
  }

  /** Finishes the deletion under way and leaves the rest, which the next start deletes. */
  close(): Promise<void> {
    return this.worker.close();
  }

  /**
   * After a pause, deletes until a call comes in (the next pause takes the rest); after the deadline, all that was
   * queued by then, so that under calls that never pause the deletions still keep up with the removes.
   */
  private async deleteSome(end: QuietEnd, more: () => boolean): Promise<void> {
    let left = end === 'deadline' ? this.queue.length : Number.POSITIVE_INFINITY;
    while (left > 0 && this.queue.length > 0 && more()) {
      left -= 1;
      const dir = this.queue.shift() as string;
      try {
        await this.deleteDir(dir);
      } catch (error) {
        // The name is free and the volume gone for every caller; the next start tries again.
        this.logger.warn({ path: dir, err: (error as Error).message }, 'a removed volume could not all be deleted');
      }
    }
  }
}
