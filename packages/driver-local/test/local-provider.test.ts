import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorKind } from '@stowage/core';
import { expectStowageError } from '@stowage/core/testing';
import { LocalProvider, type LocalOptions, type LocalProviderHooks } from '../src/index.js';
import { BLANK_PREFIX } from '../src/volume-layout.js';
import { BLANKS_KEPT } from '../src/volume-blanks.js';
import { DIRECT_FS, POOL_FS, type VolumeFs } from '../src/volume-fs.js';
import { RecordingLogger } from './support/recording-logger.js';

const isRoot = process.getuid?.() === 0;

let base: string;
let root: string;
let logger: RecordingLogger;
/** The calls the providers of a test make: every test runs with each kind. */
let fileCalls: VolumeFs;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'stowage-local-'));
  root = join(base, 'volumes');
  logger = new RecordingLogger();
});

/** Every provider a test made: closed before its directories go, so no background work outlives the test. */
let providers: LocalProvider[] = [];

afterEach(async () => {
  await Promise.all(providers.map((provider) => provider.close()));
  providers = [];
  await rm(base, { recursive: true, force: true });
});

function provided(hooks: LocalProviderHooks = {}): LocalProvider {
  const provider = new LocalProvider({ root }, logger, { fs: fileCalls, ...hooks });
  providers.push(provider);
  return provider;
}

async function started(hooks: LocalProviderHooks = {}): Promise<LocalProvider> {
  const provider = provided(hooks);
  await provider.init();
  return provider;
}

/** The entries of `dir`, sorted, but for the blank volumes kept ready for creates (tested on their own below). */
async function entriesOf(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((entry) => !entry.startsWith(BLANK_PREFIX)).sort();
}

function create(provider: LocalProvider, name: string, options: LocalOptions = { mode: '0755' }) {
  return provider.create({ name, options });
}

