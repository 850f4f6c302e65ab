import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectVolume, listVolumes } from './docker-volumes.js';
import { DRIVER, startE2eEnvironment, type E2eEnvironment } from './e2e-environment.js';
import { mountsUnder, runCommand, unmountAllUnder } from '@stowage/testkit/docker';

/** The example third-party driver, built (turbo builds it first: it is a devDependency of this package). */
const LOOPFS_MODULE = createRequire(import.meta.url).resolve('@stowage-examples/driver-loopfs');
const MIB = 1024 * 1024;

describe('a third-party driver loaded by path: loopfs volumes through the docker CLI', () => {
  let env: E2eEnvironment;
  let loopfsRoot: string;

  beforeAll(async () => {
    if (!existsSync(LOOPFS_MODULE))
      throw new Error(`${LOOPFS_MODULE} does not exist: run pnpm build at the repository root`);
    loopfsRoot = await mkdtemp('/tmp/stowage-e2e-loopfs-');
    env = await startE2eEnvironment('third-party-driver', {
      env: { STOWAGE_DRIVERS: 'local,loopfs', STOWAGE_LOOPFS_MODULE: LOOPFS_MODULE, STOWAGE_LOOPFS_ROOT: loopfsRoot },
    });
  });

  afterAll(async () => {
    // Clean up whatever the stop did, and report its failure and the leftovers together.
    const failures: unknown[] = [];
    await Promise.resolve(env?.stop()).catch((error: unknown) => failures.push(error));
    if (loopfsRoot) {
      const left = await unmountAllUnder(loopfsRoot);
      await rm(loopfsRoot, { recursive: true, force: true });
      if (left.length > 0) failures.push(new Error(`mounts left under ${loopfsRoot}: ${left.join('; ')}`));
    }
    if (failures.length > 0)
      throw new AggregateError(failures, 'the third-party driver environment did not stop cleanly');
  });

  it('creates a 32 MiB volume with --opt backing=loopfs --opt size=32, next to the local backing', async () => {
    const create = await env.docker([
      'volume',
      'create',
      '-d',
      DRIVER,
      '--opt',
      'backing=loopfs',
      '--opt',
      'size=32',
      'lv1',
    ]);
    expect(create.code, create.stderr).toBe(0);
    await env.dockerOk(['volume', 'create', '-d', DRIVER, '--opt', 'backing=local', 'plain']);

    const listed = await listVolumes(env);
    expect(listed).toContain(`${DRIVER} lv1`);
    expect(listed).toContain(`${DRIVER} plain`);
    const volume = await inspectVolume(env, 'lv1');
    expect(volume.Status).toMatchObject({ backing: 'loopfs', sizeMiB: 32, mounts: 0 });
    expect(statSync(join(loopfsRoot, 'lv1.img')).size).toBe(32 * MIB);
  });

  it("refuses a size below the minimum with the driver's own message", async () => {
    const create = await env.docker([
      'volume',
      'create',
      '-d',
      DRIVER,
      '--opt',
      'backing=loopfs',
      '--opt',
      'size=1',
      'tiny',
    ]);
    expect(create.code).not.toBe(0);
    expect(create.stderr).toContain('size: must be between 16 and 16777216, got 1');
    expect(await listVolumes(env)).not.toContain(`${DRIVER} tiny`);
  });

  it('keeps what one container wrote for the next one, with nothing left mounted between them', async () => {
    const write = await env.docker(['run', '--rm', '-v', 'lv1:/data', env.image, 'sh', '-c', 'echo hello > /data/f']);
    expect(write.code, write.stderr).toBe(0);
    expect(await mountsUnder(join(loopfsRoot, 'mounts'))).toEqual([]);

    const read = await env.docker(['run', '--rm', '-v', 'lv1:/data', env.image, 'cat', '/data/f']);
    expect(read.code, read.stderr).toBe(0);
    expect(read.stdout).toBe('hello\n');
    expect(await mountsUnder(join(loopfsRoot, 'mounts'))).toEqual([]);
  });

  it('fails a write past the size inside the container with "No space left on device", keeping the data', async () => {
    const dd = await env.docker([
      'run',
      '--rm',
      '-v',
      'lv1:/data',
      env.image,
      '/bin/busybox',
      'dd',
      'if=/dev/zero',
      'of=/data/big',
      'bs=1048576',
      'count=48',
    ]);
    expect(dd.code).not.toBe(0);
    expect(dd.stderr).toMatch(/No space left on device/);

    const read = await env.docker([
      'run',
      '--rm',
      '-v',
      'lv1:/data',
      env.image,
      'sh',
      '-c',
      'cat /data/f; rm /data/big',
    ]);
    expect(read.code, read.stderr).toBe(0);
    expect(read.stdout).toBe('hello\n');
  });

  it('is removed by docker volume rm, image and all, with no mount or loop device left', async () => {
    const removed = await env.docker(['volume', 'rm', 'lv1', 'plain']);
    expect(removed.code, removed.stderr).toBe(0);
    expect(await listVolumes(env)).not.toContain(`${DRIVER} lv1`);
    expect((await readdir(loopfsRoot)).sort()).toEqual(['mounts']);
    expect(await mountsUnder(loopfsRoot)).toEqual([]);
    const loops = await runCommand('losetup', ['-j', join(loopfsRoot, 'lv1.img')]);
    expect(loops.stdout.trim()).toBe('');
  });
});
