import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectVolume } from './docker-volumes.js';
import { DRIVER, startE2eEnvironment, type E2eEnvironment } from './e2e-environment.js';
import { runCommand, waitUntil } from '@stowage/testkit/docker';
import { CLI } from '../support/stowage-cli.js';

/**
 * Issue 10, items 3 and 4, on a real engine: holds the plugin protocol alone cannot settle, settled by asking the
 * Docker engine which containers exist. The engine runs with live-restore, so running containers outlive its
 * restarts, as on production hosts that set it.
 */
describe('holds and the Docker engine', () => {
  let env: E2eEnvironment;
  // Long enough for any container start on a loaded machine; the tests wait for it where they need a release.
  const pacing = { STOWAGE_HOLD_GRACE_SECONDS: '30', STOWAGE_HOLD_INTERVAL_SECONDS: '2' };

  beforeAll(async () => {
    env = await startE2eEnvironment('holds', { liveRestore: true, env: pacing });
  });
  afterAll(async () => {
    await env?.stop();
  });

  const mounts = async (volume: string): Promise<unknown> => (await inspectVolume(env, volume)).Status?.mounts;
  const stowage = (args: string[]) =>
    runCommand(process.execPath, [CLI, ...args], { env: { ...process.env, STOWAGE_SOCKET: env.plugin.socket } });

  it('keeps a live-restored container its volume through a docker cp, and releases it once the container is gone', async () => {
    await env.dockerOk(['volume', 'create', '-d', DRIVER, '--opt', 'backing=local', 'live']);
    await env.dockerOk(['run', '-d', '--name', 'holder', '-v', 'live:/data', env.image, 'sleep', '3600']);
    await env.dockerOk(['exec', 'holder', 'sh', '-c', 'echo rows > /data/table']);
    const startedAt = (await env.dockerOk(['inspect', '-f', '{{.State.StartedAt}}', 'holder'])).trim();
    expect(await mounts('live')).toBe(1);

    // The engine restarts; with live-restore the container keeps running, never unmounted, never mounted again.
    await env.engine.restart({ signal: 'SIGTERM' });
    expect((await env.dockerOk(['inspect', '-f', '{{.State.Running}} {{.State.StartedAt}}', 'holder'])).trim()).toBe(
      `true ${startedAt}`,
    );

    // docker cp into the running container: a Mount and an Unmount with the container's own mount ID.
    const file = join(env.plugin.baseDir, 'copied.txt');
    await writeFile(file, 'copied in\n');
    await env.dockerOk(['cp', file, 'holder:/data/copied.txt']);
    expect(await mounts('live')).toBe(1);
    const removal = await stowage(['volume', 'rm', 'live']);
    expect(removal.code).not.toBe(0);
    expect(removal.stderr).toContain('is in use on this node (1 mount)');
    expect(await env.dockerOk(['exec', 'holder', 'cat', '/data/table', '/data/copied.txt'])).toBe('rows\ncopied in\n');

    // A pass of the reconciler in between (every 2 s) sees the running container and keeps the hold.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    expect(await mounts('live')).toBe(1);

    // Once the container is gone, the hold goes: by its Unmount, or (an engine that lost count across the restart
    // sends none) by the reconciler, once the hold is older than the grace period.
    await env.dockerOk(['rm', '-f', 'holder']);
    await waitUntil(
      'the volume of a removed container to be released',
      async () => ((await mounts('live')) === 0 ? true : undefined),
      {
        timeoutMs: 120_000,
        intervalMs: 1_000,
        describe: async () => `mounts: ${String(await mounts('live'))}`,
      },
    );
    await env.dockerOk(['volume', 'rm', 'live']);
  });

  it('releases the hold of a container removed while the plugin was down (no Unmount ever came)', async () => {
    await env.dockerOk(['volume', 'create', '-d', DRIVER, '--opt', 'backing=local', 'orphaned']);
    await env.dockerOk(['run', '-d', '--name', 'leaker', '-v', 'orphaned:/data', env.image, 'sleep', '3600']);
    await env.dockerOk(['exec', 'leaker', 'sh', '-c', 'echo kept > /data/f']);
    expect(await mounts('orphaned')).toBe(1);

    await env.plugin.kill();
    // The engine tries to unmount for about 30 s, then removes the container anyway.
    const removed = await env.docker(['rm', '-f', 'leaker']);
    expect(removed.code, removed.stderr).toBe(0);

    // The plugin comes back: its table still holds the Mount, but the engine has no container left that could.
    await env.plugin.relaunch({ STOWAGE_DOCKER_API: env.engine.socket, ...pacing });
    await waitUntil(
      'the hold of the removed container to be released',
      async () => ((await mounts('orphaned')) === 0 ? true : undefined),
      {
        timeoutMs: 120_000,
        intervalMs: 1_000,
        describe: async () => `mounts: ${String(await mounts('orphaned'))}`,
      },
    );
    const read = await env.docker(['run', '--rm', '-v', 'orphaned:/data', env.image, 'cat', '/data/f']);
    expect(read.stdout).toBe('kept\n');
    await env.dockerOk(['volume', 'rm', 'orphaned']);
  });
});
