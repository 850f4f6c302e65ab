import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MotoCloud, startEfsStandIn, type EfsStandIn } from '@stowage/testkit/moto';
import { inspectVolume, listVolumes } from './docker-volumes.js';
import { DRIVER, startE2eEnvironment, type E2eEnvironment } from './e2e-environment.js';
import { waitUntil } from '@stowage/testkit/docker';
import { serviceTaskContainers, waitForServiceTasks } from './swarm-service.js';

const ZONE = 'us-east-1a';
const SERVICE = 'ping1';

/**
 * The shared backing through the docker CLI: EFS is a moto server, and the file system's NFS export is a local
 * directory the plugin bind-mounts (`STOWAGE_EFS_NFS_STAND_IN_DIR`), because this kernel has no NFS client.
 */
describe('shared (EFS) volumes through the docker CLI and a swarm service', () => {
  let env: E2eEnvironment;
  let cloud: MotoCloud;
  let efs: EfsStandIn;
  let exportsDir: string;
  let fileSystemId: string;

  beforeAll(async () => {
    cloud = await MotoCloud.start({ zones: [ZONE] });
    efs = await startEfsStandIn(cloud, { token: 'stowage-e2e', findByTag: 'stowage-e2e', prefix: 'stowage-e2e-efs' });
    ({ exportsDir, fileSystemId } = efs);
    env = await startE2eEnvironment('shared-volumes', { env: { ...efs.env, STOWAGE_DRIVERS: 'local,efs' } });
  });

  afterAll(async () => {
    // Clean up whatever a stop did, and report every failure and the leftovers together.
    const failures: unknown[] = [];
    await Promise.resolve(env?.stop()).catch((error: unknown) => failures.push(error));
    await Promise.resolve(cloud?.stop()).catch((error: unknown) => failures.push(error));
    await Promise.resolve(efs?.dispose()).catch((error: unknown) => failures.push(error));
    if (failures.length > 0) throw new AggregateError(failures, 'the shared-volume environment did not stop cleanly');
  });

  /** How many mounts this node has of the file system: one, shared by every volume, while the driver is enabled. */
  const fileSystemMounts = async (): Promise<number> =>
    (await readFile('/proc/self/mountinfo', 'utf8'))
      .split('\n')
      .filter(
        (line) => line.split(' ')[4] === join(env.plugin.stateDir, 'drivers', 'efs', 'mounts', 'fs', fileSystemId),
      ).length;
  const lines = (text: string): string[] =>
    text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
  const taskContainers = () => serviceTaskContainers(env, SERVICE);

  it("creates a volume with the seed's `docker volume create -d stowage --opt backing=shared mysharedvol1`", async () => {
    const create = await env.docker(['volume', 'create', '-d', DRIVER, '--opt', 'backing=shared', 'mysharedvol1']);
    expect(create.code, create.stderr).toBe(0);
    expect(await listVolumes(env)).toContain(`${DRIVER} mysharedvol1`);
    const volume = await inspectVolume(env, 'mysharedvol1');
    expect(volume.Status).toMatchObject({ backing: 'efs', fileSystemId, mounts: 0 });
    // A directory of the file system, with its record beside it, and the file system unmounted again.
    expect(existsSync(join(exportsDir, fileSystemId, 'mysharedvol1'))).toBe(true);
    expect(existsSync(join(exportsDir, fileSystemId, '.stowage', 'mysharedvol1.json'))).toBe(true);
    // Mounted once when the driver started (so lookups and creates cost no NFS mount), never stacked.
    expect(await fileSystemMounts()).toBe(1);
  });

  it("gives every task of a --replicas 3 service one sharedvol1, each seeing the others' files", async () => {
    // Activated before the node joins, the plugin is in the node's first description (see the templated test).
    await env.dockerOk(['swarm', 'init', '--advertise-addr', '127.0.0.1']);
    const create = await env.docker([
      'service',
      'create',
      '--detach',
      '--replicas',
      '3',
      '--name',
      SERVICE,
      '--stop-grace-period',
      '1s',
      '--mount',
      `type=volume,volume-driver=${DRIVER},source=sharedvol1,destination=/shareddata`,
      env.image,
      'sh',
      '-c',
      'hostname > /shareddata/$(hostname); sleep 3600',
    ]);
    expect(create.code, create.stderr).toBe(0);

    const containers = await waitForServiceTasks(env, SERVICE, 3);
    // With efs enabled, a volume created with no backing is shared (the engine's default order).
    expect((await inspectVolume(env, 'sharedvol1')).Status).toMatchObject({ backing: 'efs', fileSystemId, mounts: 3 });

    // A task's hostname is its container's short id: every task lists the files of all three.
    for (const container of containers) {
      const seen = await waitUntil(
        `task ${container} to see all three files`,
        async () => {
          const ls = await env.docker(['exec', container, 'ls', '/shareddata']);
          const files = lines(ls.stdout).sort();
          return ls.code === 0 && files.length === 3 ? files : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 500 },
      );
      expect(seen).toEqual([...containers].sort());
    }
    expect(await fileSystemMounts()).toBe(1);
  });

  it('removes both volumes with docker volume rm once the service is gone, and a stopped plugin leaves the file system unmounted', async () => {
    await env.dockerOk(['service', 'rm', SERVICE]);
    await waitUntil('the tasks to stop', async () => ((await taskContainers()).length === 0 ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    for (const volume of ['sharedvol1', 'mysharedvol1']) {
      await waitUntil(
        `docker volume rm ${volume} to succeed`,
        async () => ((await env.docker(['volume', 'rm', volume])).code === 0 ? true : undefined),
        {
          timeoutMs: 30_000,
          intervalMs: 500,
          describe: async () => (await env.docker(['volume', 'rm', volume])).stderr,
        },
      );
      expect(existsSync(join(exportsDir, fileSystemId, volume))).toBe(false);
    }
    expect(lines(await env.dockerOk(['volume', 'ls', '-q']))).toEqual([]);
    expect(await fileSystemMounts()).toBe(1);
    // No volume holds it: the plugin's stop lets go of the standing mount.
    expect((await env.plugin.stop()).code).toBe(0);
    expect(await fileSystemMounts()).toBe(0);
  });
});
