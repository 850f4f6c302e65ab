import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { StowageError } from '../errors/stowage-error.js';
import { syncDirectory } from '../fs/sync-directory.js';
import { formatEntry, MountJournal, parseJournal, type JournalEntry } from './mount-journal.js';
import { mountTableFailpoint } from './mount-table-failpoints.js';
import { mountRecordToJson, parseMountRecord, type MountRecord, type MountRecordJson } from './mount-record.js';

/** The mount table's snapshot in the state directory: the whole table as of the last compaction. */
export const MOUNT_TABLE_FILE = 'mounts.json';
/** The changes made since that snapshot, one JSON line each. */
export const MOUNT_JOURNAL_FILE = 'mounts.journal';

// The journal is folded into a new snapshot once it holds this many entries, or twice as many as the table has
// records: a snapshot costs O(table), so compacting every O(table) changes keeps each change O(1) on average, and
// bounds both the journal's size and the time a start spends replaying it.
const COMPACT_MIN_ENTRIES = 1_000;

/** The snapshot's form: volumes as a list, so no volume name is ever an object key. 0.1 wrote version 1, an object. */
interface MountTableFile {
  readonly version: 2;
  readonly volumes: ReadonlyArray<{ readonly volume: string; readonly record: MountRecordJson }>;
}

interface PendingChange {
  readonly entry: JournalEntry;
  readonly line: string;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * This node's persisted mount table: which volumes are mounted here, for whom. A change resolves only once it is
 * durable, so the engine writes `mounting`/`unmounting` before it touches a backend and answers a caller only after
 * the outcome is on disk: a restart, even after `kill -9` or a power cut, knows exactly what callers hold. A change
 * is visible ({@link get}, {@link entries}) only once it is durable: one whose write failed was never made.
 *
 * On disk: a snapshot (`mounts.json`, rewritten atomically) plus a journal of the changes since (`mounts.journal`,
 * appended and fdatasync'd). Changes made while a write is under way go out together in the next one (group
 * commit), so concurrent callers share one fdatasync. Each start folds the journal into a new snapshot.
 */
export class MountTable {
  private records = new Map<string, MountRecord>();
  private readonly file: string;
  private readonly journalFile: string;
  private journal: MountJournal | undefined;
  /** Entries appended since the last snapshot. */
  private journalEntries = 0;
  /** A write failed, so the records may hold a change the disk lacks: the next write is a whole snapshot. */
  // Stryker disable next-line BooleanLiteral: load() compacts before any other write, and that resets it.
  private mustCompact = false;
  private readonly queue: PendingChange[] = [];
  private flushing: Promise<void> | undefined;

  constructor(private readonly stateDir: string) {
    this.file = join(stateDir, MOUNT_TABLE_FILE);
    this.journalFile = join(stateDir, MOUNT_JOURNAL_FILE);
  }

  /** Reads the snapshot and replays the journal; then writes them as one new snapshot and empties the journal. */
  async load(): Promise<void> {
    this.records = await readTable(this.file, this.journalFile);
    this.journal = await openJournal(this.journalFile);
    // Also drops a torn last line, which a later append must never follow.
    await this.write(() => this.compact());
  }

  /**
   * Reads the snapshot and replays the journal without writing anything: for an engine that serves no mounts beside
   * a plugin that may own the directory. Changes are refused.
   */
  async loadReadOnly(): Promise<void> {
    this.records = await readTable(this.file, this.journalFile);
  }

  get(name: string): MountRecord | undefined {
    return this.records.get(name);
  }

  entries(): Array<[string, MountRecord]> {
    return [...this.records.entries()];
  }

  /** Records `record` for `name`; it is visible once the change is durable, when this resolves. */
  set(name: string, record: MountRecord): Promise<void> {
    return this.commit({ volume: name, record });
  }

  /** Forgets `name` once that is durable, when this resolves. */
  delete(name: string): Promise<void> {
    if (!this.records.has(name)) return Promise.resolve();
    return this.commit({ volume: name, record: null });
  }

  /** Waits for changes under way, folds the journal into the snapshot and closes it. */
  async close(): Promise<void> {
    await this.flushing;
    const journal = this.journal;
    if (!journal) return;
    try {
      await this.write(() => this.compact());
    } finally {
      this.journal = undefined;
      await journal.close();
    }
  }

  private commit(entry: JournalEntry): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ entry, line: formatEntry(entry), resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  /**
   * Group commit: each pass takes every change queued so far and makes it durable in one write, then applies it to
   * the records. A change made while a write is under way is never acknowledged by that write, only by the next one.
   */
  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0);
        try {
          await this.write(() => (this.shouldCompact(batch.length) ? this.compact(batch) : this.append(batch)));
        } catch (error) {
          for (const change of batch) change.reject(error);
          continue;
        }
        for (const { entry } of batch) applyEntry(this.records, entry);
        for (const change of batch) change.resolve();
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private shouldCompact(incoming: number): boolean {
    const journal = this.requireJournal();
    const limit = Math.max(COMPACT_MIN_ENTRIES, 2 * this.records.size);
    return this.mustCompact || journal.damaged || this.journalEntries + incoming > limit;
  }

