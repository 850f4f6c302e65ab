import { writeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { mountRecordToJson, parseMountRecord, type MountRecord, type MountRecordJson } from './mount-record.js';

/** One change of the mount table: the volume's record from now on, or null once this node holds it no more. */
export interface JournalEntry {
  readonly volume: string;
  readonly record: MountRecord | null;
  /**
   * Written without an fdatasync of its own, as a change whose loss to a power cut is harmless. Marked in the file, so
   * that a read after a power cut can tell damage that only such changes follow (see {@link parseJournal}).
   */
  readonly unsynced?: true;
  /**
   * As read back: the number of the journal write (one group commit: one `write`, then one fdatasync if any of its
   * entries is synced) that carried it. Writes are numbered from 1 as a process opens the journal (which a start
   * empties first), so a later write has a higher number.
   */
  readonly write?: number;
}

/** What a journal file holds. */
export interface JournalContents {
  readonly entries: JournalEntry[];
  /** Bytes after the last whole entry that were left out: an append that a crash cut short. */
  readonly tornBytes: number;
}

/** The journal's form of one entry: one line of JSON; `write`: the number of the write that carries it. */
export function formatEntry(entry: JournalEntry, write?: number): string {
  const line: { volume: string; record: MountRecordJson | null; unsynced?: true; write?: number } = {
    volume: entry.volume,
    record: entry.record && mountRecordToJson(entry.record),
  };
  if (entry.unsynced) line.unsynced = true;
  if (write !== undefined) line.write = write;
  return `${JSON.stringify(line)}\n`;
}

/** A journal line's JSON object, or what is wrong with the line. */
export function parseJsonLine(line: string): Record<string, unknown> | string {
  let data: unknown;
  try {
    data = JSON.parse(line);
  } catch (error) {
    return `not JSON (${(error as Error).message})`;
  }
  return typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : 'not a JSON object';
}

function parseEntry(line: string): JournalEntry | string {
  const data = parseJsonLine(line);
  if (typeof data === 'string') return data;
  const { volume, record, unsynced, write } = data;
  if (typeof volume !== 'string' || volume === '') return 'volume is not a name';
  if (unsynced !== undefined && unsynced !== true) return 'unsynced is not true';
  if (write !== undefined && !(Number.isSafeInteger(write) && (write as number) >= 1)) return 'write is not a number';
  const mark = {
    ...(unsynced === true ? { unsynced: true as const } : {}),
    ...(write !== undefined ? { write: write as number } : {}),
  };
  if (record === null) return { volume, record: null, ...mark };
  const parsed = parseMountRecord(record);
  return typeof parsed === 'string'
    ? `record of ${JSON.stringify(volume)}: ${parsed}`
    : { volume, record: parsed, ...mark };
}

/**
 * Reads a journal's text. A crash during an append can leave its last line cut short, or (on file systems that
 * extend a file before its data lands) garbage: a bad end with nothing whole after it is left out, since its write
 * was never acknowledged and nothing was done on the strength of it. So is a bad line that only unsynced entries
 * follow: a power cut can take a write the page cache held and keep a later one, but never one an fdatasync since
 * made durable, and unsynced entries may be lost (each is the state of a moment before the power cut). So is a bad
 * line that synced entries of the last write follow, and nothing after that write: its fdatasync may not have ended
 * when the power went (no write starts before a synced one ahead of it is durable), so it was never acknowledged
 * either. A bad line that a synced entry of an earlier write follows is damage from something else, and throws:
 * replaying around it could forget what a caller holds.
 */
export function parseJournal(text: string): JournalContents {
  return parseJournalLines(
    text,
    parseEntry,
    (entry) => entry.unsynced === true,
    (entry) => entry.write,
  );
}

/**
 * {@link parseJournal} for any journal of JSON lines: `parseLine` answers an entry, or what is wrong with the line;
 * `unsynced` says whether an entry was written without a sync of its own (none was, when left out); `writeOf`, the
 * number of the write that carried an entry, where the journal records it. Other files of the state directory (the
 * volume catalogue) keep their changes the same way.
 */
export function parseJournalLines<E>(
  text: string,
  parseLine: (line: string) => E | string,
  unsynced: (entry: E) => boolean = () => false,
  writeOf: (entry: E) => number | undefined = () => undefined,
): { entries: E[]; tornBytes: number } {
  const lines = text.split('\n');
  // What follows the last newline: empty after a whole append.
  const tail = lines.pop() as string;
  const parsed = lines.map(parseLine);
  const firstBad = parsed.findIndex((entry) => typeof entry === 'string');
  if (firstBad === -1) return { entries: parsed as E[], tornBytes: Buffer.byteLength(tail) };
  const after = parsed.slice(firstBad + 1);
  const syncedAfter = after.findIndex((entry) => typeof entry !== 'string' && !unsynced(entry));
  if (syncedAfter !== -1 && !oneWrite(after.slice(syncedAfter), writeOf)) {
    const synced = firstBad + 2 + syncedAfter;
    throw new Error(
      `line ${firstBad + 1}: ${parsed[firstBad] as string}, and a synced entry follows it on line ${synced}`,
    );
  }
  const tornBytes = lines
    .slice(firstBad)
    .reduce((sum, line) => sum + Buffer.byteLength(line) + 1, Buffer.byteLength(tail));
  return { entries: parsed.slice(0, firstBad) as E[], tornBytes };
}

/** Whether every line of `lines` is an entry of one and the same recorded write. */
function oneWrite<E>(lines: ReadonlyArray<E | string>, writeOf: (entry: E) => number | undefined): boolean {
  const first = lines[0];
  const write = first === undefined || typeof first === 'string' ? undefined : writeOf(first);
  return write !== undefined && lines.every((entry) => typeof entry !== 'string' && writeOf(entry) === write);
}

/**
 * The append-only file behind the mount table: each change is one line, written at the end and made durable with
 * fdatasync before the caller goes on. About a quarter of the cost of rewriting the whole table through a temp file,
 * an fsync and a rename, and independent of the table's size.
 */
export class MountJournal {
  /** True when a failed append may have left bytes that could not be cut off: compact before appending again. */
  damaged = false;

  private constructor(
    private readonly handle: FileHandle,
    /** Bytes known whole: where the file is cut back to when an append fails. */
    private length: number,
  ) {}

  /** Opens (creating it, mode 0600) the journal `file` for appending. */
  static async open(file: string): Promise<MountJournal> {
    const handle = await open(file, 'a', 0o600);
    try {
      return new MountJournal(handle, (await handle.stat()).size);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /**
   * Appends whole lines and resolves once they are on disk (`sync: false`: once written, so only a power cut can lose
   * them). On failure the file is cut back to what it held before, so that the next append does not land after a torn
   * line; when even that fails, {@link damaged} is set.
   */
  async append(text: string, sync = true): Promise<void> {
    // Stryker disable next-line StringLiteral: Buffer.from takes an empty encoding as its default, utf8.
    const data = Buffer.from(text, 'utf8');
    try {
      // A regular file takes a whole write unless the disk fills up; a short one is finished or fails below. The write
      // is a copy of a line into the page cache, a few microseconds on this thread; the thread pool's round trip costs
      // ten times that, on every create, remove, Mount and Unmount (bench/, BENCHMARKS.md). Only the sync waits there.
      for (let written = 0; written < data.length;) {
        written += writeSync(this.handle.fd, data, written, data.length - written);
      }
      if (sync) await this.handle.datasync();
      this.length += data.length;
    } catch (error) {
      try {
        await this.handle.truncate(this.length);
      } catch {
        this.damaged = true;
      }
      throw error;
    }
  }

  /** Empties the journal durably (after a snapshot has taken in everything it held). */
  async truncate(): Promise<void> {
    await this.handle.truncate(0);
    await this.handle.datasync();
    this.length = 0;
    this.damaged = false;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
