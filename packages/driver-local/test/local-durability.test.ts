import { mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorKind } from '@stowage/core';
import { expectStowageError } from '@stowage/core/testing';
import { LocalProvider, type LocalOptions } from '../src/index.js';
import { fsyncPath } from '../src/deferred-sync.js';
import { volumeFsFor } from '../src/volume-fs.js';
import { RecordingLogger } from './support/recording-logger.js';

const isRoot = process.getuid?.() === 0;

let base: string;
let root: string;
let logger: RecordingLogger;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'stowage-local-durability-'));
  root = join(base, 'volumes');
  logger = new RecordingLogger();
});

/** Every provider a test started: closed before its directories go, so no background work outlives the test. */
let providers: LocalProvider[] = [];

afterEach(async () => {
  await Promise.all(providers.map((provider) => provider.close()));
  providers = [];
  await rm(base, { recursive: true, force: true });
});

/** The real fsyncs, recorded, held while the gate is shut, and failing for the paths in `failing`. */
class Disk {
  readonly synced: string[] = [];
  readonly failing = new Set<string>();
  private shutGate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;

  shut(): void {
    this.shutGate = new Promise((resolve) => (this.openGate = resolve));
  }

  open(): void {
    this.openGate?.();
    this.shutGate = undefined;
  }

  readonly sync = async (path: string): Promise<void> => {
    await this.shutGate;
    if (this.failing.has(path)) throw Object.assign(new Error(`EIO: i/o error, fsync '${path}'`), { code: 'EIO' });
    // The real fsync: a path already gone fails as it would.
    await fsyncPath(path);
    this.synced.push(path);
  };
}

async function started(disk: Disk): Promise<LocalProvider> {
  const provider = new LocalProvider({ root }, logger, { sync: disk.sync });
  providers.push(provider);
  await provider.init();
  return provider;
}

const create = (provider: LocalProvider, name: string, options: LocalOptions = { mode: '0755' }) =>
  provider.create({ name, options });

/** Whether `promise` is still pending after the event loop has turned a few times (it cannot settle meanwhile). */
async function stillPending(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
  return !settled;
}

describe('a create made durable after its answer', () => {
  it('answers while its fsyncs are held, and its first mount waits for them', async () => {
    const disk = new Disk();
    const provider = await started(disk);
    disk.shut();
    const volume = await create(provider, 'fresh');
    expect(volume.path).toBe(join(root, 'fresh', '_data'));
    expect(disk.synced).toEqual([]);

    const mounting = provider.mount({ name: 'fresh' });
    expect(await stillPending(mounting)).toBe(true);
    disk.open();
    expect(await mounting).toEqual({ path: join(root, 'fresh', '_data') });
    // The volume's file and directories, then the root that names it.
    expect(disk.synced).toEqual([
      join(root, 'fresh', 'volume.json'),
      join(root, 'fresh', '_data'),
      join(root, 'fresh'),
      root,
    ]);
  });

  it('makes a stop wait until recent creates are on disk', async () => {
    const disk = new Disk();
    const provider = await started(disk);
    disk.shut();
    await create(provider, 'a');
    await create(provider, 'b');
    const closing = provider.close();
    expect(await stillPending(closing)).toBe(true);
    disk.open();
    await closing;
    expect(disk.synced).toEqual(
      expect.arrayContaining([join(root, 'a', 'volume.json'), join(root, 'b', 'volume.json')]),
    );
    expect(disk.synced.at(-1)).toBe(root);
  });

  it('fails the first mount, naming the volume, while the disk refuses its sync; mounts once the disk takes it', async () => {
    const disk = new Disk();
    const provider = await started(disk);
    disk.failing.add(join(root, 'sick', 'volume.json'));
    await create(provider, 'sick');
    await provider.settle();
    expect(logger.at('error').map((e) => e.message)).toEqual([
      'could not make a created volume durable; its first mount tries again',
    ]);

    const error = await expectStowageError(provider.mount({ name: 'sick' }), ErrorKind.BackendFailure);
    expect(error.message).toContain('volume "sick" could not be made durable on disk');
    expect(error.message).toContain('EIO');

    disk.failing.clear();
    expect(await provider.mount({ name: 'sick' })).toEqual({ path: join(root, 'sick', '_data') });
  });

  it('puts its fsyncs off while the calls go on, but not a mount of the volume', async () => {
    const disk = new Disk();
    const provider = new LocalProvider({ root }, logger, {
      sync: disk.sync,
      quiet: { quietMs: 3_600_000, maxWaitMs: 3_600_000 },
    });
    providers.push(provider);
    await provider.init();
    await create(provider, 'soon');
    await create(provider, 'later');
    // An hour's pause is never reached here: the background work waits on.
    for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(disk.synced).toEqual([]);
    expect(await provider.mount({ name: 'soon' })).toEqual({ path: join(root, 'soon', '_data') });
    expect(disk.synced).toEqual(expect.arrayContaining([join(root, 'soon', 'volume.json'), root]));
  });

  it('needs no sync for a volume removed before its pass', async () => {
    const disk = new Disk();
    const provider = await started(disk);
    disk.shut();
    await create(provider, 'brief');
    await provider.remove({ name: 'brief' });
    disk.open();
    await provider.settle();
    // Not even the root: the volume's name and files are gone, nothing of it is left to make durable.
    expect(disk.synced).toEqual([]);
    expect(logger.at('error')).toEqual([]);
  });
});

