import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MountJournal } from '../src/engine/mount-journal.js';
import {
  CATALOGUE_FILE,
  CATALOGUE_JOURNAL_FILE,
  VolumeCatalogue,
  readVolumeCatalogue,
} from '../src/engine/volume-catalogue.js';
import { ErrorKind } from '../src/errors/error-kind.js';
import { RecordingLogger } from './support/recording-logger.js';

describe('VolumeCatalogue', () => {
  let dir: string;
  let logger: RecordingLogger;
  const open: VolumeCatalogue[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stowage-catalogue-'));
    logger = new RecordingLogger();
  });
  afterEach(async () => {
    for (const catalogue of open.splice(0)) await catalogue.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function load(): Promise<VolumeCatalogue> {
    const catalogue = new VolumeCatalogue(dir, logger);
    await catalogue.load();
    open.push(catalogue);
    return catalogue;
  }

  it('keeps names, their backings and filled backings across a restart, from the journal alone', async () => {
    const catalogue = await load();
    await catalogue.set('a', 'local');
    await catalogue.set('b', 'efs');
    await catalogue.fill('local', ['a', 'c']);
    await catalogue.delete('b');
    // Not closed: what a kill leaves is the snapshot of the start and the journal since, which names no backing
    // filled: the next start lists the local backings again.
    expect((await readFile(join(dir, CATALOGUE_JOURNAL_FILE), 'utf8')).split('\n')).toHaveLength(5);
    expect(await readVolumeCatalogue(dir)).toEqual({
      owners: new Map([
        ['a', 'local'],
        ['c', 'local'],
      ]),
      filled: new Set(),
    });
    expect(catalogue.isFilled('local')).toBe(true);
  });

  it('says which backings are filled only in the snapshot of a clean stop, and syncs no change', async () => {
    const appends = vi.spyOn(MountJournal.prototype, 'append');
    const catalogue = await load();
    await catalogue.fill('local', ['a']);
    await catalogue.set('b', 'efs');
    await catalogue.delete('b');
    expect(appends.mock.calls.map(([, sync]) => sync)).toEqual([false, false, false]);
    await catalogue.close();
    open.splice(0);
    expect(await readVolumeCatalogue(dir)).toEqual({ owners: new Map([['a', 'local']]), filled: new Set(['local']) });

    const again = await load();
    expect(again.isFilled('local')).toBe(true);
    // Running: the start rewrote the snapshot without it, so a crash from here on (a power cut that loses every
    // unsynced line too) is read as not filled.
    expect((await readVolumeCatalogue(dir)).filled).toEqual(new Set());
    await again.set('c', 'local');
    await writeFile(join(dir, CATALOGUE_JOURNAL_FILE), '');
    expect((await readVolumeCatalogue(dir)).filled).toEqual(new Set());
    appends.mockRestore();
  });

  it('writes no snapshot at a start or stop that changed nothing and knows no filled backing', async () => {
    await (await load()).close();
    open.splice(0);
    const snapshot = await readFile(join(dir, CATALOGUE_FILE), 'utf8').catch(() => undefined);
    expect(snapshot).toBeUndefined();
  });

  it('shows a change at once, and writes each change once, however many callers make it meanwhile', async () => {
    const catalogue = await load();
    const writes = Array.from({ length: 20 }, (_, i) => catalogue.set(`v${i % 5}`, 'local'));
    expect(catalogue.owner('v3')).toBe('local');
    await Promise.all(writes);
    expect((await readFile(join(dir, CATALOGUE_JOURNAL_FILE), 'utf8')).trim().split('\n')).toHaveLength(5);
  });

  it('a repeated change waits for the write of the first, not less', async () => {
    const catalogue = await load();
    const first = catalogue.set('v', 'local');
    let again = false;
    const second = catalogue.set('v', 'local').then(() => (again = true));
    expect(again).toBe(false);
    await Promise.all([first, second]);
    expect((await readVolumeCatalogue(dir)).owners.get('v')).toBe('local');
  });

  it('leaves out a torn last line, as a crash during an append leaves it', async () => {
    const catalogue = await load();
    await catalogue.set('whole', 'local');
    await appendFile(join(dir, CATALOGUE_JOURNAL_FILE), '{"volume":"torn","back');
    expect((await readVolumeCatalogue(dir)).owners).toEqual(new Map([['whole', 'local']]));
  });

  it('folds the journal into the snapshot at close, and starts afresh, saying so, from one it cannot read', async () => {
    const catalogue = await load();
    await catalogue.set('v', 'local');
    await catalogue.close();
    open.splice(0);
    expect(await readFile(join(dir, CATALOGUE_JOURNAL_FILE), 'utf8')).toBe('');
    expect(JSON.parse(await readFile(join(dir, CATALOGUE_FILE), 'utf8'))).toEqual({
      version: 1,
      filled: [],
      volumes: [{ volume: 'v', backing: 'local' }],
    });

    await writeFile(join(dir, CATALOGUE_FILE), '[1, 2');
    const afresh = await load();
    expect(afresh.entries()).toEqual([]);
    expect(logger.problems().map((line) => line.message)).toEqual([
      'the volume catalogue is unreadable; starting it afresh from what each backing lists',
    ]);
  });

  it('fails a change it cannot make durable with a BackendFailure, and writes a whole snapshot next', async () => {
    const catalogue = await load();
    const append = vi
      .spyOn(MountJournal.prototype, 'append')
      .mockRejectedValueOnce(new Error('no space left on device'));
    const error = await catalogue.set('v', 'local').then(
      () => undefined,
      (e: unknown) => e as { kind: ErrorKind; message: string },
    );
    expect(error?.kind).toBe(ErrorKind.BackendFailure);
    expect(error?.message).toBe(`cannot write the volume catalogue in ${dir}: no space left on device`);
    await catalogue.set('w', 'local');
    expect(append).toHaveBeenCalledTimes(1);
    expect((await readVolumeCatalogue(dir)).owners).toEqual(
      new Map([
        ['v', 'local'],
        ['w', 'local'],
      ]),
    );
    append.mockRestore();
  });
});
