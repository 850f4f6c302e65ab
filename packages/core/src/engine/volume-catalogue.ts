import { join } from 'node:path';
import type { Logger } from '../logging/logger.js';
import { NO_TELEMETRY, type StowageTelemetry } from '../telemetry/stowage-telemetry.js';
import { JournaledFile } from './journaled-file.js';
import { readOptional } from '../fs/read-optional.js';
import { parseJournalLines, parseJsonLine } from './mount-journal.js';

/** The catalogue's snapshot in the state directory: which backing holds each volume name, as of the last compaction. */
export const CATALOGUE_FILE = 'volumes.json';
/** The changes made since that snapshot, one JSON line each. */
export const CATALOGUE_JOURNAL_FILE = 'volumes.journal';

/** One change: the backing of a name (null: none), or that a backing's volumes are all in the catalogue. */
type CatalogueChange = { readonly volume: string; readonly backing: string | null } | { readonly filled: string };

interface CatalogueFile {
  readonly version: 1;
  readonly filled: readonly string[];
  readonly volumes: ReadonlyArray<{ readonly volume: string; readonly backing: string }>;
}

/** What the engine routes by: the backing of a name, and whether a backing's volumes are all known. */
export interface OwnerCatalogue {
  /** The backing (its name) this node last knew holding `name`. */
  owner(name: string): string | undefined;
  /** Whether every volume of `backing` is in the catalogue, so that a name missing from it is not that backing's. */
  isFilled(backing: string): boolean;
  /** Records that `backing` holds `name`; resolves once written. */
  set(name: string, backing: string): Promise<void>;
  /** Forgets `name`; resolves once written. */
  delete(name: string): Promise<void>;
  /** Every name with its backing. */
  entries(): Iterable<[string, string]>;
}

/**
 * This node's catalogue of volume names: which backing holds each, so that a lookup asks that backing alone instead
 * of every one. It only routes: whether a volume exists is always the backing's answer (`inspect`), so an entry that
 * is wrong (a volume another node removed, a create a crash cut short) costs one question to that backing, never a
 * volume that is not there. What it must not do is miss a volume of a `local`-scope backing, which nobody else could
 * know of: the engine records a name before the backing creates it, forgets it only after the backing removed it,
 * and fills the catalogue from each `local`-scope backing's list ({@link fill}) whenever it is not known to be whole.
 *
 * On disk as the mount table is: a snapshot (`volumes.json`, rewritten atomically) and a journal of the changes since
 * (`volumes.journal`), but no change waits for an fdatasync: everything here can be learned again from the backings,
 * so a create pays no sync for its entry. That is safe because a backing counts as filled only after a clean stop:
 * the snapshot a start (or a compaction) writes names none, the one {@link close} writes names them, and one followed
 * by a journal (a kill, a power cut that kept or lost any of it) is not trusted; the engine then lists the `local`
 * backings again. A change is visible at once; one whose write failed is at worst an entry that is wrong, which a
 * lookup corrects. A catalogue that cannot be read is started afresh.
 */
export class VolumeCatalogue implements OwnerCatalogue {
  private owners = new Map<string, string>();
  private filled = new Set<string>();
  private readonly file: string;
  private readonly journalFile: string;
  private readonly store: JournaledFile<CatalogueChange>;
  /** The write of the latest change of each name still on its way to disk. */
  private readonly unwritten = new Map<string, Promise<void>>();
  /** Set by {@link close}: only the snapshot of a clean stop says which backings are filled. */
  private closing = false;

  constructor(
    stateDir: string,
    private readonly logger: Logger,
    /** Told of each journal write, as journal `catalogue`. */
    telemetry: StowageTelemetry = NO_TELEMETRY,
  ) {
    this.file = join(stateDir, CATALOGUE_FILE);
    this.journalFile = join(stateDir, CATALOGUE_JOURNAL_FILE);
    this.store = new JournaledFile<CatalogueChange>({
      dir: stateDir,
      snapshotFile: this.file,
      journalFile: this.journalFile,
      what: 'the volume catalogue',
      journalWhat: "the volume catalogue's journal",
      line: (change) => `${JSON.stringify(change)}\n`,
      // Changes are applied as they are made: the catalogue as it is holds them.
      snapshot: () => this.snapshot(),
      size: () => this.owners.size,
      observeWrite: (write) => telemetry.journalWrite({ journal: 'catalogue', ...write }),
    });
  }

  /**
   * Reads the snapshot and replays the journal; then, unless the snapshot is already the whole state and names no
   * filled backing, writes a new one naming none: until this process stops cleanly, none is known filled on disk.
   */
  async load(): Promise<void> {
    let fold = true;
    this.closing = false;
    try {
      let journalBytes: number;
      ({ owners: this.owners, filled: this.filled, journalBytes } = await readCatalogue(this.file, this.journalFile));
      // Also drops a torn last line, which a later append must never follow.
      fold = journalBytes > 0 || this.filled.size > 0;
    } catch (error) {
      this.logger.error(
        { file: this.file, err: (error as Error).message },
        'the volume catalogue is unreadable; starting it afresh from what each backing lists',
      );
      this.owners = new Map();
      this.filled = new Set();
    }
    await this.store.open();
    if (fold) await this.store.compact();
  }

