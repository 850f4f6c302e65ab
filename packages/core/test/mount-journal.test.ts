import { writeSync } from 'node:fs';
import { open, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// The journal copies each append into the page cache with writeSync: a test makes the disk take less than asked.
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  return { ...fs, writeSync: vi.fn(fs.writeSync) };
});
import { formatEntry, MountJournal, parseJournal } from '../src/engine/mount-journal.js';
import { NO_CALLERS, type MountRecord } from '../src/engine/mount-record.js';

const mounting: MountRecord = { backing: 'mem', state: 'mounting', callers: NO_CALLERS };
const line = (volume: string, record: MountRecord | null = mounting): string => formatEntry({ volume, record });

describe('parseJournal', () => {
  it('reads whole entries, forgets included, and counts nothing torn after a whole append', () => {
    expect(parseJournal(line('a') + line('a', null))).toEqual({
      entries: [
        { volume: 'a', record: mounting },
        { volume: 'a', record: null },
      ],
      tornBytes: 0,
    });
    expect(parseJournal('')).toEqual({ entries: [], tornBytes: 0 });
  });

  it('leaves out a last line an append cut short, and says how many bytes it left', () => {
    const torn = line('b').slice(0, 20);
    expect(parseJournal(line('a') + torn)).toEqual({
      entries: [{ volume: 'a', record: mounting }],
      tornBytes: Buffer.byteLength(torn),
    });
  });

  it('leaves out a garbage end of several lines, counting every byte of it', () => {
    const garbage = '\0\0\n{"volume":\nzz';
    expect(parseJournal(line('a') + garbage)).toEqual({
      entries: [{ volume: 'a', record: mounting }],
      tornBytes: Buffer.byteLength(garbage),
    });
    // Multi-byte characters count as the bytes they take on disk.
    expect(parseJournal(`${line('a')}é\né`).tornBytes).toBe(5);
  });

  // A bad line that a synced entry follows is damage, not a torn append: the message names the line and what is wrong.
  it.each([
    ['42', 'not a JSON object'],
    ['null', 'not a JSON object'],
    ['"a"', 'not a JSON object'],
    ['{"record":null}', 'volume is not a name'],
    ['{"volume":"","record":null}', 'volume is not a name'],
    ['{"volume":7,"record":null}', 'volume is not a name'],
    ['{"volume":"b","record":{"backing":"","state":"mounted","callers":[]}}', 'record of "b": backing is not a name'],
    ['{"volume":"b","record":null,"unsynced":false}', 'unsynced is not true'],
  ])('refuses %s followed by a synced entry: %s', (bad, problem) => {
    expect(() => parseJournal(`${line('a')}${bad}\n${line('c')}`)).toThrow(
      `line 2: ${problem}, and a synced entry follows it on line 3`,
    );
  });

  it('says why a line is not JSON', () => {
    expect(() => parseJournal(`{"volume":\n${line('c')}`)).toThrow(
      /^line 1: not JSON \(.+\), and a synced entry follows it on line 2$/,
    );
  });

  // A power cut keeps what the last fdatasync made durable, and of the unsynced writes after it, any pages: a write
  // may land while an earlier one does not. Entries written unsynced may be lost, so such damage is a torn end.
  it('leaves out damage and the unsynced entries after it, as a power cut may leave them', () => {
    const unsynced = (volume: string): string => formatEntry({ volume, record: null, unsynced: true });
    const damage = '\0\0\0\0{"volume":"b","rec\n';
    const after = unsynced('c') + unsynced('d');
    expect(parseJournal(line('a') + unsynced('x') + damage + after)).toEqual({
      entries: [
        { volume: 'a', record: mounting },
        { volume: 'x', record: null, unsynced: true },
      ],
      tornBytes: Buffer.byteLength(damage + after),
    });
    // One synced entry after the damage and it is not a power cut's doing: the sync would have kept what it follows.
    expect(() => parseJournal(line('a') + damage + unsynced('c') + line('e') + unsynced('d'))).toThrow(
      /^line 2: not JSON \(.+\), and a synced entry follows it on line 4$/,
    );
  });

  // A write is appended, then synced; the next one waits for that sync. A power cut while the last write's fdatasync
  // ran may keep its pages and lose those of an unsynced write before it: that write was never acknowledged.
  describe('with the number of the write that carried each line', () => {
    const at = (write: number, volume: string, unsynced = false): string =>
      formatEntry(unsynced ? { volume, record: null, unsynced: true } : { volume, record: mounting }, write);
    const damage = '\0\0\0\0\0\0\0\0\n';

    it('leaves out damage that synced entries of the last write follow, with them', () => {
      const tail = damage + at(3, 'c', true) + at(4, 'd') + at(4, 'e', true) + at(4, 'f');
      expect(parseJournal(at(1, 'a') + at(2, 'b', true) + tail)).toEqual({
        entries: [
          { volume: 'a', record: mounting, write: 1 },
          { volume: 'b', record: null, unsynced: true, write: 2 },
        ],
        tornBytes: Buffer.byteLength(tail),
      });
    });

    it('refuses damage that a synced entry of an earlier write follows: that sync ended, and kept what it follows', () => {
      expect(() => parseJournal(at(1, 'a') + damage + at(3, 'd') + at(4, 'e', true))).toThrow(
        'line 2: not JSON (Unexpected token',
      );
      expect(() => parseJournal(at(1, 'a') + damage + at(3, 'd') + damage)).toThrow(
        /^line 2: .*, and a synced entry follows it on line 3$/,
      );
      // Without write numbers (an older plugin's lines), as before: any synced entry after damage refuses it.
      expect(() => parseJournal(at(1, 'a') + damage + line('d'))).toThrow(/a synced entry follows it on line 3$/);
    });

    it('reads the number back, and refuses one that is not a count', () => {
      expect(JSON.parse(at(7, 'a'))).toMatchObject({ volume: 'a', write: 7 });
      expect(() => parseJournal(`{"volume":"a","record":null,"write":0}\n${line('b')}`)).toThrow(
        'line 1: write is not a number',
      );
      expect(() => parseJournal(`{"volume":"a","record":null,"write":"1"}\n${line('b')}`)).toThrow(
        'line 1: write is not a number',
      );
    });
  });

  it('writes the mark of an unsynced entry, and reads it back', () => {
    const entry = { volume: 'a', record: mounting, unsynced: true } as const;
    expect(JSON.parse(formatEntry(entry))).toMatchObject({ unsynced: true });
    expect(JSON.parse(line('a'))).not.toHaveProperty('unsynced');
    expect(parseJournal(formatEntry(entry) + line('b'))).toEqual({
      entries: [entry, { volume: 'b', record: mounting }],
      tornBytes: 0,
    });
  });
});

