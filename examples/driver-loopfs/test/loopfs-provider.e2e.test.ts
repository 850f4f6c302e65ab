import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorKind, SystemHostOperations, createLogger } from '@stowage/core';
import { expectStowageError } from '@stowage/core/testing';
import { LoopfsProvider } from '../src/index.js';

const run = promisify(execFile);
const MIB = 1024 * 1024;
const logger = createLogger({ level: 'silent' });
const host = new SystemHostOperations({ logger });

let base: string;
let root: string;
let provider: LoopfsProvider;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'stowage-loopfs-'));
  root = join(base, 'loopfs');
  provider = await started();
});

afterEach(async () => {
  for (const target of (await host.listMounts(base)).map((m) => m.target).reverse()) await host.unmount(target);
  await rm(base, { recursive: true, force: true });
});

async function started(): Promise<LoopfsProvider> {
  const p = new LoopfsProvider({ root }, host, logger);
  await p.init();
  return p;
}

/** The loop devices backed by `file` (`losetup -j`), empty once autoclear has freed them. */
async function loopDevicesOf(file: string): Promise<string> {
  return (await run('losetup', ['-j', file])).stdout.trim();
}

// Needs root: loop devices and ext4 mounts (the bookkeeping below runs with them, on the same set-up).
describe('loopfs volumes on real loop mounts', () => {
  it('makes a sparse ext4 image of the requested size and metadata beside it', async () => {
    const created = await provider.create({ name: 'v1', options: { size: 64 } });
    expect(created).toMatchObject({
      name: 'v1',
      options: { size: '64' },
      status: { image: join(root, 'v1.img'), sizeMiB: 64 },
    });
    expect(created.path).toBeUndefined();

    const image = await stat(join(root, 'v1.img'));
    expect(image.size).toBe(64 * MIB);
    // Sparse: mkfs wrote its metadata, not 64 MiB.
    expect(image.blocks * 512).toBeLessThan(64 * MIB);
    expect(await host.probeFilesystem(join(root, 'v1.img'))).toBe('ext4');

    const metadata = JSON.parse(await readFile(join(root, 'v1.json'), 'utf8')) as Record<string, unknown>;
    expect(metadata).toEqual({ name: 'v1', createdAt: created.createdAt?.toISOString(), options: { size: '64' } });
    expect((await readdir(root)).sort()).toEqual(['mounts', 'v1.img', 'v1.json']);
    expect(await (await started()).inspect('v1')).toEqual(created);
  });

  it('mounts the image on <root>/mounts/<name> through a loop device, idempotently, and frees the device on unmount', async () => {
    await provider.create({ name: 'm', options: { size: 16 } });
    const { path } = await provider.mount({ name: 'm' });
    expect(path).toBe(join(root, 'mounts', 'm'));
    const [mount] = await host.listMounts(path);
    expect(mount).toMatchObject({ target: path, fstype: 'ext4' });
    expect(mount?.source).toMatch(/^\/dev\/loop\d+$/);
    expect(await loopDevicesOf(join(root, 'm.img'))).not.toBe('');

    expect(await provider.mount({ name: 'm' })).toEqual({ path });
    expect(await host.listMounts(path)).toHaveLength(1);

    await provider.unmount({ name: 'm' });
    await provider.unmount({ name: 'm' });
    expect(await host.isMountpoint(path)).toBe(false);
    expect(await loopDevicesOf(join(root, 'm.img'))).toBe('');
  });

  it('keeps the data in the image across an unmount and a new mount', async () => {
    await provider.create({ name: 'keep', options: { size: 16 } });
    await writeFile(join((await provider.mount({ name: 'keep' })).path, 'f'), 'kept');
    await provider.unmount({ name: 'keep' });
    expect(await readFile(join((await provider.mount({ name: 'keep' })).path, 'f'), 'utf8')).toBe('kept');
  });

  it('fails a write past the size with ENOSPC, and the volume stays usable', async () => {
    await provider.create({ name: 'small', options: { size: 16 } });
    const { path } = await provider.mount({ name: 'small' });
    await expect(writeFile(join(path, 'big'), Buffer.alloc(24 * MIB, 1))).rejects.toMatchObject({ code: 'ENOSPC' });
    await rm(join(path, 'big'));
    await writeFile(join(path, 'fits'), Buffer.alloc(8 * MIB, 1));
    expect((await stat(join(path, 'fits'))).size).toBe(8 * MIB);
  });

  it('reconciles by unmounting its mounts that no caller holds, keeping the held ones', async () => {
    for (const name of ['held', 'stray']) {
      await provider.create({ name, options: { size: 16 } });
      await provider.mount({ name });
    }
    await started().then((restarted) => restarted.reconcile(new Set(['held'])));
    expect(await host.isMountpoint(join(root, 'mounts', 'held'))).toBe(true);
    expect(await host.isMountpoint(join(root, 'mounts', 'stray'))).toBe(false);
    expect(await loopDevicesOf(join(root, 'stray.img'))).toBe('');
  });

  it('removes the image, the metadata and the mount point, and answers NotFound after', async () => {
    await provider.create({ name: 'gone', options: { size: 16 } });
    await provider.mount({ name: 'gone' });
    await provider.unmount({ name: 'gone' });
    await provider.remove({ name: 'gone' });
    expect(await readdir(root)).toEqual(['mounts']);
    expect(await readdir(join(root, 'mounts'))).toEqual([]);
    expect(await provider.inspect('gone')).toBeUndefined();
    await expectStowageError(provider.remove({ name: 'gone' }), ErrorKind.NotFound);
    await expectStowageError(provider.mount({ name: 'gone' }), ErrorKind.NotFound);
  });

  it("refuses to remove a volume mounted behind the engine's back", async () => {
    await provider.create({ name: 'busy', options: { size: 16 } });
    await host.mount(join(root, 'busy.img'), join(root, 'mounts', 'busy'), { fstype: 'ext4', options: ['loop'] });
    const error = await expectStowageError(provider.remove({ name: 'busy' }), ErrorKind.InUse);
    expect(error.message).toContain(join(root, 'mounts', 'busy'));
    expect(await provider.inspect('busy')).toBeDefined();
  });
});

