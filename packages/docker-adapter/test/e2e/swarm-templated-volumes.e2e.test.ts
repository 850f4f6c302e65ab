import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectVolume, listVolumes } from './docker-volumes.js';
import { DRIVER, startE2eEnvironment, type E2eEnvironment } from './e2e-environment.js';
import { mountsUnder, waitUntil } from '@stowage/testkit/docker';
import { serviceTaskContainers, waitForServiceTasks } from './swarm-service.js';

const SERVICE = 'web';
const VOLUMES = [1, 2, 3].map((slot) => `${SERVICE}-${slot}-vol`);

describe('a swarm service with a templated stowage volume per task', () => {
  let env: E2eEnvironment;
  beforeAll(async () => {
    env = await startE2eEnvironment('swarm-templated-volumes');
    // A swarm node advertises a legacy plugin to the scheduler only once the engine has activated it; until then
    // tasks stay pending with "no suitable node (missing plugin)". One create activates it, as on a real node.
    // Activated before the node joins, the plugin is in the node's first description: no wait for an update.
    await env.dockerOk(['volume', 'create', '-d', DRIVER, 'activate']);
    await env.dockerOk(['volume', 'rm', 'activate']);
    await env.dockerOk(['swarm', 'init', '--advertise-addr', '127.0.0.1']);
  });
  afterAll(async () => {
    await env?.stop();
  });

  const taskContainers = () => serviceTaskContainers(env, SERVICE);

  it('creates three distinct volumes from {{.Service.Name}}-{{.Task.Slot}}-vol, each task writing its own file', async () => {
    const create = await env.docker([
      // `sh` as PID 1 ignores SIGTERM: a short grace period keeps `service rm` from waiting the default 10 s.
      'service',
      'create',
      '--detach',
      '--name',
      SERVICE,
      '--replicas',
      '3',
      '--stop-grace-period',
      '1s',
      '--mount',
      `type=volume,volume-driver=${DRIVER},source={{.Service.Name}}-{{.Task.Slot}}-vol,destination=/mydata`,
      env.image,
      'sh',
      '-c',
      'hostname > /mydata/who; sleep 3600',
    ]);
    expect(create.code, create.stderr).toBe(0);

    const containers = await waitForServiceTasks(env, SERVICE, 3);

    const listed = await listVolumes(env);
    for (const volume of VOLUMES) expect(listed).toContain(`${DRIVER} ${volume}`);
    const mountpoints = await Promise.all(VOLUMES.map(async (v) => (await inspectVolume(env, v)).Mountpoint));
    expect(new Set(mountpoints).size).toBe(3);

    // A task container's hostname is its short id: each volume holds the name of the one task that mounts it.
    const writers: string[] = [];
    for (const volume of VOLUMES) {
      const who = await waitUntil(
        `${volume} to hold /mydata/who`,
        async () => {
          const read = await env.docker(['run', '--rm', '-v', `${volume}:/mydata`, env.image, 'cat', '/mydata/who']);
          return read.code === 0 && read.stdout.trim() !== '' ? read.stdout.trim() : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 500 },
      );
      writers.push(who);
    }
    expect(new Set(writers).size).toBe(3);
    expect([...writers].sort()).toEqual([...containers].sort());
  });

  it('leaves the volumes in place when the service goes, for docker volume rm to remove', async () => {
    await env.dockerOk(['service', 'rm', SERVICE]);
    await waitUntil('the tasks to stop', async () => ((await taskContainers()).length === 0 ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 500,
    });

    const listed = await listVolumes(env);
    for (const volume of VOLUMES) expect(listed).toContain(`${DRIVER} ${volume}`);
    for (const volume of VOLUMES) {
      // Swarm stops a task before its container's volumes are released: give the Unmount a moment.
      const removed = await waitUntil(
        `docker volume rm ${volume} to succeed`,
        async () => {
          const rm = await env.docker(['volume', 'rm', volume]);
          return rm.code === 0 ? rm : undefined;
        },
        {
          timeoutMs: 30_000,
          intervalMs: 500,
          describe: async () => (await env.docker(['volume', 'rm', volume])).stderr,
        },
      );
      expect(removed.code).toBe(0);
    }
    expect(await mountsUnder(env.plugin.localRoot)).toEqual([]);
  });
});
