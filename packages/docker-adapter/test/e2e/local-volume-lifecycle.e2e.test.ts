import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectVolume, listVolumes } from './docker-volumes.js';
import { DRIVER, startE2eEnvironment, type E2eEnvironment } from './e2e-environment.js';
import { mountsUnder, waitUntil } from '@stowage/testkit/docker';

describe('a local volume, as a user drives it with the docker CLI', () => {
  let env: E2eEnvironment;
  beforeAll(async () => {
    env = await startE2eEnvironment('local-volume-lifecycle');
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('is created, listed with driver stowage, and inspected with its mountpoint and status', async () => {
    const create = await env.docker(['volume', 'create', '-d', DRIVER, '--opt', 'backing=local', 'v1']);
    expect(create.code, create.stderr).toBe(0);
    expect(create.stdout.trim()).toBe('v1');

    expect(await listVolumes(env)).toContain(`${DRIVER} v1`);

    const volume = await inspectVolume(env, 'v1');
    expect(volume.Name).toBe('v1');
    expect(volume.Driver).toBe(DRIVER);
    expect(volume.Mountpoint.startsWith(`${env.plugin.localRoot}/`), volume.Mountpoint).toBe(true);
    expect(statSync(volume.Mountpoint).isDirectory()).toBe(true);
    expect(volume.Status).toMatchObject({ mounts: 0 });
    if (volume.CreatedAt !== undefined) expect(Number.isNaN(Date.parse(volume.CreatedAt))).toBe(false);
  });

  it('keeps what one container wrote for the next one', async () => {
    const write = await env.docker(['run', '--rm', '-v', 'v1:/data', env.image, 'sh', '-c', 'echo hello > /data/f']);
    expect(write.code, write.stderr).toBe(0);

    const read = await env.docker(['run', '--rm', '-v', 'v1:/data', env.image, 'cat', '/data/f']);
    expect(read.code, read.stderr).toBe(0);
    expect(read.stdout).toBe('hello\n');
  });

  it('is shared by two containers running at once, and nothing stays mounted once both have exited', async () => {
    for (const name of ['one', 'two']) {
      const run = await env.docker([
        'run',
        '-d',
        '--name',
        name,
        '-v',
        'v1:/data',
        env.image,
        'sh',
        '-c',
        `echo from-${name} > /data/${name}; sleep 600`,
      ]);
      expect(run.code, run.stderr).toBe(0);
    }
    // Each container reads what the other wrote while both run.
    for (const [reader, file] of [
      ['one', 'two'],
      ['two', 'one'],
    ] as const) {
      const seen = await waitUntil(
        `container ${reader} to see /data/${file}`,
        async () => {
          const cat = await env.docker(['exec', reader, 'cat', `/data/${file}`]);
          return cat.code === 0 ? cat.stdout : undefined;
        },
        { timeoutMs: 30_000 },
      );
      expect(seen).toBe(`from-${file}\n`);
    }
    expect((await inspectVolume(env, 'v1')).Status).toMatchObject({ mounts: 2 });

    const stop = await env.docker(['stop', '-t', '1', 'one', 'two']);
    expect(stop.code, stop.stderr).toBe(0);
    const rm = await env.docker(['rm', 'one', 'two']);
    expect(rm.code, rm.stderr).toBe(0);

    expect(await mountsUnder(env.plugin.localRoot)).toEqual([]);
    expect((await inspectVolume(env, 'v1')).Status).toMatchObject({ mounts: 0 });
  });

  it('refuses docker volume rm while a container uses it, then removes the volume and its directory', async () => {
    const { Mountpoint: mountpoint } = await inspectVolume(env, 'v1');
    const holder = await env.docker(['run', '-d', '--name', 'holder', '-v', 'v1:/data', env.image, 'sleep', '600']);
    expect(holder.code, holder.stderr).toBe(0);

    const refused = await env.docker(['volume', 'rm', 'v1']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/in use/i);
    expect(existsSync(join(mountpoint, 'f'))).toBe(true);
    expect(await listVolumes(env)).toContain(`${DRIVER} v1`);

    await env.dockerOk(['stop', '-t', '1', 'holder']);
    await env.dockerOk(['rm', 'holder']);

    const removed = await env.docker(['volume', 'rm', 'v1']);
    expect(removed.code, removed.stderr).toBe(0);
    expect(existsSync(mountpoint)).toBe(false);
    expect(existsSync(join(env.plugin.localRoot, 'v1'))).toBe(false);
    expect(await listVolumes(env)).not.toContain(`${DRIVER} v1`);
    expect(await mountsUnder(env.plugin.localRoot)).toEqual([]);
  });
});