  private async append(batch: readonly PendingChange[]): Promise<void> {
    const text = batch.length === 1 ? (batch[0] as PendingChange).line : batch.map((change) => change.line).join('');
    const journal = this.requireJournal();
    mountTableFailpoint('mount-table:before-append');
    await journal.append(text);
    mountTableFailpoint('mount-table:after-append');
    this.journalEntries += batch.length;
  }

  /** Writes the records, with `batch` applied, as the new snapshot and empties the journal. */
  private async compact(batch: readonly PendingChange[] = []): Promise<void> {
    let records: ReadonlyMap<string, MountRecord> = this.records;
    if (batch.length > 0) {
      const next = new Map(this.records);
      for (const { entry } of batch) applyEntry(next, entry);
      records = next;
    }
    const snapshot: MountTableFile = {
      version: 2,
      volumes: [...records].map(([volume, record]) => ({ volume, record: mountRecordToJson(record) })),
    };
    const text = JSON.stringify(snapshot);
    const journal = this.requireJournal();
    mountTableFailpoint('mount-table:before-snapshot');
    // The snapshot and its directory entry are durable before the journal is emptied: a crash in between leaves
    // entries the snapshot already holds, and replaying them onto it gives the same table.
    // Stryker disable next-line BooleanLiteral: only a power cut tells a synced file from one in the page cache; a SIGKILL does not.
    await writeFileAtomic(this.file, text, { mode: 0o600, fsync: true });
    await syncDirectory(this.stateDir);
    mountTableFailpoint('mount-table:after-snapshot');
    await journal.truncate();
    this.journalEntries = 0;
    this.mustCompact = false;
  }

  /** Runs one write; a failure leaves the disk behind the records, so the next write is a whole snapshot. */
  private async write(run: () => Promise<void>): Promise<void> {
    try {
      await run();
    } catch (error) {
      this.mustCompact = true;
      throw StowageError.backendFailure(`cannot write the mount table in ${this.stateDir}: ${(error as Error).message}`, error);
    }
  }

  private requireJournal(): MountJournal {
    if (!this.journal) throw StowageError.backendFailure('the mount table is not loaded');
    return this.journal;
  }
}

/**
 * What the mount table in `stateDir` holds, as a restart would read it (the snapshot with the journal replayed onto
 * it), without changing anything: for diagnostics and tests.
 */
export async function readMountTable(stateDir: string): Promise<Map<string, MountRecord>> {
  return readTable(join(stateDir, MOUNT_TABLE_FILE), join(stateDir, MOUNT_JOURNAL_FILE));
}

function applyEntry(records: Map<string, MountRecord>, { volume, record }: JournalEntry): void {
  if (record) records.set(volume, record);
  else records.delete(volume);
}

async function readTable(file: string, journalFile: string): Promise<Map<string, MountRecord>> {
  const records = await readSnapshot(file);
  const text = await readOptional(journalFile, 'the mount journal');
  let entries: JournalEntry[];
  try {
    // Stryker disable next-line StringLiteral: any text without a newline is a torn tail, which holds no entries either.
    ({ entries } = parseJournal(text ?? ''));
  } catch (error) {
    throw unreadable(journalFile, error);
  }
  for (const entry of entries) applyEntry(records, entry);
  return records;
}

async function readSnapshot(file: string): Promise<Map<string, MountRecord>> {
  const text = await readOptional(file, 'the mount table');
  if (text === undefined) return new Map();
  try {
    return parseSnapshot(JSON.parse(text));
  } catch (error) {
    throw unreadable(file, error);
  }
}

function parseSnapshot(data: unknown): Map<string, MountRecord> {
  const { version, volumes } = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
  let pairs: Array<[unknown, unknown]>;
  if (version === 2 && Array.isArray(volumes)) {
    pairs = volumes.map((item) => (typeof item === 'object' && item !== null ? [item.volume, item.record] : [undefined, undefined]));
  } else if (version === 1 && typeof volumes === 'object' && volumes !== null && !Array.isArray(volumes)) {
    pairs = Object.entries(volumes);
  } else {
    throw new Error('unknown format');
  }
  const records = new Map<string, MountRecord>();
  for (const [volume, data] of pairs) {
    if (typeof volume !== 'string' || volume === '') throw new Error('a record names no volume');
    const record = parseMountRecord(data);
    if (typeof record === 'string') throw new Error(`record of ${JSON.stringify(volume)}: ${record}`);
    records.set(volume, record);
  }
  return records;
}

async function readOptional(file: string, what: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw StowageError.backendFailure(`cannot read ${what} ${file}: ${(error as Error).message}`, error);
  }
}

// Refusing to start is better than forgetting what callers hold: the operator must look at it.
function unreadable(file: string, error: unknown): StowageError {
  return StowageError.backendFailure(
    `the mount table ${file} is unreadable (${(error as Error).message}); move it aside to start without it, ` +
      'then check for leftover mounts',
    error,
  );
}

async function openJournal(file: string): Promise<MountJournal> {
  try {
    return await MountJournal.open(file);
  } catch (error) {
    throw StowageError.backendFailure(`cannot open the mount journal ${file}: ${(error as Error).message}`, error);
  }
}