describe('MountJournal', () => {
  let dir: string;
  let file: string;
  const journals: MountJournal[] = [];

  async function openJournal(): Promise<MountJournal> {
    const journal = await MountJournal.open(file);
    journals.push(journal);
    return journal;
  }

  /** FileHandle's prototype, to make the disk misbehave under the journal. */
  async function fileHandlePrototype(): Promise<object> {
    const handle = await open(join(dir, 'probe'), 'w');
    await handle.close();
    return Object.getPrototypeOf(handle) as object;
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stowage-journal-'));
    file = join(dir, 'mounts.journal');
  });

  afterEach(async () => {
    vi.restoreAllMocks();
    for (const journal of journals.splice(0)) await journal.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('appends after what the file already holds', async () => {
    const first = await openJournal();
    await first.append(line('a'));
    await first.close();
    journals.splice(0);
    const second = await openJournal();
    expect(second.damaged).toBe(false);
    await second.append(line('b'));
    expect(await readFile(file, 'utf8')).toBe(line('a') + line('b'));
  });

  it('finishes a write the disk took only part of: the entry lands whole', async () => {
    const journal = await openJournal();
    vi.mocked(writeSync).mockClear();
    const real = vi.mocked(writeSync).getMockImplementation() as typeof writeSync;
    // The first write takes 7 bytes only, as a nearly full disk may.
    vi.mocked(writeSync).mockImplementationOnce(((fd: number, buffer: Buffer, offset: number) =>
      real(fd, buffer, offset, 7)) as typeof writeSync);
    await journal.append(line('a') + line('b'));
    expect(vi.mocked(writeSync)).toHaveBeenCalledTimes(2);
    expect(parseJournal(await readFile(file, 'utf8'))).toEqual({
      entries: [
        { volume: 'a', record: mounting },
        { volume: 'b', record: mounting },
      ],
      tornBytes: 0,
    });
  });

  it('cuts the file back to its last whole entry when an append fails, so the next one follows it cleanly', async () => {
    const journal = await openJournal();
    await journal.append(line('a'));
    const real = vi.mocked(writeSync).getMockImplementation() as typeof writeSync;
    vi.mocked(writeSync)
      .mockImplementationOnce(((fd: number, buffer: Buffer, offset: number) =>
        real(fd, buffer, offset, 9)) as typeof writeSync)
      .mockImplementationOnce(() => {
        throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
      });
    await expect(journal.append(line('b'))).rejects.toThrow('no space left on device');
    expect(await readFile(file, 'utf8')).toBe(line('a'));
    expect(journal.damaged).toBe(false);

    await journal.append(line('c'));
    expect(await readFile(file, 'utf8')).toBe(line('a') + line('c'));
  });

  it('says it is damaged when it cannot cut a failed append back, until it is emptied', async () => {
    const proto = await fileHandlePrototype();
    const journal = await openJournal();
    await journal.append(line('a'));
    vi.spyOn(proto as { datasync: () => Promise<void> }, 'datasync').mockRejectedValueOnce(
      Object.assign(new Error('I/O error'), { code: 'EIO' }),
    );
    vi.spyOn(proto as { truncate: (len?: number) => Promise<void> }, 'truncate').mockRejectedValueOnce(
      Object.assign(new Error('I/O error'), { code: 'EIO' }),
    );
    await expect(journal.append(line('b'))).rejects.toThrow('I/O error');
    expect(journal.damaged).toBe(true);

    await journal.truncate();
    expect(journal.damaged).toBe(false);
    expect(await readFile(file, 'utf8')).toBe('');
    await journal.append(line('c'));
    expect(await readFile(file, 'utf8')).toBe(line('c'));
  });

  it('fails to open when the file cannot be examined', async () => {
    const proto = await fileHandlePrototype();
    vi.spyOn(proto as { stat: () => Promise<unknown> }, 'stat').mockRejectedValueOnce(
      Object.assign(new Error('I/O error'), { code: 'EIO' }),
    );
    await expect(MountJournal.open(file)).rejects.toThrow('I/O error');
  });

  it('writes nothing once closed', async () => {
    const journal = await openJournal();
    await journal.append(line('a'));
    await journal.close();
    await expect(journal.append(line('b'))).rejects.toThrow();
    expect(await readFile(file, 'utf8')).toBe(line('a'));
  });
});
