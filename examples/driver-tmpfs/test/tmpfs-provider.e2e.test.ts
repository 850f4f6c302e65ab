import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorKind, SystemHostOperations, createLogger, parseOptions } from '@stowage/core';
import { expectStowageError } from '@stowage/core/testing';
import { TMPFS_OPTIONS, TmpfsProvider } from '../src/index.js';

const logger = createLogger({ level: 'silent' });
const host = new SystemHostOperations({ logger });
const options = (raw: Record<string, string>) => parseOptions(TMPFS_OPTIONS, raw, 'backing=tmpfs');

let base: string;
let root: string;
let provider: TmpfsProvider;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'stowage-tmpfs-'));
  root = join(base, 'tmpfs');
  provider = new TmpfsProvider({ root }, host, logger);
  await provider.init();
});

afterEach(async () => {
  for (const { target } of (await host.listMounts(base)).reverse()) await host.unmount(target);
  await rm(base, { recursive: true, force: true });
});

// Needs root: real tmpfs mounts.
describe.runIf(process.getuid?.() === 0)('tmpfs volumes on real tmpfs mounts', () => {
  it('mounts a tmpfs of the recorded size and mode, and a write past the size fails with ENOSPC', async () => {
    await provider.create({ name: 'v1', options: options({ size: '1m', mode: '0750', uid: '1234' }) });
    const { path } = await provider.mount({ name: 'v1' });
    const [mounted] = await host.listMounts(path);
    expect(mounted).toMatchObject({ fstype: 'tmpfs', target: path });
    expect(mounted?.options).toContain('size=1024k');
    const dir = await stat(path);
    expect([dir.mode & 0o7777, dir.uid]).toEqual([0o750, 1234]);
    await expect(writeFile(join(path, 'big'), Buffer.alloc(2 * 1024 ** 2))).rejects.toMatchObject({ code: 'ENOSPC' });
  });

  it('frees the data on unmount and keeps the volume, and unmount is idempotent', async () => {
    await provider.create({ name: 'v1', options: options({ size: '4m' }) });
    const { path } = await provider.mount({ name: 'v1' });
    await writeFile(join(path, 'f'), 'data');
    expect(await provider.mount({ name: 'v1' })).toEqual({ path }); // a remount after a restart finds it mounted
    expect(await readFile(join(path, 'f'), 'utf8')).toBe('data');
    await provider.unmount({ name: 'v1' });
    await provider.unmount({ name: 'v1' });
    expect(await host.isMountpoint(path)).toBe(false);
    expect(await provider.inspect('v1')).toMatchObject({ name: 'v1', options: { size: '4m', mode: '1777' } });
    await provider.mount({ name: 'v1' });
    expect(await readdir(path)).toEqual([]);
  });

  it('never replaces a record it did not write, and leaves no temporary file', async () => {
    const first = await provider.create({ name: 'v1', options: options({ size: '4m' }) });
    await expectStowageError(
      provider.create({ name: 'v1', options: options({ size: '8m' }) }),
      ErrorKind.BackendFailure,
    );
    expect(await provider.inspect('v1')).toEqual(first);
    expect(await readdir(root)).toEqual(['mounts', 'v1.json']);
  });

  it('refuses to remove a volume mounted by hand, and says NotFound once it is gone', async () => {
    await provider.create({ name: 'v1', options: options({ size: '4m' }) });
    await provider.mount({ name: 'v1' });
    await expectStowageError(provider.remove({ name: 'v1' }), ErrorKind.InUse);
    await provider.unmount({ name: 'v1' });
    await provider.remove({ name: 'v1' });
    await expectStowageError(provider.remove({ name: 'v1' }), ErrorKind.NotFound);
    expect(await readdir(root)).toEqual(['mounts']);
  });

  it('reconciles: unmounts what nobody holds, keeps what is held', async () => {
    for (const name of ['held', 'orphan']) {
      await provider.create({ name, options: options({ size: '4m' }) });
      await provider.mount({ name });
    }
    await provider.reconcile(new Set(['held']));
    expect(await host.isMountpoint(join(root, 'mounts', 'held'))).toBe(true);
    expect(await host.isMountpoint(join(root, 'mounts', 'orphan'))).toBe(false);
  });

  it('skips a bad record in list and refuses to vouch for absence when the root is gone', async () => {
    await provider.create({ name: 'v1', options: options({ size: '4m' }) });
    await writeFile(join(root, 'v2.json'), '{"name":"other"}');
    await writeFile(join(root, '.creating-v3-0000'), '{}');
    expect((await provider.list()).map((v) => v.name)).toEqual(['v1']);
    await expectStowageError(provider.inspect('v2'), ErrorKind.BackendFailure);
    await provider.init();
    expect(await readdir(root)).toEqual(['mounts', 'v1.json', 'v2.json']);
    await rm(root, { recursive: true });
    await expectStowageError(provider.inspect('v1'), ErrorKind.BackendFailure);
  });
});
