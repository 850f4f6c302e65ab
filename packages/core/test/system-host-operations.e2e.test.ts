import { execFile as execFileCallback } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorKind } from '../src/errors/error-kind.js';
import { SystemHostOperations } from '../src/host/system-host-operations.js';
import { expectStowageError as rejection } from '../src/testing/expect-stowage-error.js';
import { makeSparseFile } from './support/sparse-file.js';

const execFile = promisify(execFileCallback);

/** Unmounts whatever is left below `dir`, deepest first, so that removing `dir` never reaches into a mount. */
async function unmountAllUnder(dir: string): Promise<void> {
  const table = await readFile('/proc/self/mountinfo', 'utf8');
  const targets = table
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((target): target is string => target !== undefined)
    .map((target) => target.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))))
    .filter((target) => target === dir || target.startsWith(`${dir}/`))
    .reverse();
  for (const target of targets) {
    await execFile('umount', [target]).catch(() => execFile('umount', ['-l', target]));
  }
}

// Needs root: a loop device, mkfs and mounts.
describe('SystemHostOperations as root, on a loop device', () => {
  const host = new SystemHostOperations();
  let tmp: string;
  let loop: string | undefined;

  beforeAll(async () => {
    tmp = await realpath(await mkdtemp(path.join(tmpdir(), 'stowage-loop-')));
    const image = path.join(tmp, 'disk.img');
    await makeSparseFile(image, 64 * 1024 * 1024);
    const { stdout } = await execFile('losetup', ['--find', '--show', image]);
    loop = stdout.trim();
  });

  afterEach(async () => {
    await unmountAllUnder(tmp);
  });

  afterAll(async () => {
    if (tmp === undefined) return;
    try {
      await unmountAllUnder(tmp);
    } finally {
      if (loop !== undefined) await execFile('losetup', ['-d', loop]);
      const leftovers = (await readFile('/proc/self/mountinfo', 'utf8')).includes(tmp);
      // Never recurse into something still mounted: rm would delete the mounted files too.
      if (!leftovers) await rm(tmp, { recursive: true, force: true });
    }
  });

  function device(): string {
    if (loop === undefined) throw new Error('no loop device was set up');
    return loop;
  }

  it('formats a blank loop device with ext4 and then finds ext4 on it', async () => {
    expect(await host.probeFilesystem(device())).toBeUndefined();
    await host.mkfs(device(), 'ext4', { label: 'stowage-test' });
    expect(await host.probeFilesystem(device())).toBe('ext4');
    const { stdout } = await execFile('blkid', ['-p', '-o', 'value', '-s', 'LABEL', device()]);
    expect(stdout.trim()).toBe('stowage-test');
  });

  it('mounts the device on a new directory, shows it in the mount table, and unmounts idempotently', async () => {
    const target = path.join(tmp, 'mnt', 'vol 1');
    await host.mount(device(), target, { fstype: 'ext4', options: ['noatime', 'nodev'] });
    await writeFile(path.join(target, 'hello.txt'), 'hello');

    expect(await host.isMountpoint(target)).toBe(true);
    expect(await host.isMountpoint(path.join(tmp, 'mnt'))).toBe(false);
    const mounts = await host.listMounts(tmp);
    expect(mounts).toHaveLength(1);
    expect(mounts[0]).toMatchObject({ source: device(), target, fstype: 'ext4', root: '/' });
    expect(mounts[0]?.options).toEqual(expect.arrayContaining(['noatime', 'nodev']));
    // A sibling whose name merely starts with the same characters holds nothing.
    expect(await host.listMounts(path.join(tmp, 'mn'))).toEqual([]);
    expect(await host.listMounts(path.join(tmp, 'mnt/'))).toHaveLength(1);

    await host.unmount(target);
    expect(await host.isMountpoint(target)).toBe(false);
    expect(existsSync(path.join(target, 'hello.txt'))).toBe(false);
    await host.unmount(target);

    // The file went to the device, not to the directory underneath.
    await host.mount(device(), target);
    expect(await readFile(path.join(target, 'hello.txt'), 'utf8')).toBe('hello');
    await host.unmount(target);
  });

  it('bind mounts a directory, showing its files and its root in the mount table', async () => {
    const source = path.join(tmp, 'source');
    await mkdir(source);
    await writeFile(path.join(source, 'data.txt'), 'through the bind');
    const target = path.join(tmp, 'bound');

    await host.bindMount(source, target);
    expect(await readFile(path.join(target, 'data.txt'), 'utf8')).toBe('through the bind');
    const [entry] = await host.listMounts(target);
    expect(entry?.root.endsWith('/source')).toBe(true);

    await host.unmount(target);
    expect(existsSync(path.join(target, 'data.txt'))).toBe(false);
  });

  it('bind mounts a file onto a file it creates', async () => {
    const source = path.join(tmp, 'config.json');
    await writeFile(source, '{"a":1}');
    const target = path.join(tmp, 'files', 'config.json');

    await host.bindMount(source, target);
    expect(await readFile(target, 'utf8')).toBe('{"a":1}');
    expect(await host.isMountpoint(target)).toBe(true);
    await host.unmount(target);
  });

  it('reports a failed mount with the command line, exit status and stderr', async () => {
    const target = path.join(tmp, 'missing-device');
    const error = await rejection(host.mount('/dev/stowage-missing-device', target, { fstype: 'ext4' }));
    expect(error.kind).toBe(ErrorKind.BackendFailure);
    expect(error.message).toContain(`mount -t ext4 /dev/stowage-missing-device ${target} failed (exit 32): mount: `);
    expect(error.message).toContain('/dev/stowage-missing-device does not exist');
    expect(error.message).not.toContain('\n');
  });

  it('reports a failed mkfs with the command line and the tool’s message', async () => {
    const error = await rejection(host.mkfs('/dev/stowage-missing-device', 'ext4'));
    expect(error.kind).toBe(ErrorKind.BackendFailure);
    expect(error.message).toMatch(
      /^mkfs\.ext4 -F -q \/dev\/stowage-missing-device failed \(exit \d+\): .*does not exist/,
    );
  });

  it('quotes arguments with blanks in the command line it reports', async () => {
    const source = path.join(tmp, 'no such dir');
    const error = await rejection(host.bindMount(source, path.join(tmp, 'bind target')));
    expect(error.kind).toBe(ErrorKind.BackendFailure);
    expect(error.message).toContain(`mount --bind '${source}' '${path.join(tmp, 'bind target')}' failed (exit 32)`);
  });
});
