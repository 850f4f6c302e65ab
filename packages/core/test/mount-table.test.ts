import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ErrorKind } from '../src/errors/error-kind.js';
import { StowageError } from '../src/errors/stowage-error.js';
import { formatEntry, MountJournal } from '../src/engine/mount-journal.js';
import { NO_CALLERS, parseMountRecord, type MountRecord } from '../src/engine/mount-record.js';
import { MOUNT_JOURNAL_FILE, MOUNT_TABLE_FILE, MountTable, readMountTable } from '../src/engine/mount-table.js';
import { expectStowageError } from '../src/testing/expect-stowage-error.js';
import { loadWithFailpoints } from './support/failpoints.js';
import { callers } from './support/holds.js';

const mounted = (counts: Record<string, number>): MountRecord => ({
  backing: 'mem',
  state: 'mounted',
  mountpoint: '/mnt/v',
  callers: callers(counts),
});
const mounting: MountRecord = { backing: 'mem', state: 'mounting', callers: NO_CALLERS };

describe('MountTable', () => {
  let stateDir: string;
  const tables: MountTable[] = [];

  async function openTable(): Promise<MountTable> {
    const table = new MountTable(stateDir);
    await table.load();
    tables.push(table);
    return table;
  }

  async function journalLines(): Promise<string[]> {
    const text = await readFile(join(stateDir, MOUNT_JOURNAL_FILE), 'utf8');
    return text.split('\n').filter((line) => line !== '');
  }

  async function snapshotVolumes(): Promise<Record<string, MountRecord>> {
    const { volumes } = JSON.parse(await readFile(join(stateDir, MOUNT_TABLE_FILE), 'utf8')) as {
      volumes: Array<{ volume: string; record: unknown }>;
    };
    return Object.fromEntries(volumes.map(({ volume, record }) => [volume, parseMountRecord(record) as MountRecord]));
  }

  /** The table as a restart would read it, by volume. */
  async function persisted(): Promise<Record<string, MountRecord>> {
    return Object.fromEntries(await readMountTable(stateDir));
  }

  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'stowage-table-'));
  });

  afterEach(async () => {
    vi.restoreAllMocks();
    for (const table of tables.splice(0)) await table.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('appends each change to the journal before resolving, and a restart reads them back', async () => {
    const table = await openTable();
    await table.set('a', mounting);
    await table.set('a', mounted({ c1: 1 }));
    await table.set('b', mounted({ c2: 2 }));
    await table.delete('b');
    // Only appended: the snapshot is still the empty one the start wrote.
    expect(await snapshotVolumes()).toEqual({});
    expect(await journalLines()).toHaveLength(4);
    expect(await persisted()).toEqual({ a: mounted({ c1: 1 }) });
  });

  it('folds the journal into the snapshot at each start and at close', async () => {
    const table = await openTable();
    await table.set('a', mounted({ c1: 1 }));
    const restarted = new MountTable(stateDir);
    await restarted.load();
    expect(restarted.entries()).toEqual([['a', mounted({ c1: 1 })]]);
    expect(await snapshotVolumes()).toEqual({ a: mounted({ c1: 1 }) });
    expect(await journalLines()).toEqual([]);
    await restarted.set('b', mounting);
    await restarted.close();
    expect(await snapshotVolumes()).toEqual({ a: mounted({ c1: 1 }), b: mounting });
    expect(await journalLines()).toEqual([]);
  });

  it('keeps both files readable by the owner only', async () => {
    const table = await openTable();
    await table.set('a', mounting);
    expect((await stat(join(stateDir, MOUNT_TABLE_FILE))).mode & 0o777).toBe(0o600);
    expect((await stat(join(stateDir, MOUNT_JOURNAL_FILE))).mode & 0o777).toBe(0o600);
  });

  it('commits changes made during a write together in the next write, and never acknowledges them early', async () => {
    const table = await openTable();
    const texts: string[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const append = MountJournal.prototype.append;
    vi.spyOn(MountJournal.prototype, 'append').mockImplementation(async function (this: MountJournal, text: string) {
      texts.push(text);
      if (texts.length === 1) await gate;
      return append.call(this, text);
    });

    const first = table.set('a', mounting);
    const later = ['b', 'c', 'd'].map((name) => table.set(name, mounted({ [name]: 1 })));
    let acknowledged = 0;
    for (const change of later) void change.then(() => (acknowledged += 1));
    await new Promise((resolve) => setImmediate(resolve));
    // The first write is under way with `a` alone; the others wait for it.
    expect(texts).toHaveLength(1);
    release();
    expect(texts[0]).toBe(formatEntry({ volume: 'a', record: mounting }, 1));

    await first;
    expect(acknowledged).toBe(0);
    await Promise.all(later);
    expect(texts).toHaveLength(2);
    // One write, one number: a power cut during its sync takes all of it or none (see parseJournal).
    expect(
      (texts[1] as string)
        .trimEnd()
        .split('\n')
        .map((line) => [JSON.parse(line).volume, JSON.parse(line).write]),
    ).toEqual([
      ['b', 2],
      ['c', 2],
      ['d', 2],
    ]);
    expect([...(await readMountTable(stateDir)).keys()].sort()).toEqual(['a', 'b', 'c', 'd']);
  });

  it('compacts a long journal into the snapshot, so it never grows without bound', async () => {
    const table = await openTable();
    for (let i = 0; i < 1_100; i += 1) await table.set(`v${i % 3}`, mounted({ [`c${i}`]: 1 }));
    const lines = await journalLines();
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.length).toBeLessThan(1_000);
    // What was compacted is in the snapshot; the journal holds only what came after.
    expect(Object.keys(await snapshotVolumes()).sort()).toEqual(['v0', 'v1', 'v2']);
    expect(await persisted()).toEqual(Object.fromEntries(table.entries()));
  });

  it('never makes a change whose write failed: not visible, and not written by a later change', async () => {
    const table = await openTable();
    await table.set('a', mounting);
    await table.set('b', mounted({ c0: 1 }));
    const append = vi
      .spyOn(MountJournal.prototype, 'append')
      .mockRejectedValueOnce(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }));
    const error = await table.set('b', mounted({ c0: 1, c1: 1 })).catch((e: unknown) => e);
    expect(StowageError.is(error) && error.kind).toBe(ErrorKind.BackendFailure);
    expect((error as Error).message).toContain('no space left on device');
    expect(table.get('b')).toEqual(mounted({ c0: 1 }));

    await table.set('c', mounting);
    // The next write was a whole snapshot (the journal may hold a torn line), without the change that failed.
    expect(append).toHaveBeenCalledTimes(1);
    expect(await snapshotVolumes()).toEqual({ a: mounting, b: mounted({ c0: 1 }), c: mounting });
    expect(await journalLines()).toEqual([]);
    expect(Object.fromEntries(table.entries())).toEqual(await persisted());
  });

  it('writes nothing to forget a volume it does not hold', async () => {
    const table = await openTable();
    await table.delete('never-held');
    expect(await journalLines()).toEqual([]);
  });

  it('folds the journal into the snapshot once it holds more than 1,000 entries', async () => {
    const table = await openTable();
    // Changes made during a write go out together: 1,000 changes of three volumes in two appends (1, then 999).
    await Promise.all(Array.from({ length: 1_000 }, (_, i) => table.set(`v${i % 3}`, mounted({ [`c${i}`]: 1 }))));
    expect(await journalLines()).toHaveLength(1_000);
    expect(await snapshotVolumes()).toEqual({});
    await table.set('v0', mounting);
    expect(await journalLines()).toEqual([]);
    expect(await snapshotVolumes()).toEqual({ v0: mounting, v1: mounted({ c997: 1 }), v2: mounted({ c998: 1 }) });
  });

  it('lets the journal grow to twice the table before folding a large table', async () => {
    const table = await openTable();
    await Promise.all(Array.from({ length: 600 }, (_, i) => table.set(`v${i}`, mounting)));
    await Promise.all(Array.from({ length: 500 }, (_, i) => table.set(`v${i}`, mounted({ c: 1 }))));
    // 1,100 entries: more than 1,000, but a snapshot of 600 records is folded in only past 1,200.
    expect(await journalLines()).toHaveLength(1_100);
    await Promise.all(Array.from({ length: 101 }, (_, i) => table.set(`v${i}`, mounted({ c: 2 }))));
    expect(await journalLines()).toEqual([]);
    expect(Object.keys(await snapshotVolumes())).toHaveLength(600);
    expect((await snapshotVolumes())['v100']).toEqual(mounted({ c: 2 }));
  });

  it('closes once: a second close, or a close after a read-only load, writes nothing', async () => {
    const table = await openTable();
    await table.set('a', mounting);
    await table.close();
    await table.close();
    expect(await snapshotVolumes()).toEqual({ a: mounting });

    await writeFile(join(stateDir, MOUNT_JOURNAL_FILE), formatEntry({ volume: 'b', record: mounting }));
    const reader = new MountTable(stateDir);
    await reader.loadReadOnly();
    expect(reader.entries()).toEqual([
      ['a', mounting],
      ['b', mounting],
    ]);
    await reader.close();
    expect(await snapshotVolumes()).toEqual({ a: mounting });
    expect(await journalLines()).toHaveLength(1);
  });

  it('refuses changes once closed, or when only read', async () => {
    const table = await openTable();
    await table.close();
    const closed = await table.set('a', mounting).catch((e: unknown) => e);
    expect(StowageError.is(closed, ErrorKind.BackendFailure)).toBe(true);
    expect((closed as Error).message).toContain('the mount table is not loaded');

    const reader = new MountTable(stateDir);
    await reader.loadReadOnly();
    await expect(reader.set('a', mounting)).rejects.toThrow('the mount table is not loaded');
    expect(await persisted()).toEqual({});
  });

  describe('that cannot be read', () => {
    const loadError = (): Promise<StowageError> => expectStowageError(new MountTable(stateDir).load());

    it('refuses to start when the snapshot is there but cannot be read, rather than start empty', async () => {
      await mkdir(join(stateDir, MOUNT_TABLE_FILE));
      const error = await loadError();
      expect(error.kind).toBe(ErrorKind.BackendFailure);
      expect(error.message).toMatch(
        new RegExp(`^cannot read the mount table ${join(stateDir, MOUNT_TABLE_FILE)}: EISDIR`),
      );
    });

    it('refuses to start when the journal is there but cannot be read', async () => {
      await mkdir(join(stateDir, MOUNT_JOURNAL_FILE));
      const error = await loadError();
      expect(error.kind).toBe(ErrorKind.BackendFailure);
      expect(error.message).toMatch(
        new RegExp(`^cannot read the mount journal ${join(stateDir, MOUNT_JOURNAL_FILE)}: EISDIR`),
      );
    });

    it('refuses to start when the journal cannot be opened for appending', async () => {
      vi.spyOn(MountJournal, 'open').mockRejectedValueOnce(
        Object.assign(new Error('read-only file system'), { code: 'EROFS' }),
      );
      const error = await loadError();
      expect(error.kind).toBe(ErrorKind.BackendFailure);
      expect(error.message).toBe(
        `cannot open the mount journal ${join(stateDir, MOUNT_JOURNAL_FILE)}: read-only file system`,
      );
    });

    const record = { backing: 'mem', state: 'mounting', callers: [] };
    it.each([
      ['not a table at all', null, 'unknown format'],
      ['a version this release does not know', { version: 3, volumes: [] }, 'unknown format'],
      ['version 2 with volumes as an object', { version: 2, volumes: { a: record } }, 'unknown format'],
      ['version 1 with volumes as a list', { version: 1, volumes: [{ volume: 'a', record }] }, 'unknown format'],
      ['version 1 with no volumes', { version: 1, volumes: null }, 'unknown format'],
      ['version 1 with volumes as a string', { version: 1, volumes: 'a' }, 'unknown format'],
      ['an entry that is not an object', { version: 2, volumes: [null] }, 'a record names no volume'],
      ['an entry without a volume', { version: 2, volumes: [{ record }] }, 'a record names no volume'],
      [
        'an entry with an empty volume name',
        { version: 2, volumes: [{ volume: '', record }] },
        'a record names no volume',
      ],
      [
        'a record of an unknown shape',
        { version: 2, volumes: [{ volume: 'a', record: { ...record, state: 'gone' } }] },
        'record of "a": unknown state "gone"',
      ],
      [
        'a version 1 record of an unknown shape',
        { version: 1, volumes: { a: { ...record, callers: { c: -1 } } } },
        'record of "a": caller "c" has no positive count',
      ],
    ])('refuses to start on a snapshot with %s, and says what to do', async (_, data, problem) => {
      await writeFile(join(stateDir, MOUNT_TABLE_FILE), JSON.stringify(data));
      const error = await loadError();
      expect(error.kind).toBe(ErrorKind.BackendFailure);
      expect(error.message).toBe(
        `the mount table ${join(stateDir, MOUNT_TABLE_FILE)} is unreadable (${problem}); move it aside to start without it, ` +
          'then check for leftover mounts',
      );
    });
  });

  describe('killed at a failpoint (in process; mount-table-crash.test.ts kills a real process)', () => {
    it('has an appended change on disk before acknowledging it', async () => {
      const { MountTable: ArmedTable } = await loadWithFailpoints(
        'mount-table:after-append',
        () => import('../src/engine/mount-table.js'),
      );
      const table = new ArmedTable(stateDir);
      await table.load();
      await expect(table.set('d', mounting)).rejects.toThrow('killed at a failpoint');
      expect(await persisted()).toEqual({ d: mounting });
      vi.restoreAllMocks();
      await table.close();
    });

    it('has nothing of a change on disk when killed before its append, and a restart reads the table as it was', async () => {
      await writeFile(join(stateDir, MOUNT_JOURNAL_FILE), formatEntry({ volume: 'a', record: mounting }));
      const { MountTable: ArmedTable } = await loadWithFailpoints(
        'mount-table:before-append',
        () => import('../src/engine/mount-table.js'),
      );
      const armed = new ArmedTable(stateDir);
      await armed.load();
      await expect(armed.set('b', mounted({ c1: 1 }))).rejects.toThrow('killed at a failpoint');
      expect(armed.get('b')).toBeUndefined();
      expect(await persisted()).toEqual({ a: mounting });
      vi.restoreAllMocks();
      await armed.close();
    });

    it('keeps the old snapshot and the journal whole when killed before a new snapshot is written', async () => {
      const entries = formatEntry({ volume: 'a', record: mounting });
      await writeFile(join(stateDir, MOUNT_JOURNAL_FILE), entries);
      const { MountTable: ArmedTable } = await loadWithFailpoints(
        'mount-table:before-snapshot',
        () => import('../src/engine/mount-table.js'),
      );
      await expect(new ArmedTable(stateDir).load()).rejects.toThrow('killed at a failpoint');
      expect(await readFile(join(stateDir, MOUNT_JOURNAL_FILE), 'utf8')).toBe(entries);
      expect(await persisted()).toEqual({ a: mounting });
    });

    it('keeps the journal until the snapshot that took it in is durable', async () => {
      const entries =
        formatEntry({ volume: 'a', record: mounting }) + formatEntry({ volume: 'b', record: mounted({ c1: 1 }) });
      await writeFile(join(stateDir, MOUNT_JOURNAL_FILE), entries);
      const { MountTable: ArmedTable } = await loadWithFailpoints(
        'mount-table:after-snapshot',
        () => import('../src/engine/mount-table.js'),
      );
      await expect(new ArmedTable(stateDir).load()).rejects.toThrow('killed at a failpoint');
      expect(await snapshotVolumes()).toEqual({ a: mounting, b: mounted({ c1: 1 }) });
      expect(await readFile(join(stateDir, MOUNT_JOURNAL_FILE), 'utf8')).toBe(entries);
      expect(await persisted()).toEqual({ a: mounting, b: mounted({ c1: 1 }) });
    });
  });

  describe('after a crash', () => {
    const line = (volume: string, record: MountRecord | null): string => formatEntry({ volume, record });
    const rawLine = (volume: string, record: object): string => `${JSON.stringify({ volume, record })}\n`;

    it('leaves out a last line that an append cut short, and appends after it cleanly', async () => {
      // A snapshot as 0.1 wrote it: version 1, callers as an object.
      await writeFile(
        join(stateDir, MOUNT_TABLE_FILE),
        JSON.stringify({ version: 1, volumes: { a: { backing: 'mem', state: 'mounted', callers: { c1: 1 } } } }),
      );
      const whole = line('b', mounting) + line('a', null);
      await writeFile(join(stateDir, MOUNT_JOURNAL_FILE), whole + line('c', mounted({ c9: 1 })).slice(0, 25));
      expect(await persisted()).toEqual({ b: mounting });

      const table = await openTable();
      expect(table.entries()).toEqual([['b', mounting]]);
      await table.set('d', mounting);
      expect(await persisted()).toEqual({ b: mounting, d: mounting });
    });

    it('leaves out a garbage end (an extended file whose data never landed)', async () => {
      await writeFile(join(stateDir, MOUNT_JOURNAL_FILE), `${line('a', mounting)}\0\0\0\0\0\0\n\0\0\0`);
      expect(await persisted()).toEqual({ a: mounting });
    });

    it('refuses to start on a damaged line that a synced entry follows, rather than forget a caller', async () => {
      await writeFile(
        join(stateDir, MOUNT_JOURNAL_FILE),
        `${line('a', mounting)}{"volume":"b","rec\n${line('c', mounting)}`,
      );
      const error = await new MountTable(stateDir).load().catch((e: unknown) => e);
      expect(StowageError.is(error) && error.kind).toBe(ErrorKind.BackendFailure);
      expect((error as Error).message).toMatch(
        /mounts\.journal is unreadable \(line 2: .*a synced entry follows it on line 3\); move it aside/,
      );
    });

    it('starts on what the last sync kept when a power cut damaged the unsynced writes after it', async () => {
      const unsynced = (volume: string, record: MountRecord | null): string =>
        formatEntry({ volume, record, unsynced: true });
      await writeFile(
        join(stateDir, MOUNT_JOURNAL_FILE),
        `${line('a', mounting)}${unsynced('b', mounted({ c1: 1 }))}\0\0\0\0\0\n${unsynced('b', null)}`,
      );
      expect(await persisted()).toEqual({ a: mounting, b: mounted({ c1: 1 }) });
      const table = await openTable();
      expect(table.entries()).toEqual([
        ['a', mounting],
        ['b', mounted({ c1: 1 })],
      ]);
    });

    it('starts on what the last sync kept when the power went during the sync of the last write', async () => {
      // Write 4 (a Mount's intent, synced) was on its way to the disk: its page landed, unsynced write 3's did not.
      await writeFile(
        join(stateDir, MOUNT_JOURNAL_FILE),
        formatEntry({ volume: 'a', record: mounting }, 1) +
          formatEntry({ volume: 'b', record: mounted({ c1: 1 }), unsynced: true }, 2) +
          '\0\0\0\0\0\n' +
          formatEntry({ volume: 'c', record: mounting }, 4),
      );
      expect(await persisted()).toEqual({ a: mounting, b: mounted({ c1: 1 }) });
      const table = await openTable();
      expect(table.entries().map(([name]) => name)).toEqual(['a', 'b']);
    });

    it('refuses a record of an unknown shape', async () => {
      await writeFile(
        join(stateDir, MOUNT_JOURNAL_FILE),
        rawLine('a', { backing: 'mem', state: 'mounted', callers: { c1: 0 } }) + line('b', mounting),
      );
      await expect(new MountTable(stateDir).load()).rejects.toThrow(/record of "a": caller "c1" has no positive count/);
    });
  });
});
