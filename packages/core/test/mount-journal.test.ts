import { open, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
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

  // A bad line that whole entries follow is damage, not a torn append: the message names the line and what is wrong.
  it.each([
    ['42', 'not a JSON object'],
    ['null', 'not a JSON object'],
    ['"a"', 'not a JSON object'],
    ['{"record":null}', 'volume is not a name'],
    ['{"volume":"","record":null}', 'volume is not a name'],
    ['{"volume":7,"record":null}', 'volume is not a name'],
    ['{"volume":"b","record":{"backing":"","state":"mounted","callers":[]}}', 'record of "b": backing is not a name'],
  ])('refuses %s followed by whole entries: %s', (bad, problem) => {
    expect(() => parseJournal(`${line('a')}${bad}\n${line('c')}`)).toThrow(
      `line 2: ${problem}, and whole entries follow it`,
    );
  });

  it('says why a line is not JSON', () => {
    expect(() => parseJournal(`{"volume":\n${line('c')}`)).toThrow(
      /^line 1: not JSON \(.+\), and whole entries follow it$/,
    );
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
    const proto = await fileHandlePrototype();
    const journal = await openJournal();
    const write = (proto as { write: (...args: unknown[]) => Promise<{ bytesWritten: number }> }).write;
    let calls = 0;
    vi.spyOn(proto as { write: typeof write }, 'write').mockImplementation(function (
      this: unknown,
      buffer: unknown,
      offset: unknown,
      length: unknown,
    ) {
      calls += 1;
      // The first write takes 7 bytes only, as a nearly full disk may.
      return write.call(this, buffer, offset, calls === 1 ? 7 : length);
    });
    await journal.append(line('a') + line('b'));
    expect(calls).toBe(2);
    expect(parseJournal(await readFile(file, 'utf8'))).toEqual({
      entries: [
        { volume: 'a', record: mounting },
        { volume: 'b', record: mounting },
      ],
      tornBytes: 0,
    });
  });

  it('cuts the file back to its last whole entry when an append fails, so the next one follows it cleanly', async () => {
    const proto = await fileHandlePrototype();
    const journal = await openJournal();
    await journal.append(line('a'));
    const write = (proto as { write: (...args: unknown[]) => Promise<{ bytesWritten: number }> }).write;
    let calls = 0;
    vi.spyOn(proto as { write: typeof write }, 'write').mockImplementation(async function (
      this: unknown,
      buffer: unknown,
      offset: unknown,
    ) {
      calls += 1;
      if (calls === 1) return write.call(this, buffer, offset, 9);
      throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    });
    await expect(journal.append(line('b'))).rejects.toThrow('no space left on device');
    expect(await readFile(file, 'utf8')).toBe(line('a'));
    expect(journal.damaged).toBe(false);

    vi.restoreAllMocks();
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