const permissions = async (path: string) => (await stat(path)).mode & 0o7777;
describe.each([DIRECT_FS, POOL_FS])('with $kind file calls', (calls) => {
  beforeEach(() => {
    fileCalls = calls;
  });

  describe('ready', () => {
    it('resolves while the root is a writable directory', async () => {
      const provider = await started();
      await expect(provider.checkReady()).resolves.toBeUndefined();
    });

    it('fails naming the root once it is gone or replaced by a file', async () => {
      const provider = await started();
      // The blanks it makes meanwhile would race the removal.
      await provider.settle();
      await rm(root, { recursive: true });
      await expect(provider.checkReady()).rejects.toThrow(`the volume root ${root} is not writable`);
      await writeFile(root, 'not a directory');
      await expect(provider.checkReady()).rejects.toThrow(/not a directory/);
    });

    it.skipIf(isRoot)('fails when the root is not writable for this user', async () => {
      const provider = await started();
      await chmod(root, 0o500);
      await expect(provider.checkReady()).rejects.toThrow(/not writable/);
      await chmod(root, 0o700);
    });
  });

  describe('capacity', () => {
    it('is the free space of the file system holding the root, as df reports it', async () => {
      const provider = await started();
      const bytes = await provider.capacity();
      const { stdout } = await promisify(execFile)('df', ['--block-size=1', '--output=avail', root]);
      const df = Number(stdout.trim().split('\n').at(-1));
      // Other processes write to the same file system between the two readings: they agree to within that.
      expect(Math.abs(bytes - df)).toBeLessThan(64 * 1024 ** 2);
      expect(bytes).toBeGreaterThan(0);
    });

    it('fails naming the root once it is gone', async () => {
      const provider = await started();
      // The blanks it makes meanwhile would race the removal.
      await provider.settle();
      await rm(root, { recursive: true });
      await expect(provider.capacity()).rejects.toThrow(`cannot read the free space of the volume root ${root}`);
    });
  });

  describe('init', () => {
    it('creates a missing root readable by its owner only', async () => {
      const provider = await started();
      expect(provider.root).toBe(root);
      expect(await permissions(root)).toBe(0o700);
    });

    it('deletes what interrupted creates and removes left, and nothing else', async () => {
      const provider = await started();
      await create(provider, 'kept');
      // What a crash leaves: a create before its rename, a remove after its rename.
      await mkdir(join(root, '.creating-half-abc123', '_data'), { recursive: true });
      await mkdir(join(root, '.removing-old-0badc0de', '_data'), { recursive: true });
      await writeFile(join(root, '.removing-old-0badc0de', '_data', 'big'), 'x'.repeat(1000));
      await mkdir(join(root, '.operator-notes'));
      expect((await provider.list()).map((v) => v.name)).toEqual(['kept']);
      // Its blanks, left as a stop leaves them, go too, but quietly: they are no crash's doing.
      await provider.settle();
      await provider.close();

      await started();
      expect(await entriesOf(root)).toEqual(['.operator-notes', 'kept']);
      expect(
        logger
          .at('info')
          .map((e) => (e.fields as { path?: string }).path)
          .sort(),
      ).toEqual([join(root, '.creating-half-abc123'), join(root, '.removing-old-0badc0de')]);
      expect(logger.at('debug').filter((e) => e.message === 'removed a blank a stop left')).toHaveLength(BLANKS_KEPT);
    });

    it('refuses a relative root', () => {
      expect(() => new LocalProvider({ root: 'volumes' }, logger)).toThrow(/root: must be an absolute path/);
    });
  });

  describe('create', () => {
    it('lays a volume out as _data plus volume.json, leaving no temporary directory', async () => {
      const provider = await started();
      const volume = await create(provider, 'v1');
      expect(volume).toMatchObject({ name: 'v1', path: join(root, 'v1', '_data'), options: { mode: '0755' } });
      expect((await readdir(join(root, 'v1'))).sort()).toEqual(['_data', 'volume.json']);
      expect(await entriesOf(root)).toEqual(['v1']);
      expect((await stat(join(root, 'v1', '_data'))).isDirectory()).toBe(true);
      expect((await stat(join(root, 'v1', 'volume.json'))).mode & 0o777).toBe(0o600);
    });

    it('applies mode with chmod, not through the umask', async () => {
      const provider = await started();
      // 0777 survives only if chmod runs after mkdir: any umask would take bits away.
      await create(provider, 'open', { mode: '0777' });
      await create(provider, 'closed', { mode: '750' });
      await create(provider, 'sticky', { mode: '1777' });
      expect(await permissions(join(root, 'open', '_data'))).toBe(0o777);
      expect(await permissions(join(root, 'closed', '_data'))).toBe(0o750);
      expect(await permissions(join(root, 'sticky', '_data'))).toBe(0o1777);
    });

    it.skipIf(!isRoot)('applies uid and gid with chown, each on its own too', async () => {
      const provider = await started();
      await create(provider, 'both', { uid: 1234, gid: 5678, mode: '0750' });
      await create(provider, 'uid-only', { uid: 4321, mode: '0755' });
      await create(provider, 'gid-only', { gid: 8765, mode: '0755' });

      const both = await stat(join(root, 'both', '_data'));
      expect([both.uid, both.gid, both.mode & 0o7777]).toEqual([1234, 5678, 0o750]);
      const uidOnly = await stat(join(root, 'uid-only', '_data'));
      expect([uidOnly.uid, uidOnly.gid]).toEqual([4321, process.getgid?.()]);
      const gidOnly = await stat(join(root, 'gid-only', '_data'));
      expect([gidOnly.uid, gidOnly.gid]).toEqual([process.getuid?.(), 8765]);
    });

    it('records name, creation time and options in volume.json, and reads them back after a restart', async () => {
      const before = Date.now();
      const provider = await started();
      // The caller's own uid: chown to it needs no root.
      const uid = process.getuid?.() ?? 0;
      const created = await create(provider, 'meta', { uid, mode: '0700' });

      const file = join(root, 'meta', 'volume.json');
      const raw = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
      expect(raw).toEqual({
        name: 'meta',
        createdAt: created.createdAt?.toISOString(),
        options: { uid: String(uid), mode: '0700' },
      });
      expect(new Date(raw.createdAt as string).getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect(await permissions(file)).toBe(0o600);

      const restarted = await started();
      expect(await restarted.inspect('meta')).toEqual(created);
    });

    it('keeps the volume another creator published first, and drops its own attempt', async () => {
      const winner = await started();
      const original = await create(winner, 'raced', { mode: '0700' });
      await writeFile(join(root, 'raced', '_data', 'theirs'), 'data');

      // A second provider on the same root that did not see the volume when it was asked (the race window).
      const loser = provided();
      const result = await create(loser, 'raced', { mode: '0777' });

      expect(result).toEqual(original);
      expect(await readFile(join(root, 'raced', '_data', 'theirs'), 'utf8')).toBe('data');
      expect(await permissions(join(root, 'raced', '_data'))).toBe(0o700);
      expect(await entriesOf(root)).toEqual(['raced']);
      expect(logger.at('warn')).toHaveLength(1);
    });

    it('refuses names that would leave the root, whatever the engine let through', async () => {
      const provider = await started();
      for (const name of ['../evil', '..', '.', 'a/b', '.hidden', '']) {
        await expectStowageError(create(provider, name), ErrorKind.InvalidArgument);
        await expectStowageError(provider.inspect(name), ErrorKind.InvalidArgument);
        await expectStowageError(provider.remove({ name }), ErrorKind.InvalidArgument);
        await expectStowageError(provider.mount({ name }), ErrorKind.InvalidArgument);
      }
      expect(await entriesOf(root)).toEqual([]);
      expect(await readdir(base)).toEqual(['volumes']);
    });
  });

  describe('inspect', () => {
    it('answers undefined only for a name that does not exist', async () => {
      const provider = await started();
      expect(await provider.inspect('nothing')).toBeUndefined();
    });

    it('reports a missing name as a backend failure when the root itself is gone, so Docker keeps its volumes', async () => {
      const provider = await started();
      await create(provider, 'v');
      // The blanks it makes meanwhile would race the removal.
      await provider.settle();
      await rm(root, { recursive: true });
      const error = await expectStowageError(provider.inspect('v'), ErrorKind.BackendFailure);
      expect(error.message).toContain(join(root, 'v'));
    });

    it('reports a name taken by something unusable as a backend failure naming the path, never as missing', async () => {
      const provider = await started();
      await writeFile(join(root, 'a-file'), 'not a volume');
      await mkdir(join(root, 'no-meta'));
      await mkdir(join(root, 'bad-json'));
      await writeFile(join(root, 'bad-json', 'volume.json'), '{ nope');

      for (const name of ['a-file', 'no-meta', 'bad-json']) {
        const error = await expectStowageError(provider.inspect(name), ErrorKind.BackendFailure);
        expect(error.message).toContain(join(root, name));
      }
    });
  });

  describe('list', () => {
    it('lists valid volumes and skips junk with a warning, never failing', async () => {
      const provider = await started();
      await create(provider, 'good1');
      await create(provider, 'good2');
      await writeFile(join(root, 'a-file'), 'x');
      await mkdir(join(root, 'no-meta'));
      await mkdir(join(root, 'bad-json'));
      await writeFile(join(root, 'bad-json', 'volume.json'), '[]');
      await mkdir(join(root, 'renamed'));
      await writeFile(
        join(root, 'renamed', 'volume.json'),
        JSON.stringify({ name: 'other', createdAt: new Date().toISOString(), options: {} }),
      );
      await mkdir(join(root, 'bad name'));
      await writeFile(
        join(root, 'bad name', 'volume.json'),
        JSON.stringify({ name: 'bad name', createdAt: new Date().toISOString(), options: {} }),
      );
      await mkdir(join(root, '.creating-good3-xyz'));

      const names = (await provider.list()).map((v) => v.name).sort();
      expect(names).toEqual(['good1', 'good2']);
      const warned = logger
        .at('warn')
        .map((e) => (e.fields as { path: string }).path)
        .sort();
      expect(warned).toEqual(['a-file', 'bad name', 'bad-json', 'no-meta', 'renamed'].map((n) => join(root, n)).sort());
    });

    it('lists the volumes created before a restart', async () => {
      const first = await started();
      await create(first, 'old1', { mode: '0700' });
      await create(first, 'old2');

      const second = await started();
      const listed = await second.list();
      expect(listed.map((v) => v.name).sort()).toEqual(['old1', 'old2']);
      expect(listed.find((v) => v.name === 'old1')?.options).toEqual({ mode: '0700' });
      expect((await second.mount({ name: 'old1' })).path).toBe(join(root, 'old1', '_data'));
    });

    it('follows the directory: volumes deleted or added behind its back leave and join the list', async () => {
      const provider = await started();
      await create(provider, 'kept');
      await create(provider, 'gone');
      expect((await provider.list()).map((v) => v.name).sort()).toEqual(['gone', 'kept']);

      await rm(join(root, 'gone'), { recursive: true });
      const other = await started(); // another provider on the same root, e.g. a second plugin process
      await create(other, 'added');
      expect((await provider.list()).map((v) => v.name).sort()).toEqual(['added', 'kept']);
      expect(await provider.inspect('gone')).toBeUndefined();
    });

    it('reads each volume.json once, not on every list', async () => {
      const writer = await started();
      for (const name of ['a1', 'a2', 'a3']) await create(writer, name);
      const provider = await started();
      expect((await provider.list()).length).toBe(3);
      // Unreadable from now on: a list that went back to disk would skip the volumes with a warning.
      for (const name of ['a1', 'a2', 'a3']) await writeFile(join(root, name, 'volume.json'), 'not json');
      expect((await provider.list()).map((v) => v.name).sort()).toEqual(['a1', 'a2', 'a3']);
      expect(logger.at('warn')).toEqual([]);
    });
  });

  describe('remove', () => {
    /** The entries of the root that are volumes (dot entries are work in progress). */
    const volumesIn = async (dir: string) => (await readdir(dir)).filter((entry) => !entry.startsWith('.')).sort();

    it('deletes the volume and its data, leaving nothing behind', async () => {
      const provider = await started();
      await create(provider, 'doomed');
      await mkdir(join(root, 'doomed', '_data', 'deep', 'tree'), { recursive: true });
      await writeFile(join(root, 'doomed', '_data', 'deep', 'tree', 'f'), 'x');

      await provider.remove({ name: 'doomed' });
      expect(await volumesIn(root)).toEqual([]);
      expect(await provider.inspect('doomed')).toBeUndefined();
      await provider.settle();
      expect(await entriesOf(root)).toEqual([]);
    });

    it('deletes an empty volume, and one holding files the layout does not know, leaving nothing behind', async () => {
      const provider = await started();
      await create(provider, 'empty');
      await create(provider, 'cluttered');
      await writeFile(join(root, 'cluttered', 'notes.txt'), 'x');

      await provider.remove({ name: 'empty' });
      await provider.remove({ name: 'cluttered' });
      await provider.settle();
      expect(await entriesOf(root)).toEqual([]);
      expect(logger.at('warn')).toEqual([]);
    });

    it('frees the name when it answers, before the data is deleted: a create of the name gets a new, empty volume', async () => {
      const provider = await started();
      await create(provider, 'reused', { mode: '0700' });
      await writeFile(join(root, 'reused', '_data', 'old'), 'old data');

      await provider.remove({ name: 'reused' });
      const again = await create(provider, 'reused', { mode: '0750' });
      expect(again.options).toEqual({ mode: '0750' });
      expect(await readdir(join(root, 'reused', '_data'))).toEqual([]);
      expect(await permissions(join(root, 'reused', '_data'))).toBe(0o750);
      await provider.settle();
      expect(await entriesOf(root)).toEqual(['reused']);
    });

    it('leaves the deletions a stop cut short to the next start, which finishes them', async () => {
      const provider = await started();
      for (const name of ['a', 'b', 'c']) {
        await create(provider, name);
        await writeFile(join(root, name, '_data', 'f'), name);
      }
      for (const name of ['a', 'b', 'c']) await provider.remove({ name });
      await provider.close();
      expect(await volumesIn(root)).toEqual([]);

      await started();
      expect(await entriesOf(root)).toEqual([]);
    });

    it('answers NotFound for a missing volume', async () => {
      const provider = await started();
      await expectStowageError(provider.remove({ name: 'ghost' }), ErrorKind.NotFound);
    });
  });

  describe('blanks', () => {
    /** The blanks on disk, by name, with the inode each would bring to a volume. */
    const blanksOn = async (): Promise<Map<string, number>> => {
      const blanks = (await readdir(root)).filter((entry) => entry.startsWith(BLANK_PREFIX));
      return new Map(await Promise.all(blanks.map(async (b) => [b, (await stat(join(root, b))).ino] as const)));
    };

    it('keeps blanks ready: an empty _data and an empty record, each in a private directory', async () => {
      const provider = await started();
      await provider.settle();
      const blanks = await blanksOn();
      expect(blanks.size).toBe(BLANKS_KEPT);
      for (const blank of blanks.keys()) {
        expect((await readdir(join(root, blank))).sort()).toEqual(['_data', 'volume.json']);
        expect(await readdir(join(root, blank, '_data'))).toEqual([]);
        expect(await readFile(join(root, blank, 'volume.json'), 'utf8')).toBe('');
        expect(await permissions(join(root, blank))).toBe(0o700);
      }
      // Not volumes: nothing lists or finds them.
      expect(await provider.list()).toEqual([]);
    });

    it('builds a create in a blank, and makes another once the calls pause', async () => {
      const provider = await started();
      await provider.settle();
      const before = await blanksOn();
      const volume = await create(provider, 'quick', { mode: '0750' });

      const after = await blanksOn();
      expect(after.size).toBe(BLANKS_KEPT - 1);
      const taken = [...before.keys()].filter((blank) => !after.has(blank));
      expect(taken).toHaveLength(1);
      // The very directory the blank was, under the volume's name.
      expect((await stat(join(root, 'quick'))).ino).toBe(before.get(taken[0] as string));
      expect(await permissions(join(root, 'quick', '_data'))).toBe(0o750);
      expect(JSON.parse(await readFile(join(root, 'quick', 'volume.json'), 'utf8'))).toEqual({
        name: 'quick',
        createdAt: volume.createdAt?.toISOString(),
        options: { mode: '0750' },
      });
      expect(await provider.inspect('quick')).toEqual(volume);

      await provider.settle();
      expect((await blanksOn()).size).toBe(BLANKS_KEPT);
    });

    it('never hands a blank out twice: more creates at once than blanks, each its own volume', async () => {
      const provider = await started();
      await provider.settle();
      const names = Array.from({ length: BLANKS_KEPT * 2 + 3 }, (_, i) => `burst-${i}`);
      const created = await Promise.all(
        names.map((name, i) => create(provider, name, { mode: i % 2 ? '0700' : '0755' })),
      );
      expect(created.map((v) => v.name)).toEqual(names);
      const inodes = await Promise.all(names.map(async (name) => (await stat(join(root, name))).ino));
      expect(new Set(inodes).size).toBe(names.length);
      for (const [i, name] of names.entries()) {
        expect(await permissions(join(root, name, '_data'))).toBe(i % 2 ? 0o700 : 0o755);
        expect(JSON.parse(await readFile(join(root, name, 'volume.json'), 'utf8')).name).toBe(name);
      }
      expect((await provider.list()).map((v) => v.name).sort()).toEqual([...names].sort());
    });

    it('builds from scratch when its blanks were deleted behind its back, and says so', async () => {
      const provider = await started();
      await provider.settle();
      // Another process's start on the same root deletes what it takes for leftovers.
      for (const blank of (await blanksOn()).keys()) await rm(join(root, blank), { recursive: true });
      const volume = await create(provider, 'anyway', { mode: '0701' });
      expect(await provider.inspect('anyway')).toEqual(volume);
      expect(await permissions(join(root, 'anyway', '_data'))).toBe(0o701);
      expect(logger.at('warn').map((e) => e.message)).toEqual([
        'a blank volume vanished; building the volume from scratch',
      ]);
      expect(await entriesOf(root)).toEqual(['anyway']);
    });

    it('makes every create from scratch when told to keep none', async () => {
      const provider = await started({ blanks: 0 });
      await create(provider, 'plain');
      await provider.settle();
      expect(await blanksOn()).toEqual(new Map());
      expect((await readdir(join(root, 'plain'))).sort()).toEqual(['_data', 'volume.json']);
    });

    it('leaves its blanks at a stop; the next start deletes them, a half-built one too, and makes new ones', async () => {
      const first = await started();
      await first.settle();
      await first.close();
      const left = await blanksOn();
      expect(left.size).toBe(BLANKS_KEPT);
      // What a crash while a create filled a blank leaves: a record written, never published.
      const [halfBuilt] = left.keys();
      await writeFile(join(root, halfBuilt as string, 'volume.json'), '{"name":"never"}');

      const second = await started();
      await second.settle();
      const made = await blanksOn();
      expect(made.size).toBe(BLANKS_KEPT);
      expect([...made.keys()].filter((blank) => left.has(blank))).toEqual([]);
      expect(await second.list()).toEqual([]);
    });
  });

  describe('mount and unmount', () => {
    it('hands out the _data directory, again and again', async () => {
      const provider = await started();
      await create(provider, 'm');
      const first = await provider.mount({ name: 'm' });
      expect(first).toEqual({ path: join(root, 'm', '_data') });
      expect(await provider.mount({ name: 'm' })).toEqual(first);
      await provider.unmount({ name: 'm' });
      await provider.unmount({ name: 'm' });
      expect((await stat(first.path)).isDirectory()).toBe(true);
    });

    it('answers NotFound for a missing volume', async () => {
      const provider = await started();
      await expectStowageError(provider.mount({ name: 'ghost' }), ErrorKind.NotFound);
    });

    it('reports a volume whose data directory is gone as a backend failure', async () => {
      const provider = await started();
      await create(provider, 'broken');
      await rm(join(root, 'broken', '_data'), { recursive: true });
      const error = await expectStowageError(provider.mount({ name: 'broken' }), ErrorKind.BackendFailure);
      expect(error.message).toContain('broken');
    });
  });
});
