import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectVolume, listVolumes } from './docker-volumes.js';
import { DRIVER, startE2eEnvironment, type E2eEnvironment } from './e2e-environment.js';
import { mountsUnder } from '@stowage/testkit/docker';

describe('restarting the plugin under a running Docker engine', () => {
  let env: E2eEnvironment;
  beforeAll(async () => {
    env = await startE2eEnvironment('plugin-restart');
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('keeps the volume listed and its data between two containers', async () => {
    await env.dockerOk(['volume', 'create', '-d', DRIVER, '--opt', 'backing=local', 'kept']);
    const write = await env.docker(['run', '--rm', '-v', 'kept:/data', env.image, 'sh', '-c', 'echo hello > /data/f']);
    expect(write.code, write.stderr).toBe(0);

    const exit = await env.plugin.restart();
    // `stowage serve` shuts down cleanly on SIGTERM.
    expect(exit).toEqual({ code: 0, signal: null });

    expect(await listVolumes(env)).toContain(`${DRIVER} kept`);
    const read = await env.docker(['run', '--rm', '-v', 'kept:/data', env.image, 'cat', '/data/f']);
    expect(read.code, read.stderr).toBe(0);
    expect(read.stdout).toBe('hello\n');
  });

  it('still knows what a running container holds after a restart, and releases it when the container stops', async () => {
    const holder = await env.docker(['run', '-d', '--name', 'holder', '-v', 'kept:/data', env.image, 'sleep', '600']);
    expect(holder.code, holder.stderr).toBe(0);
    expect((await inspectVolume(env, 'kept')).Status).toMatchObject({ mounts: 1 });

    await env.plugin.restart();

    expect((await inspectVolume(env, 'kept')).Status).toMatchObject({ mounts: 1 });
    const append = await env.docker(['exec', 'holder', 'sh', '-c', 'echo again >> /data/f && cat /data/f']);
    expect(append.stdout).toBe('hello\nagain\n');

    await env.dockerOk(['stop', '-t', '1', 'holder']);
    await env.dockerOk(['rm', 'holder']);
    expect((await inspectVolume(env, 'kept')).Status).toMatchObject({ mounts: 0 });
    expect(await mountsUnder(env.plugin.localRoot)).toEqual([]);
  });

  it('recovers what a running container holds after the plugin is killed (SIGKILL) and started again', async () => {
    const holder = await env.docker(['run', '-d', '--name', 'holder', '-v', 'kept:/data', env.image, 'sleep', '600']);
    expect(holder.code, holder.stderr).toBe(0);

    await env.plugin.kill();
    await env.plugin.restart();

    expect(await listVolumes(env)).toContain(`${DRIVER} kept`);
    expect((await inspectVolume(env, 'kept')).Status).toMatchObject({ mounts: 1 });
    const refused = await env.docker(['volume', 'rm', 'kept']);
    expect(refused.code).not.toBe(0);

    await env.dockerOk(['stop', '-t', '1', 'holder']);
    await env.dockerOk(['rm', 'holder']);
    expect((await inspectVolume(env, 'kept')).Status).toMatchObject({ mounts: 0 });
    const read = await env.docker(['run', '--rm', '-v', 'kept:/data', env.image, 'cat', '/data/f']);
    expect(read.stdout).toBe('hello\nagain\n');

    const removed = await env.docker(['volume', 'rm', 'kept']);
    expect(removed.code, removed.stderr).toBe(0);
    expect(await mountsUnder(env.plugin.localRoot)).toEqual([]);
  });
});
