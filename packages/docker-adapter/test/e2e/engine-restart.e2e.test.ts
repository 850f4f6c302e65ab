import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectVolume } from './docker-volumes.js';
import { DRIVER, startE2eEnvironment, type E2eEnvironment } from './e2e-environment.js';
import { mountsUnder, waitUntil } from '@stowage/testkit/docker';

/** Volume `a` is held by two containers, `b` by one: counts of one and of several must both come out right. */
const HOLDERS = { a: ['a1', 'a2'], b: ['b1'] } as const;

/**
 * Issue 5: the Docker engine restarted while containers hold Stowage volumes, as a service restart (SIGTERM: the
 * engine stops its containers and starts them again by their restart policy) and as a crash (SIGKILL: the engine
 * finds its containers again when it comes back). The plugin keeps running throughout, as it does on a host.
 */
describe('restarting the Docker engine while containers hold Stowage volumes', () => {
  let env: E2eEnvironment;
  beforeAll(async () => {
    // Holds of containers the engine lost are released by asking it which containers exist, once they are older
    // than the grace period: short here, so the test sees it happen (a container start takes well under 20 s).
    env = await startE2eEnvironment('engine-restart', {
      env: { STOWAGE_HOLD_GRACE_SECONDS: '20', STOWAGE_HOLD_INTERVAL_SECONDS: '2' },
    });
  });
  afterAll(async () => {
    await env?.stop();
  });

  const mounts = async (volume: string): Promise<unknown> => (await inspectVolume(env, volume)).Status?.mounts;
  const startedAt = async (container: string): Promise<string> =>
    (await env.dockerOk(['inspect', '-f', '{{.State.StartedAt}}', container])).trim();
  // The test image links only a few applets; the rest are run through busybox itself.
  const sha256 = async (container: string, file: string): Promise<string> =>
    (await env.dockerOk(['exec', container, 'busybox', 'sha256sum', file])).split(' ')[0] ?? '';

  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    const how = signal === 'SIGTERM' ? 'a restart' : 'a crash (SIGKILL)';
    const name = (suffix: string): string => `${signal.toLowerCase()}-${suffix}`;

    it(`keeps what containers wrote, and their mounts, across ${how} of the engine`, async () => {
      const written = new Map<string, string>();
      const started = new Map<string, string>();
      for (const [volume, containers] of Object.entries(HOLDERS)) {
        await env.dockerOk(['volume', 'create', '-d', DRIVER, '--opt', 'backing=local', name(volume)]);
        for (const container of containers) {
          await env.dockerOk([
            'run',
            '-d',
            '--name',
            name(container),
            '--restart',
            'always',
            '--stop-timeout',
            '1',
            '-v',
            `${name(volume)}:/data`,
            env.image,
            'sleep',
            '3600',
          ]);
          started.set(container, await startedAt(name(container)));
        }
        const writer = name(containers[0]);
        await env.dockerOk([
          'exec',
          writer,
          'sh',
          '-c',
          'busybox dd if=/dev/urandom of=/data/blob bs=1024 count=512 2>/dev/null',
        ]);
        written.set(volume, await sha256(writer, '/data/blob'));
        expect(await mounts(name(volume))).toBe(containers.length);
      }

      await env.engine.restart({ signal });

      // Every container comes back by its restart policy, on a fresh Mount of its volume.
      for (const container of [...HOLDERS.a, ...HOLDERS.b]) {
        await waitUntil(
          `container ${name(container)} to run again after ${how} of the engine`,
          async () => {
            const state = await env.docker([
              'inspect',
              '-f',
              '{{.State.Running}} {{.State.StartedAt}}',
              name(container),
            ]);
            const [running, at] = state.stdout.trim().split(' ');
            return running === 'true' && at !== started.get(container) ? true : undefined;
          },
          { timeoutMs: 120_000, intervalMs: 500, describe: async () => (await env.docker(['ps', '-a'])).stdout },
        );
      }
      const counted: Record<string, unknown> = {};
      for (const [volume, containers] of Object.entries(HOLDERS)) {
        for (const container of containers)
          expect(await sha256(name(container), '/data/blob'), name(container)).toBe(written.get(volume));
        counted[volume] = await mounts(name(volume));
      }
      // One count per running holder after a restart. After a crash the engine sends no Unmount for the mounts it
      // lost and mounts again under each container's old mount ID: nothing tells a lost mount from a live one then,
      // so the plugin keeps both, never fewer than the running holders, until no container runs with the volume.
      for (const [volume, containers] of Object.entries(HOLDERS)) {
        const holds = Number(counted[volume]);
        if (signal === 'SIGTERM') expect(holds, volume).toBe(containers.length);
        else {
          expect(holds, volume).toBeGreaterThanOrEqual(containers.length);
          expect(holds, volume).toBeLessThanOrEqual(2 * containers.length);
        }
      }

      // New mounts work: a new container on a held volume, and a new volume.
      const read = await env.docker([
        'run',
        '--rm',
        '-v',
        `${name('a')}:/data`,
        env.image,
        'busybox',
        'sha256sum',
        '/data/blob',
      ]);
      expect(read.code, read.stderr).toBe(0);
      expect(read.stdout.split(' ')[0]).toBe(written.get('a'));
      const fresh = name('fresh');
      const write = await env.docker([
        'run',
        '--rm',
        '--volume-driver',
        DRIVER,
        '-v',
        `${fresh}:/data`,
        env.image,
        'sh',
        '-c',
        'echo new > /data/f',
      ]);
      expect(write.code, write.stderr).toBe(0);
      const readFresh = await env.docker(['run', '--rm', '-v', `${fresh}:/data`, env.image, 'cat', '/data/f']);
      expect(readFresh.stdout).toBe('new\n');
      expect((await inspectVolume(env, fresh)).Driver).toBe(DRIVER);

      // Once every holder is gone, nothing stays counted or mounted.
      const containers = [...HOLDERS.a, ...HOLDERS.b].map(name);
      await env.dockerOk(['stop', '-t', '1', ...containers]);
      await env.dockerOk(['rm', ...containers]);
      for (const volume of [name('a'), name('b'), fresh]) {
        // The engine unmounts as each container's exit is handled, which may trail `docker stop` a little; what it
        // lost in a crash goes once the plugin has checked with the engine that no container runs with the volume.
        const left = await waitUntil(
          `${volume} to be released`,
          async () => ((await mounts(volume)) === 0 ? 0 : undefined),
          {
            timeoutMs: 120_000,
            describe: async () => `mounts: ${String(await mounts(volume))}`,
          },
        );
        expect(left, volume).toBe(0);
      }
      expect(await mountsUnder(env.plugin.baseDir)).toEqual([]);
      for (const volume of [name('a'), name('b'), fresh]) await env.dockerOk(['volume', 'rm', volume]);
    });
  }
});
