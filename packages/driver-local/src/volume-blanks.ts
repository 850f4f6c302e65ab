import { rm } from 'node:fs/promises';
import type { Logger } from '@stowage/core';
import { AT_ONCE, QuietGate } from './quiet-gate.js';
import { QuietWorker } from './quiet-worker.js';
import type { VolumeFs } from './volume-fs.js';
import type { VolumeLayout } from './volume-layout.js';

/** How many blanks are kept ready: a burst of creates (a compose file's volumes) takes them all before the next lull. */
export const BLANKS_KEPT = 8;

/**
 * Volumes made ahead of the creates that will use them: `<root>/.blank-XXXXXX/` holding an empty `_data` and an empty
 * `volume.json`. A create takes one, applies its options to `_data`, writes its record into the file that is already
 * there and publishes the whole with one rename: no inode is allocated while the caller waits. On a journaled,
 * discarding disk each allocation (a mkdir, a file created) was 0.2 to 0.4 ms, three of them most of a create's own
 * time (bench/, BENCHMARKS.md); here they are made in the background, once the backing's calls pause
 * ({@link QuietGate}). A create that finds none ready makes its volume from scratch, as before.
 *
 * Blanks are dot entries, which no volume name can be: nothing lists or inspects them, and each start deletes those a
 * stop left (they are the backing's own, made by this class and never handed out twice), then makes new ones.
 */
export class VolumeBlanks {
  private readonly ready: string[] = [];
  private readonly worker: QuietWorker;
  /** Blanks are made only once the backing has started (its root made, a stop's leftovers deleted). */
  private started = false;
  /** The last blank could not be made: no more tries until a create takes one (or finds none). */
  private failing = false;

  constructor(
    private readonly layout: VolumeLayout,
    /** The calls that make blanks: the thread pool's, so the event loop answers while they wait on the disk. */
    private readonly fs: VolumeFs,
    private readonly logger: Logger,
    gate: QuietGate = new QuietGate(AT_ONCE),
    private readonly kept: number = BLANKS_KEPT,
  ) {
    this.worker = new QuietWorker(
      gate,
      () => this.started && !this.failing && this.ready.length < this.kept,
      (_end, more) => this.makeSome(more),
    );
  }

  /** The backing has started: makes blanks from now on. */
  start(): void {
    this.started = true;
    this.worker.start();
  }

  /** A blank for a create to build in, its own from now on; undefined when none is ready. Starts a refill. */
  take(): string | undefined {
    const blank = this.ready.pop();
    this.failing = false;
    if (this.started) this.worker.start();
    return blank;
  }

  /** How many are ready: for tests and diagnostics. */
  get size(): number {
    return this.ready.length;
  }

  /** Resolves once the refill under way is done, without waiting for quiet. */
  settled(): Promise<void> {
    return this.worker.settled();
  }

  /** Makes no more; the blanks on disk are left for the next start to delete. */
  close(): Promise<void> {
    return this.worker.close();
  }

  /** Makes blanks until enough are ready, or a call comes in after a pause (the next pause makes the rest). */
  private async makeSome(more: () => boolean): Promise<void> {
    while (this.ready.length < this.kept && more()) {
      try {
        this.ready.push(await this.make());
      } catch (error) {
        // Creates make their own volumes meanwhile; the next one tries again.
        this.failing = true;
        this.logger.warn(
          { root: this.layout.root, err: (error as Error).message },
          'could not make a blank volume for the next create',
        );
        return;
      }
    }
  }

  private async make(): Promise<string> {
    const dir = await this.fs.mkdtemp(this.layout.blankPrefix());
    try {
      await this.fs.mkdir(this.layout.dataDirIn(dir));
      await this.fs.writeNewFile(this.layout.metadataFileIn(dir), '', 0o600);
      return dir;
    } catch (error) {
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      throw error;
    }
  }
}
