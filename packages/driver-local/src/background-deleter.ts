import type { Logger } from '@stowage/core';

/**
 * Deletes volume directories already withdrawn from their names, in the background, one at a time. A remove is
 * done for every caller once its rename is: the name is free, nothing lists or mounts what was under it, and a
 * crash leaves a dot entry that the next start deletes. Deleting the files is the slow part (each directory freed
 * is a journaled, discarded block on this kind of disk; a volume full of data takes as long as its files), and the
 * caller need not wait for it.
 */
export class BackgroundDeleter {
  private readonly queue: string[] = [];
  private running: Promise<void> | undefined;
  private stopping = false;

  constructor(
    private readonly deleteDir: (dir: string) => Promise<void>,
    private readonly logger: Logger,
  ) {}

  /** Queues `dir` for deletion; after {@link close}, leaves it to the next start. */
  add(dir: string): void {
    if (this.stopping) return;
    this.queue.push(dir);
    this.running ??= this.run();
  }

  /** Resolves once everything queued so far is deleted, or logged as not deletable. */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Finishes the deletion under way and leaves the rest, which the next start deletes. */
  async close(): Promise<void> {
    this.stopping = true;
    await this.running;
  }

  private async run(): Promise<void> {
    try {
      // The answer of the remove that queued the first directory leaves before the disk is asked for anything.
      await new Promise((resolve) => setImmediate(resolve));
      for (let dir = this.queue.shift(); dir !== undefined && !this.stopping; dir = this.queue.shift()) {
        try {
          await this.deleteDir(dir);
        } catch (error) {
          // The name is free and the volume gone for every caller; the next start tries again.
          this.logger.warn({ path: dir, err: (error as Error).message }, 'a removed volume could not all be deleted');
        }
      }
    } finally {
      this.running = undefined;
    }
  }
}
