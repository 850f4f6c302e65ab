import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorKind, StowageError, createLogger } from '@stowage/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BlockDeviceFinder, nvmeLinkName } from '../src/block-device-finder.js';
import { capturingLogger } from './support/capturing-logger.js';

let dir: string;
let finder: BlockDeviceFinder;
const VOLUME = 'vol-0123456789abcdef0';

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stowage-finder-'));
  await mkdir(join(dir, 'by-id'));
  await mkdir(join(dir, 'dev'));
  finder = new BlockDeviceFinder(
    { deviceDir: join(dir, 'by-id'), sysfsRoot: join(dir, 'sys'), timeoutMs: 300, pollMs: 20 },
    createLogger({ level: 'silent' }),
  );
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A fake device node `name` with an optional serial, linked as `link` in the device directory. */
async function device(name: string, link: string, serial?: string): Promise<string> {
  const node = join(dir, 'dev', name);
  await writeFile(node, '');
  // As on a real host: the kernel publishes the device (and its serial in sysfs) before udev makes the by-id link.
  if (serial !== undefined) {
    await mkdir(join(dir, 'sys', 'block', name, 'device'), { recursive: true });
    await writeFile(join(dir, 'sys', 'block', name, 'device', 'serial'), serial);
  }
  await symlink(node, join(dir, 'by-id', link));
  return node;
}

async function failure(promise: Promise<unknown>): Promise<string> {
  const error = await promise.catch((e: unknown) => e);
  expect(StowageError.is(error, ErrorKind.BackendFailure), String(error)).toBe(true);
  return (error as Error).message;
}

describe('BlockDeviceFinder', () => {
  it('finds the Nitro by-id link and resolves it to the device when the serial matches', async () => {
    const node = await device('nvme1n1', nvmeLinkName(VOLUME), 'vol0123456789abcdef0   \n');
    expect(nvmeLinkName(VOLUME)).toBe('nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0');
    expect(await finder.find(VOLUME, '/dev/xvdf')).toEqual({
      path: node,
      link: join(dir, 'by-id', nvmeLinkName(VOLUME)),
    });
  });

  it('waits for a device that appears late, logging what it waits for', async () => {
    const { logger, next } = capturingLogger();
    // A wait bound far beyond the test's pace: the device's arrival, not a timer, ends it.
    const patient = new BlockDeviceFinder(
      { deviceDir: join(dir, 'by-id'), sysfsRoot: join(dir, 'sys'), timeoutMs: 600_000, pollMs: 20, progressLogMs: 10 },
      logger,
    );
    const found = patient.find(VOLUME, '/dev/xvdf');
    const line = await next(
      (l) => l.msg === `still waiting for the block device of EBS volume ${VOLUME} to appear in ${join(dir, 'by-id')}`,
    );
    expect(line).toMatchObject({ volumeId: VOLUME, looksFor: [nvmeLinkName(VOLUME), 'xvdf', 'sdf'] });
    await device('nvme2n1', nvmeLinkName(VOLUME), 'vol0123456789abcdef0');
    expect((await found).path).toBe(join(dir, 'dev', 'nvme2n1'));
  });

  it("waits no longer than what is left of the caller's budget, and says to retry", async () => {
    const patient = new BlockDeviceFinder(
      { deviceDir: join(dir, 'by-id'), sysfsRoot: join(dir, 'sys'), timeoutMs: 600_000, pollMs: 20 },
      createLogger({ level: 'silent' }),
    );
    expect(await failure(patient.find(VOLUME, '/dev/xvdf', 50))).toMatch(
      /no block device for it appeared .* within 0 s \(looked for .*\); retry the mount$/,
    );
  });

  it('refuses a stale link to another volume', async () => {
    await device('nvme1n1', nvmeLinkName(VOLUME), 'vol0fffffffffffffff0');
    expect(await failure(finder.find(VOLUME, '/dev/xvdf'))).toMatch(
      /serial number is "vol0fffffffffffffff0", not vol0123456789abcdef0/,
    );
  });

  it('refuses an NVMe link whose serial cannot be read', async () => {
    await device('nvme1n1', nvmeLinkName(VOLUME));
    expect(await failure(finder.find(VOLUME, '/dev/xvdf'))).toMatch(/cannot be proved to be this volume/);
  });

  it('accepts the requested Xen name (or its sd alias), which carries no serial', async () => {
    const node = await device('xvdg', 'sdg');
    expect((await finder.find(VOLUME, '/dev/xvdg')).path).toBe(node);
  });

  it('gives up after the timeout naming what it looked for', async () => {
    expect(await failure(finder.find(VOLUME, '/dev/xvdf'))).toMatch(
      /no block device for it appeared .* \(looked for nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0, xvdf, sdf\)/,
    );
  });
});
