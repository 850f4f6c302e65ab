import { readOptional } from '../fs/read-optional.js';
import { join } from 'node:path';
import { StowageError } from '../errors/stowage-error.js';
import { NO_TELEMETRY, type StowageTelemetry } from '../telemetry/stowage-telemetry.js';
import { JournaledFile } from './journaled-file.js';
import { formatEntry, parseJournal, type JournalEntry } from './mount-journal.js';
import { mountTableFailpoint } from './mount-table-failpoints.js';
import { mountRecordToJson, parseMountRecord, type MountRecord, type MountRecordJson } from './mount-record.js';

/** The mount table's snapshot in the state directory: the whole table as of the last compaction. */
export const MOUNT_TABLE_FILE = 'mounts.json';
/** The changes made since that snapshot, one JSON line each. */
export const MOUNT_JOURNAL_FILE = 'mounts.journal';

/** The snapshot's form: volumes as a list, so no volume name is ever an object key. 0.1 wrote version 1, an object. */
interface MountTableFile {
  readonly version: 2;
  readonly volumes: ReadonlyArray<{ readonly volume: string; readonly record: MountRecordJson }>;
}

/**
 * This node's persisted mount table: which volumes are mounted here, for whom. A change resolves only once it is
 * durable, so the engine writes `mounting`/`unmounting` before it touches a backend (one that a crash could leave
 * with a half-made mount) and answers a caller only after the outcome is on disk: a restart, even after `kill -9` or a
 * power cut, knows exactly what callers hold. A change is visible ({@link get}, {@link entries}) only once it is
 * durable: one whose write failed was never made. A change made with `sync: false` (one a power cut may take away
 * harmlessly) resolves once written, which a `kill -9` keeps.
 *
 * On disk: a snapshot (`mounts.json`, rewritten atomically) plus a journal of the changes since (`mounts.journal`,
 * appended and fdatasync'd), with group commit (see {@link JournaledFile}). Each start folds the journal into a new
 * snapshot.
 */
export class MountTable {
  private records = new Map<string, MountRecord>();
  private readonly file: string;
  private readonly journalFile: string;
  private readonly store: JournaledFile<JournalEntry>;

  /** `telemetry` is told of each journal write, as journal `mounts`. */
  constructor(stateDir: string, telemetry: StowageTelemetry = NO_TELEMETRY) {
    this.file = join(stateDir, MOUNT_TABLE_FILE);
    this.journalFile = join(stateDir, MOUNT_JOURNAL_FILE);
    this.store = new JournaledFile<JournalEntry>({
      dir: stateDir,
      snapshotFile: this.file,
      journalFile: this.journalFile,
      what: 'the mount table',
      journalWhat: 'the mount journal',
      line: formatEntry,
      snapshot: (pending) => this.snapshot(pending),
      size: () => this.records.size,
      written: (batch) => {
        for (const entry of batch) applyEntry(this.records, entry);
      },
      step: (step) => mountTableFailpoint(`mount-table:${step}`),
      observeWrite: (write) => telemetry.journalWrite({ journal: 'mounts', ...write }),
    });
  }

  /** Reads the snapshot and replays the journal; then writes them as one new snapshot and empties the journal. */
  async load(): Promise<void> {
    this.records = await readTable(this.file, this.journalFile);
    await this.store.open();
    // Also drops a torn last line, which a later append must never follow.
    await this.store.compact();
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

  /**
   * Records `record` for `name`; it is visible once the change is durable, when this resolves. `sync: false` for a
   * change a power cut may lose harmlessly: visible once written, durable with the next synced write.
   */
  set(name: string, record: MountRecord, options: { sync?: boolean } = {}): Promise<void> {
    return this.store.commit([entry(name, record, options)], options);
  }

  /** Forgets `name` once that is durable, when this resolves; `sync: false` as for {@link set}. */
  delete(name: string, options: { sync?: boolean } = {}): Promise<void> {
    if (!this.records.has(name)) return Promise.resolve();
    return this.store.commit([entry(name, null, options)], options);
  }

  /** Waits for changes under way, folds the journal into the snapshot and closes it. */
  close(): Promise<void> {
    return this.store.close();
  }

  /** The records, with `pending` applied, as the snapshot's text. */
  private snapshot(pending: readonly JournalEntry[]): string {
    let records: ReadonlyMap<string, MountRecord> = this.records;
    if (pending.length > 0) {
      const next = new Map(this.records);
      for (const entry of pending) applyEntry(next, entry);
      records = next;
    }
    const snapshot: MountTableFile = {
      version: 2,
      volumes: [...records].map(([volume, record]) => ({ volume, record: mountRecordToJson(record) })),
    };
    return JSON.stringify(snapshot);
  }
}

/**
 * What the mount table in `stateDir` holds, as a restart would read it (the snapshot with the journal replayed onto
 * it), without changing anything: for diagnostics and tests.
 */
export async function readMountTable(stateDir: string): Promise<Map<string, MountRecord>> {
  return readTable(join(stateDir, MOUNT_TABLE_FILE), join(stateDir, MOUNT_JOURNAL_FILE));
}

/** A change as the journal keeps it: marked when unsynced, so that a read after a power cut can tell what it may have lost. */
function entry(volume: string, record: MountRecord | null, { sync }: { sync?: boolean }): JournalEntry {
  return sync === false ? { volume, record, unsynced: true } : { volume, record };
}

function applyEntry(records: Map<string, MountRecord>, { volume, record }: JournalEntry): void {
  if (record) records.set(volume, record);
  else records.delete(volume);
}

async function readTable(file: string, journalFile: string): Promise<Map<string, MountRecord>> {
  const records = await readSnapshot(file);
  const text = await readState(journalFile, 'the mount journal');
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
  const text = await readState(file, 'the mount table');
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
    pairs = volumes.map((item) =>
      typeof item === 'object' && item !== null ? [item.volume, item.record] : [undefined, undefined],
    );
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

async function readState(file: string, what: string): Promise<string | undefined> {
  try {
    return await readOptional(file);
  } catch (error) {
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
