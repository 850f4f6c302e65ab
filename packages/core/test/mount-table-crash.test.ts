import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mountRecordToJson, NO_CALLERS, parseMountRecord, type MountRecord } from '../src/engine/mount-record.js';
import { MOUNT_JOURNAL_FILE, MOUNT_TABLE_FILE, MountTable, readMountTable } from '../src/engine/mount-table.js';
import { callers } from './support/holds.js';

// A real SIGKILL needs a process of its own: the child runs the built table (dist/, as the plugin does), makes the
// changes it is given, prints each one once it is acknowledged, and then dies or stops as told.
const BUILT_TABLE = fileURLToPath(new URL('../dist/engine/mount-table.js', import.meta.url));
const BUILT_RECORD = fileURLToPath(new URL('../dist/engine/mount-record.js', import.meta.url));
const CHILD = `
const { MountTable } = await import(process.env.TABLE_MODULE);
const { parseMountRecord } = await import(process.env.RECORD_MODULE);
const [stateDir, changes, end] = process.argv.slice(1);
const table = new MountTable(stateDir);
await table.load();
for (const [volume, record] of JSON.parse(changes)) {
  await (record ? table.set(volume, parseMountRecord(record)) : table.delete(volume));
  process.stdout.write(volume + '\\n');
}
if (end === 'kill') process.kill(process.pid, 'SIGKILL');
await table.close();
`;

type Change = readonly [string, MountRecord | null];

interface ChildRun {
  readonly signal: NodeJS.Signals | null;
  readonly code: number | null;
  /** The volumes whose change was acknowledged, in order. */
  readonly acknowledged: string[];
  readonly stderr: string;
}

function runChild(
  stateDir: string,
  changes: readonly Change[],
  end: 'kill' | 'close',
  failpoints = '',
): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const json = changes.map(([volume, record]) => [volume, record && mountRecordToJson(record)]);
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, stateDir, JSON.stringify(json), end], {
      env: { ...process.env, TABLE_MODULE: BUILT_TABLE, RECORD_MODULE: BUILT_RECORD, STOWAGE_FAILPOINTS: failpoints },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      resolve({ code, signal, acknowledged: stdout.split('\n').filter(Boolean), stderr }),
    );
  });
}

const mounted = (counts: Record<string, number>): MountRecord => ({
  backing: 'mem',
  state: 'mounted',
  mountpoint: '/mnt/v',
  callers: callers(counts),
});
const mounting: MountRecord = { backing: 'mem', state: 'mounting', callers: NO_CALLERS };
const unmounting: MountRecord = { backing: 'mem', state: 'unmounting', mountpoint: '/mnt/v', callers: NO_CALLERS };

/** The table as a restart would read it, by volume. */
async function persisted(stateDir: string): Promise<Record<string, MountRecord>> {
  return Object.fromEntries(await readMountTable(stateDir));
}

/** The snapshot file's volumes, by volume. */
async function snapshotVolumes(stateDir: string): Promise<Record<string, MountRecord>> {
  const { volumes } = JSON.parse(await readFile(join(stateDir, MOUNT_TABLE_FILE), 'utf8')) as {
    volumes: Array<{ volume: string; record: unknown }>;
  };
  return Object.fromEntries(volumes.map(({ volume, record }) => [volume, parseMountRecord(record) as MountRecord]));
}

// What an engine writes for: a first mount of a (intent, then commit), a second caller of a, a mount of b cut short
// after its intent, and c mounted, then released (intent, then forgotten).
const CHANGES: readonly Change[] = [
  ['a', mounting],
  ['a', mounted({ c1: 1 })],
  ['a', mounted({ c1: 1, c2: 1 })],
  ['b', mounting],
  ['c', mounting],
  ['c', mounted({ c3: 1 })],
  ['c', unmounting],
  ['c', null],
];
const AFTER_CHANGES = { a: mounted({ c1: 1, c2: 1 }), b: mounting };

describe('the mount table across a SIGKILL', () => {
  let stateDir: string;

  beforeAll(() => {
    if (!existsSync(BUILT_TABLE)) throw new Error(`${BUILT_TABLE} is missing: build @stowage/core first (pnpm build)`);
  });
  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'stowage-table-crash-'));
  });
  afterEach(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  it('keeps every acknowledged change when killed between journal appends and the next compaction', async () => {
    const run = await runChild(stateDir, CHANGES, 'kill');
    expect(run.signal, run.stderr).toBe('SIGKILL');
    expect(run.acknowledged).toEqual(CHANGES.map(([volume]) => volume));
    // Nothing was compacted after the start: all of it lives in the journal alone.
    expect(JSON.parse(await readFile(join(stateDir, MOUNT_TABLE_FILE), 'utf8'))).toEqual({ version: 2, volumes: [] });
    expect(await persisted(stateDir)).toEqual(AFTER_CHANGES);

    const restarted = new MountTable(stateDir);
    await restarted.load();
    expect(Object.fromEntries(restarted.entries())).toEqual(AFTER_CHANGES);
    await restarted.close();
  });

  it('loses and repeats nothing when killed after the new snapshot but before the journal is emptied', async () => {
    await runChild(stateDir, CHANGES, 'kill');
    const journalBefore = await readFile(join(stateDir, MOUNT_JOURNAL_FILE), 'utf8');
    // The next start replays the journal and compacts: the kill comes between its two durable steps.
    const run = await runChild(stateDir, [], 'close', 'mount-table:after-snapshot');
    expect(run.signal, run.stderr).toBe('SIGKILL');
    expect(await snapshotVolumes(stateDir)).toEqual(AFTER_CHANGES);
    expect(await readFile(join(stateDir, MOUNT_JOURNAL_FILE), 'utf8')).toBe(journalBefore);
    // Replaying entries the snapshot already holds gives the same table.
    expect(await persisted(stateDir)).toEqual(AFTER_CHANGES);

    const after = await runChild(stateDir, [['b', mounted({ c4: 1 })]], 'close');
    expect(after.code, after.stderr).toBe(0);
    expect(await persisted(stateDir)).toEqual({ ...AFTER_CHANGES, b: mounted({ c4: 1 }) });
    expect(await readFile(join(stateDir, MOUNT_JOURNAL_FILE), 'utf8')).toBe('');
  });

  it('has a change on disk before it is acknowledged: a kill in between keeps it for the restart to finish', async () => {
    const run = await runChild(stateDir, [['d', mounting]], 'close', 'mount-table:after-append');
    expect(run.signal, run.stderr).toBe('SIGKILL');
    expect(run.acknowledged).toEqual([]);
    expect(await persisted(stateDir)).toEqual({ d: mounting });
  });

  it('drops the torn end of an append that a kill cut short, and keeps working after it', async () => {
    await runChild(stateDir, CHANGES, 'kill');
    const journal = join(stateDir, MOUNT_JOURNAL_FILE);
    // What a kill in the middle of write(2) leaves: the first bytes of the next entry, no newline.
    await writeFile(journal, `${await readFile(journal, 'utf8')}{"volume":"e","record":{"backing":"mem","sta`);
    expect(await persisted(stateDir)).toEqual(AFTER_CHANGES);

    const run = await runChild(stateDir, [['e', mounted({ c5: 1 })]], 'kill');
    expect(run.acknowledged).toEqual(['e']);
    expect(await persisted(stateDir)).toEqual({ ...AFTER_CHANGES, e: mounted({ c5: 1 }) });
  });
});
