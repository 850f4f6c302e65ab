import writeFileAtomic from 'write-file-atomic';
import { StowageError } from '../errors/stowage-error.js';
import { syncDirectory } from '../fs/sync-directory.js';
import { MountJournal } from './mount-journal.js';

/** The steps of a write where a test may stop the process (the mount table's failpoints). */
export type JournaledFileStep = 'before-append' | 'after-append' | 'before-snapshot' | 'after-snapshot';

/** What a {@link JournaledFile} keeps on disk, and how. */
export interface JournaledFileOptions<C> {
  /** The directory of both files: its entries are synced after the snapshot is renamed into place. */
  readonly dir: string;
  readonly snapshotFile: string;
  readonly journalFile: string;
  /** What the files hold, and the journal, as messages name them (`the mount table`, `the mount journal`). */
  readonly what: string;
  readonly journalWhat: string;
  /** One change as a whole journal line, newline included; `write`: the number of the write that carries it. */
  readonly line: (change: C, write: number) => string;
  /** The whole state as the snapshot's text, with `pending` (written by this very write) applied if not yet. */
  readonly snapshot: (pending: readonly C[]) => string;
  /** How many entries the state holds: the journal is folded into a snapshot once it holds twice as many. */
  readonly size: () => number;
  /** Runs once a batch is durable, before its callers hear so (state that shows only what is durable applies it). */
  readonly written?: (batch: readonly C[]) => void;
  readonly step?: (step: JournaledFileStep) => void;
  /** Told of each batch written (a group commit): how long it took to be durable, and whether it was synced. */
  readonly observeWrite?: (write: { readonly seconds: number; readonly synced: boolean }) => void;
}

interface PendingChange<C> {
  readonly change: C;
  readonly sync: boolean;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

// A snapshot costs O(state), so compacting every O(state) changes keeps each change O(1) on average, and bounds both
// the journal's size and the time a start spends replaying it.
const COMPACT_MIN_ENTRIES = 1_000;

/**
 * State kept as a snapshot (rewritten atomically) plus a journal of the changes since (appended and fdatasync'd): about
 * a quarter of the cost of rewriting the whole state per change, and independent of its size. A change resolves once
 * durable. Changes made while a write is under way go out together in the next one (group commit), so concurrent
 * callers share one fdatasync. The mount table and the volume catalogue keep their state this way.
 */
export class JournaledFile<C> {
  private journal: MountJournal | undefined;
  /** Entries appended since the last snapshot. */
  private journalEntries = 0;
  /** A write failed, so the state may hold a change the disk lacks: the next write is a whole snapshot. */
  // Stryker disable next-line BooleanLiteral: open() is followed by a compaction before any other write, which resets it.
  private mustCompact = false;
  private readonly queue: Array<PendingChange<C>> = [];
  private flushing: Promise<void> | undefined;
  /** Appends made since the journal was opened: each numbers the lines it writes. */
  private writes = 0;

  constructor(private readonly options: JournaledFileOptions<C>) {}

  /** Opens (creating it, mode 0600) the journal for appending. */
  async open(): Promise<void> {
    try {
      this.journal = await MountJournal.open(this.options.journalFile);
    } catch (error) {
      const { journalWhat, journalFile } = this.options;
      throw StowageError.backendFailure(
        `cannot open ${journalWhat} ${journalFile}: ${(error as Error).message}`,
        error,
      );
    }
  }

  /**
   * Makes `changes` durable, in one write with whatever else is queued. A write that fails rejects every change it
   * carried. `sync: false` is for a change whose loss to a power cut is harmless: it resolves once written, and is
   * made durable by the next synced write or snapshot.
   */
  commit(changes: readonly C[], options: { sync?: boolean } = {}): Promise<void> {
    const sync = options.sync !== false;
    const done = changes.map(
      (change) =>
        new Promise<void>((resolve, reject) => {
          this.queue.push({ change, sync, resolve, reject });
        }),
    );
    this.flushing ??= this.flush();
    return changes.length === 1 ? (done[0] as Promise<void>) : Promise.all(done).then(() => undefined);
  }