  owner(name: string): string | undefined {
    return this.owners.get(name);
  }

  isFilled(backing: string): boolean {
    return this.filled.has(backing);
  }

  /** How many names each backing owns. */
  countByBacking(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const backing of this.owners.values()) counts.set(backing, (counts.get(backing) ?? 0) + 1);
    return counts;
  }

  /** Every name of the catalogue with its backing, for diagnostics and tests. */
  entries(): Array<[string, string]> {
    return [...this.owners];
  }

  set(name: string, backing: string): Promise<void> {
    if (this.owners.get(name) === backing) return this.unwritten.get(name) ?? Promise.resolve();
    return this.commitNamed(name, { volume: name, backing });
  }

  delete(name: string): Promise<void> {
    if (!this.owners.has(name)) return this.unwritten.get(name) ?? Promise.resolve();
    return this.commitNamed(name, { volume: name, backing: null });
  }

  /**
   * Adds every name `backing` lists that the catalogue does not know yet, and marks the backing filled: on disk only
   * once this process stops cleanly, so a crash at any point leaves it unfilled, and the next start fills it again.
   */
  async fill(backing: string, names: Iterable<string>): Promise<void> {
    const changes: CatalogueChange[] = [];
    for (const volume of names) if (!this.owners.has(volume)) changes.push({ volume, backing });
    if (changes.length > 0) await this.commit(changes);
    this.filled.add(backing);
  }

  /** Waits for changes under way, then writes the whole state, filled backings included, and empties the journal. */
  async close(): Promise<void> {
    this.closing = true;
    // A snapshot naming no filled backing is what a start wrote; with none filled, it is right as it is.
    await this.store.close({ compact: this.filled.size > 0 });
  }

  private commitNamed(name: string, change: CatalogueChange): Promise<void> {
    const written = this.commit([change]);
    this.unwritten.set(name, written);
    const settled = () => {
      if (this.unwritten.get(name) === written) this.unwritten.delete(name);
    };
    written.then(settled, settled);
    return written;
  }

  private commit(changes: readonly CatalogueChange[]): Promise<void> {
    for (const change of changes) applyChange(this.owners, this.filled, change);
    return this.store.commit(changes, { sync: false });
  }

  private snapshot(): string {
    const snapshot: CatalogueFile = {
      version: 1,
      filled: this.closing ? [...this.filled] : [],
      volumes: [...this.owners].map(([volume, backing]) => ({ volume, backing })),
    };
    return JSON.stringify(snapshot);
  }
}

/** What the catalogue in `stateDir` holds, as a restart would read it, without changing anything: for tests. */
export async function readVolumeCatalogue(
  stateDir: string,
): Promise<{ owners: Map<string, string>; filled: Set<string> }> {
  const { owners, filled } = await readCatalogue(
    join(stateDir, CATALOGUE_FILE),
    join(stateDir, CATALOGUE_JOURNAL_FILE),
  );
  return { owners, filled };
}

function applyChange(owners: Map<string, string>, filled: Set<string>, change: CatalogueChange): void {
  if ('filled' in change) filled.add(change.filled);
  else if (change.backing === null) owners.delete(change.volume);
  else owners.set(change.volume, change.backing);
}

async function readCatalogue(
  file: string,
  journalFile: string,
): Promise<{ owners: Map<string, string>; filled: Set<string>; journalBytes: number }> {
  const owners = new Map<string, string>();
  const filled = new Set<string>();
  const text = await readOptional(file);
  if (text !== undefined) {
    const data = JSON.parse(text) as Partial<CatalogueFile> | null;
    if (data?.version !== 1 || !Array.isArray(data.filled) || !Array.isArray(data.volumes))
      throw new Error('unknown format');
    for (const backing of data.filled) filled.add(String(backing));
    for (const item of data.volumes) {
      if (typeof item?.volume !== 'string' || typeof item.backing !== 'string')
        throw new Error('an entry names no volume or backing');
      owners.set(item.volume, item.backing);
    }
  }
  const journal = (await readOptional(journalFile)) ?? '';
  const { entries } = parseJournalLines(journal, parseChange);
  for (const change of entries) applyChange(owners, filled, change);
  // Changes written after the last clean stop: some may have been lost (none is synced), so no backing is whole.
  if (journal.length > 0) filled.clear();
  return { owners, filled, journalBytes: journal.length };
}

function parseChange(line: string): CatalogueChange | string {
  const data = parseJsonLine(line);
  if (typeof data === 'string') return data;
  const { volume, backing, filled } = data;
  if (typeof filled === 'string') return { filled };
  if (typeof volume !== 'string' || volume === '') return 'volume is not a name';
  if (backing !== null && typeof backing !== 'string') return 'backing is not a name';
  return { volume, backing };
}
