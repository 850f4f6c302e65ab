import { join } from 'node:path';
import { ErrorKind, StowageError, SystemHostOperations } from '@stowage/core';
import type { MotoCloud } from '@stowage/testkit/moto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { provider, scratch, startMotoEfs } from './support/moto-efs.js';

let world: MotoCloud;
let dir: Awaited<ReturnType<typeof scratch>>;
const host = new SystemHostOperations();

beforeAll(async () => {
  world = await startMotoEfs();
});
afterAll(async () => {
  await world?.stop();
});
beforeEach(async () => {
  await world.reset();
  dir = await scratch();
});
afterEach(async () => {
  await dir.cleanup();
});

async function notReady(work: Promise<void>): Promise<string> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(StowageError.is(error, ErrorKind.BackendFailure), String(error)).toBe(true);
  return (error as Error).message;
}

describe('EFS readiness (moto, file systems on the NFS stand-in)', () => {
  it('is ready while every file system is mounted and answers, and names the one that is not mounted', async () => {
    const gp = await world.fileSystem({ name: 'gp' });
    const maxIo = await world.fileSystem({ name: 'fast', performanceMode: 'maxIO' });
    const mountRoot = join(dir.dir, 'mounts');
    const efs = provider({ nfsStandInDir: dir.exports, fileSystemId: gp, maxIoFileSystemId: maxIo, mountRoot }, host);
    await efs.init();
    try {
      await expect(efs.checkReady()).resolves.toBeUndefined();
      // Gone behind the driver's back (an operator's umount, a lost lazy unmount): not ready until its next use.
      const maxIoMount = join(mountRoot, 'fs', maxIo);
      await host.unmount(maxIoMount);
      const problem = await notReady(efs.checkReady());
      expect(problem).toBe(`file system ${maxIo} is not mounted at ${maxIoMount}`);
      expect(problem).not.toContain(gp);
      // The check mounted nothing.
      expect(await host.isMountpoint(maxIoMount)).toBe(false);
    } finally {
      await efs.close();
    }
  });

  it('is not ready before init or after close', async () => {
    const efs = provider(
      { nfsStandInDir: dir.exports, fileSystemId: await world.fileSystem(), mountRoot: join(dir.dir, 'mounts') },
      host,
    );
    expect(await notReady(efs.checkReady())).toMatch(/not started/);
    await efs.init();
    await expect(efs.checkReady()).resolves.toBeUndefined();
    await efs.close();
    expect(await notReady(efs.checkReady())).toMatch(/not started/);
  });
});
