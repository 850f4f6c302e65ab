import { mkdtemp, open, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorKind } from '../src/errors/error-kind.js';
import { SystemHostOperations } from '../src/host/system-host-operations.js';
import { expectStowageError as rejection } from '../src/testing/expect-stowage-error.js';
import type { Logger } from '../src/logging/logger.js';
import { makeSparseFile } from './support/sparse-file.js';

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