  /** Writes the state as the new snapshot and empties the journal. */
  compact(): Promise<void> {
    return this.write(() => this.writeSnapshot());
  }

  /**
   * Waits for changes under way, folds the journal into the snapshot and closes it. `compact`: writes the snapshot
   * even when the journal is empty (the state's snapshot text differs at a close).
   */
  async close(options: { compact?: boolean } = {}): Promise<void> {
    await this.flushing;
    const journal = this.journal;
    if (!journal) return;
    try {
      // Nothing since the last snapshot: it is the state already, and a one-shot command pays no fsync for it.
      if (options.compact || this.journalEntries > 0 || this.mustCompact || journal.damaged) await this.compact();
    } finally {
      this.journal = undefined;
      await journal.close();
    }
  }

  /**
   * Group commit: each pass takes every change queued so far and makes it durable in one write. A change made while
   * a write is under way is never acknowledged by that write, only by the next one.
   */
  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0);
        const started = performance.now();
        let synced = true;
        try {
          await this.write(async () => {
            if (this.shouldCompact(batch.length)) return this.writeSnapshot(batch);
            synced = batch.some((change) => change.sync);
            return this.append(batch, synced);
          });
        } catch (error) {
          for (const pending of batch) pending.reject(error);
          continue;
        }
        try {
          this.options.observeWrite?.({ seconds: (performance.now() - started) / 1000, synced });
        } catch {
          // A metrics observer's failure must not strand the batch, now durable (composeStowage logs such failures).
        }
        this.options.written?.(batch.map(({ change }) => change));
        for (const pending of batch) pending.resolve();
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private shouldCompact(incoming: number): boolean {
    const journal = this.requireJournal();
    const limit = Math.max(COMPACT_MIN_ENTRIES, 2 * this.options.size());
    return this.mustCompact || journal.damaged || this.journalEntries + incoming > limit;
  }

  private async append(batch: ReadonlyArray<PendingChange<C>>, sync: boolean): Promise<void> {
    const write = (this.writes += 1);
    const { line } = this.options;
    const text =
      batch.length === 1
        ? line((batch[0] as PendingChange<C>).change, write)
        : batch.map((pending) => line(pending.change, write)).join('');
    const journal = this.requireJournal();
    this.options.step?.('before-append');
    await journal.append(text, sync);
    this.options.step?.('after-append');
    this.journalEntries += batch.length;
  }

  private async writeSnapshot(batch: ReadonlyArray<PendingChange<C>> = []): Promise<void> {
    const text = this.options.snapshot(batch.map(({ change }) => change));
    const journal = this.requireJournal();
    this.options.step?.('before-snapshot');
    // The snapshot and its directory entry are durable before the journal is emptied: a crash in between leaves
    // entries the snapshot already holds, and replaying them onto it gives the same state.
    // Stryker disable next-line BooleanLiteral: only a power cut tells a synced file from one in the page cache; a SIGKILL does not.
    await writeFileAtomic(this.options.snapshotFile, text, { mode: 0o600, fsync: true });
    await syncDirectory(this.options.dir);
    this.options.step?.('after-snapshot');
    await journal.truncate();
    this.journalEntries = 0;
    this.mustCompact = false;
  }

  /** Runs one write; a failure leaves the disk behind the state, so the next write is a whole snapshot. */
  private async write(run: () => Promise<void>): Promise<void> {
    try {
      await run();
    } catch (error) {
      this.mustCompact = true;
      throw StowageError.backendFailure(
        `cannot write ${this.options.what} in ${this.options.dir}: ${(error as Error).message}`,
        error,
      );
    }
  }

  private requireJournal(): MountJournal {
    if (!this.journal) throw StowageError.backendFailure(`${this.options.what} is not loaded`);
    return this.journal;
  }
}