describe('loopfs bookkeeping', () => {
  it('deletes half-made images and images whose metadata is gone at start, and nothing else', async () => {
    await writeFile(join(root, '.creating-half-0badc0de.img'), 'x');
    await writeFile(join(root, '.meta-0badc0de.tmp'), '{');
    await writeFile(join(root, 'orphan.img'), 'x');
    await writeFile(join(root, 'kept.img'), 'x');
    await writeFile(
      join(root, 'kept.json'),
      JSON.stringify({ name: 'kept', createdAt: new Date().toISOString(), options: { size: '16' } }),
    );
    await writeFile(join(root, 'notes.txt'), 'operator notes');
    await started();
    expect((await readdir(root)).sort()).toEqual(['kept.img', 'kept.json', 'mounts', 'notes.txt']);
  });

  it('answers undefined only for a missing name, and a backend failure when the root is gone or the metadata is bad', async () => {
    expect(await provider.inspect('nothing')).toBeUndefined();
    await writeFile(join(root, 'bad.json'), '{ nope');
    await writeFile(
      join(root, 'renamed.json'),
      JSON.stringify({ name: 'other', createdAt: new Date().toISOString(), options: {} }),
    );
    for (const name of ['bad', 'renamed']) {
      expect((await expectStowageError(provider.inspect(name), ErrorKind.BackendFailure)).message).toContain(
        join(root, `${name}.json`),
      );
    }
    expect((await provider.list()).map((v) => v.name)).toEqual([]);

    await rm(root, { recursive: true });
    await expectStowageError(provider.inspect('nothing'), ErrorKind.BackendFailure);
    await expectStowageError(provider.remove({ name: 'nothing' }), ErrorKind.BackendFailure);
  });

  it('refuses names that would leave the root, whatever the engine let through', async () => {
    await mkdir(join(base, 'outside'));
    for (const name of ['../outside', '..', '.hidden', 'a/b', '']) {
      await expectStowageError(provider.inspect(name), ErrorKind.InvalidArgument);
      await expectStowageError(provider.create({ name, options: { size: 16 } }), ErrorKind.InvalidArgument);
      await expectStowageError(provider.mount({ name }), ErrorKind.InvalidArgument);
    }
    expect(await readdir(root)).toEqual(['mounts']);
  });
});