describe('a volume whose volume.json a power cut left empty', () => {
  const file = (name: string) => join(root, name, 'volume.json');

  it('is rebuilt from its data directory, logged, and written back whole', async () => {
    const disk = new Disk();
    const first = await started(disk);
    const created = await create(first, 'cut', { mode: '0750' });
    await writeFile(join(root, 'cut', '_data', 'kept'), 'data');
    await first.close();
    // What a power cut between the rename and the background fsync leaves: the file, without its data.
    await truncate(file('cut'), 0);

    const second = await started(disk);
    const rebuilt = await second.inspect('cut');
    expect(rebuilt).toMatchObject({ name: 'cut', options: { mode: '0750' }, path: join(root, 'cut', '_data') });
    expect(Math.abs((rebuilt?.createdAt?.getTime() ?? 0) - (created.createdAt?.getTime() ?? 0))).toBeLessThan(60_000);
    expect(logger.at('warn').map((e) => e.message)).toEqual([
      'rebuilt the metadata of a volume whose create a power cut cut short, from its data directory',
    ]);
    expect(JSON.parse(await readFile(file('cut'), 'utf8'))).toEqual({
      name: 'cut',
      createdAt: rebuilt?.createdAt?.toISOString(),
      options: { mode: '0750' },
    });
    expect((await stat(file('cut'))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(root, 'cut', '_data', 'kept'), 'utf8')).toBe('data');

    // Read back as written from now on: no second rebuild.
    const third = await started(disk);
    expect((await third.list()).map((v) => [v.name, v.options])).toEqual([['cut', { mode: '0750' }]]);
    expect(logger.at('warn')).toHaveLength(1);
  });

  it('takes a zero-filled file (a file system that extended it before its data landed) as empty too', async () => {
    const disk = new Disk();
    const first = await started(disk);
    await create(first, 'zeros', { mode: '0700' });
    await writeFile(file('zeros'), Buffer.alloc(96));
    const listed = await (await started(disk)).list();
    expect(listed.map((v) => [v.name, v.options])).toEqual([['zeros', { mode: '0700' }]]);
  });

  it.skipIf(!isRoot)('keeps the owner and group the create gave the data directory', async () => {
    const disk = new Disk();
    const first = await started(disk);
    await create(first, 'owned', { uid: 1234, gid: 5678, mode: '0770' });
    await create(first, 'group-only', { gid: 4321, mode: '0755' });
    await truncate(file('owned'), 0);
    await truncate(file('group-only'), 0);
    const second = await started(disk);
    expect((await second.inspect('owned'))?.options).toEqual({ uid: '1234', gid: '5678', mode: '0770' });
    expect((await second.inspect('group-only'))?.options).toEqual({ gid: '4321', mode: '0755' });
  });

  it('stays a backend failure when there is no data directory to rebuild it from', async () => {
    const disk = new Disk();
    const first = await started(disk);
    await create(first, 'hollow');
    await rm(join(root, 'hollow', '_data'), { recursive: true });
    await truncate(file('hollow'), 0);
    const error = await expectStowageError((await started(disk)).inspect('hollow'), ErrorKind.BackendFailure);
    expect(error.message).toContain(join(root, 'hollow'));
    expect(await readFile(file('hollow'), 'utf8')).toBe('');
  });
});

describe('the file calls on the answer paths', () => {
  it('are made directly on a local file system and on the thread pool on a network one', () => {
    for (const type of [0xef53, 0x58465342, 0x9123683e, 0x01021994, 0x794c7630]) {
      expect(volumeFsFor(type).kind).toBe('direct');
    }
    // NFS, SMB2, FUSE, Ceph, 9p: each may hang on its server.
    for (const type of [0x6969, 0xfe534d42, 0x65735546, 0x00c36400, 0x01021997]) {
      expect(volumeFsFor(type).kind).toBe('pool');
    }
  });

  it('are chosen by init from the root it finds', async () => {
    const provider = new LocalProvider({ root }, logger);
    providers.push(provider);
    await provider.init();
    const ready = logger.at('debug').find((e) => e.message === 'volume root ready');
    const { type } = await import('node:fs/promises').then((fs) => fs.statfs(root));
    expect(ready?.fields).toEqual({ root, calls: volumeFsFor(type).kind });
  });
});
