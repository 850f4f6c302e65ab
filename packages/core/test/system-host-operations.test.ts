import { execFile as execFileCallback } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorKind } from '../src/errors/error-kind.js';
import { SystemHostOperations } from '../src/host/system-host-operations.js';
import { expectStowageError as rejection } from '../src/testing/expect-stowage-error.js';
import type { Logger } from '../src/logging/logger.js';

const execFile = promisify(execFileCallback);

/** A logger that keeps every debug line, to see which commands ran. */
function recordingLogger(): Logger & { readonly commands: string[][] } {
  const commands: string[][] = [];
  const logger: Logger & { commands: string[][] } = {
    commands,
    debug(fields) {
      const command = (fields as { command?: string[] }).command;
      if (command) commands.push(command);
    },
    info() {},
    warn() {},
    error() {},
    child: () => logger,
  };
  return logger;
}


async function makeSparseFile(file: string, bytes: number): Promise<void> {
  const handle = await open(file, 'w');
  try {
    await handle.truncate(bytes);
  } finally {
    await handle.close();
  }
}

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

describe('SystemHostOperations', () => {
  let tmp: string;
  const logger = recordingLogger();
  const host = new SystemHostOperations({ logger });

  beforeAll(async () => {
    tmp = await realpath(await mkdtemp(path.join(tmpdir(), 'stowage-host-')));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('sees the kernel mount table: / and /proc are mount points, a plain directory is not', async () => {
    expect(await host.isMountpoint('/proc')).toBe(true);
    expect(await host.isMountpoint('/proc/')).toBe(true);
    expect(await host.isMountpoint(tmp)).toBe(false);
    expect(await host.isMountpoint(path.join(tmp, 'missing'))).toBe(false);
    const all = await host.listMounts();
    expect(all.some((m) => m.target === '/')).toBe(true);
  });

  it('lists mounts at or below a path by whole path components', async () => {
    const proc = await host.listMounts('/proc');
    expect(proc.some((m) => m.target === '/proc' && m.fstype === 'proc')).toBe(true);
    expect(proc.every((m) => m.target === '/proc' || m.target.startsWith('/proc/'))).toBe(true);
    expect(await host.listMounts('/pro')).toEqual([]);
  });

  it('treats unmounting a missing path or a plain directory as done, without running umount', async () => {
    logger.commands.length = 0;
    await host.unmount(path.join(tmp, 'never-created'));
    await host.unmount(tmp);
    expect(logger.commands).toEqual([]);
  });

  it('refuses file system types it cannot make, before running anything', async () => {
    logger.commands.length = 0;
    const error = await rejection(host.mkfs('/dev/loop0', 'btrfs'));
    expect(error.kind).toBe(ErrorKind.InvalidArgument);
    expect(error.message).toContain('"btrfs"');
    expect(error.message).toContain('ext4, xfs');
    const label = await rejection(host.mkfs('/dev/loop0', 'ext4', { label: 'a-label-much-too-long' }));
    expect(label.kind).toBe(ErrorKind.InvalidArgument);
    expect(logger.commands).toEqual([]);
  });

  it('refuses operands a tool would read as options, and relative mount targets', async () => {
    expect((await rejection(host.mount('--bind', path.join(tmp, 'x')))).kind).toBe(ErrorKind.InvalidArgument);
    expect((await rejection(host.mount('/dev/loop0', 'relative/dir'))).kind).toBe(ErrorKind.InvalidArgument);
    expect((await rejection(host.probeFilesystem('-h'))).kind).toBe(ErrorKind.InvalidArgument);
    expect((await rejection(host.mkfs('-V', 'ext4'))).kind).toBe(ErrorKind.InvalidArgument);
  });

  it('probes a blank image as having no file system, logging the argument array', async () => {
    const image = path.join(tmp, 'blank.img');
    await makeSparseFile(image, 4 * 1024 * 1024);
    logger.commands.length = 0;
    expect(await host.probeFilesystem(image)).toBeUndefined();
    expect(logger.commands).toEqual([['blkid', '-p', '-o', 'export', image]]);
  });

  it('does not take a missing device for a blank one', async () => {
    const error = await rejection(host.probeFilesystem(path.join(tmp, 'no-such-device')));
    expect(error.kind).toBe(ErrorKind.BackendFailure);
    expect(error.message).toContain('no-such-device');
  });

  it('does not take a partitioned disk without a file system for a blank one', async () => {
    const image = path.join(tmp, 'partitioned.img');
    await makeSparseFile(image, 16 * 1024 * 1024);
    // A DOS partition table: one Linux partition (type 0x83) from sector 2048, and the boot signature.
    const mbr = Buffer.alloc(512);
    mbr[446 + 4] = 0x83;
    mbr.writeUInt32LE(2048, 446 + 8);
    mbr.writeUInt32LE(20_000, 446 + 12);
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    const handle = await open(image, 'r+');
    await handle.write(mbr, 0, 512, 0).finally(() => handle.close());
    const error = await rejection(host.probeFilesystem(image));
    expect(error.kind).toBe(ErrorKind.BackendFailure);
    expect(error.message).toContain('dos partition table');
  });
});

describe.skipIf(process.getuid?.() !== 0)('SystemHostOperations as root, on a loop device', () => {
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
    expect(error.message).toMatch(/^mkfs\.ext4 -F -q \/dev\/stowage-missing-device failed \(exit \d+\): .*does not exist/);
  });

  it('quotes arguments with blanks in the command line it reports', async () => {
    const source = path.join(tmp, 'no such dir');
    const error = await rejection(host.bindMount(source, path.join(tmp, 'bind target')));
    expect(error.kind).toBe(ErrorKind.BackendFailure);
    expect(error.message).toContain(`mount --bind '${source}' '${path.join(tmp, 'bind target')}' failed (exit 32)`);
  });
});
