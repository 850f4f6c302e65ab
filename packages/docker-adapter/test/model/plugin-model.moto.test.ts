import { existsSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { STORAGE_PROVIDER, driverSettingEnvName, loadConfig, type StorageProvider } from '@stowage/core';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { composeFromConfig } from '../../src/composition/compose-from-config.js';
import { sharedBacking } from '../crash/crash-backings.js';
import { relocatableBacking } from '../crash/crash-ebs-backing.js';
import { MotoCloud } from '@stowage/testkit/moto';
import { mountsUnder, unmountAllUnder } from '@stowage/testkit/docker';
import { MotoEbsVolumes, tagsOf } from '../e2e/moto-ebs-volumes.js';
import { VOLUME_NAME_TAG, stackIdFor } from '@stowage/driver-ebs';
import { runModel, type Foreign } from './model-runner.js';
import type { ModelBackend } from './plugin-world.js';

/**
 * The model-based test over the cloud backings on moto, for fewer runs than over the fake and local backends:
 * each step goes through the real AWS SDK clients, real mounts (bind mounts standing in for NFS), and each plugin
 * start builds the real providers from configuration, as `stowage serve` does.
 */
describe('the plugin against the model, on the cloud backings', () => {
  let cloud: MotoCloud;
  beforeAll(async () => {
    cloud = await MotoCloud.start();
    // The providers run in this process, and the AWS SDK reads its endpoint, region and credentials from the
    // environment, as the plugin's process would.
    Object.assign(process.env, cloud.env);
  }, 120_000);
  afterAll(async () => {
    await cloud?.stop();
  });

  /** Builds this node's providers from the plugin's environment, as a plugin start would. */
  async function providersFrom(
    env: Readonly<Record<string, string>>,
    dir: string,
    logger: Parameters<ModelBackend['providers']>[0],
  ): Promise<StorageProvider[]> {
    // The drivers' own state (mount points) stays in one place across plugin starts; the mount table is the engine's.
    const config = await loadConfig({
      env: { ...env, STOWAGE_STATE_DIR: join(dir, 'driver-state') },
    });
    const stowage = await composeFromConfig(config, { logger, cwd: dir });
    return stowage.container.getAll(STORAGE_PROVIDER);
  }

  it('holds on shared (EFS) directory volumes', async () => {
    await runModel({
      label: 'shared (EFS directories) on moto',
      runs: Number(process.env.STOWAGE_MODEL_CLOUD_RUNS ?? 20),
      maxCommands: 30,
      backend: async (dir) => {
        const world = await sharedBacking({ accessPoints: false }).prepare(cloud);
        const exportsDir = world.env.STOWAGE_EFS_NFS_STAND_IN_DIR as string;
        const fsRoot = join(exportsDir, world.env.STOWAGE_EFS_FILE_SYSTEM_ID as string);
        const mountRoot = join(dir, 'driver-state', 'drivers', 'efs', 'mounts');
        // Someone else's directory at the file system's root, beside the volumes (a Cloudstor one not adopted).
        await mkdir(join(fsRoot, 'not-a-volume'), { recursive: true });
        await writeFile(join(fsRoot, 'not-a-volume', 'ledger'), "someone else's data");
        const foreign: Foreign = {
          intact: async () =>
            (await readFile(join(fsRoot, 'not-a-volume', 'ledger'), 'utf8').catch(() => '')) === "someone else's data",
        };
        const backend: ModelBackend = {
          label: 'shared (EFS directories)',
          options: [
            { backing: 'shared', mode: '0755' },
            { backing: 'shared', mode: '0700' },
          ],
          providers: (logger) => providersFrom(world.env, dir, logger),
          exists: async (name) => existsSync(join(fsRoot, '.stowage', `${name}.json`)),
          // Mounted: the path handed out is the volume's directory on the export, seen through this node's mount.
          mounted: async (name, mountpoint) => {
            const [through, direct] = await Promise.all([
              stat(mountpoint).catch(() => undefined),
              stat(join(fsRoot, name)).catch(() => undefined),
            ]);
            return (
              through !== undefined &&
              direct !== undefined &&
              through.ino === direct.ino &&
              mountpoint.startsWith(mountRoot)
            );
          },
          write: (_name, mountpoint, file, content) => writeFile(join(mountpoint, file), content),
          read: (name, _mountpoint, file) => readFile(join(fsRoot, name, file), 'utf8').catch(() => undefined),
          readsUnmounted: true,
          reboot: async () => {
            await unmountAllUnder(mountRoot);
          },
          close: async () => {
            await unmountAllUnder(mountRoot);
            await world.dispose();
          },
        };
        return { backend, foreign };
      },
    });
  }, 900_000);

  it('holds on relocatable (EBS) volumes, on loop devices', async () => {
    await runModel({
      label: 'relocatable (EBS) on moto',
      runs: Number(process.env.STOWAGE_MODEL_CLOUD_RUNS ?? 8),
      maxCommands: 20,
      backend: async (dir) => {
        const world = await relocatableBacking().prepare(cloud);
        const env: Record<string, string> = { ...world.env, STOWAGE_DRIVERS: 'ebs' };
        const clusterId = env[driverSettingEnvName('ebs', 'clusterId')] as string;
        const volumes = new MotoEbsVolumes(cloud.ec2, stackIdFor(clusterId));
        const mountRoot = join(dir, 'driver-state', 'drivers', 'ebs', 'mounts');
        const mounted = async (mountpoint: string) =>
          mountpoint.startsWith(mountRoot) && (await mountsUnder(mountRoot)).includes(mountpoint);
        const backend: ModelBackend = {
          label: 'relocatable (EBS)',
          options: [
            { backing: 'relocatable', size: '1' },
            { backing: 'relocatable', size: '2' },
          ],
          providers: (logger) => providersFrom(env, dir, logger),
          exists: async (name) => (await volumes.ofCluster()).some((v) => tagsOf(v)[VOLUME_NAME_TAG] === name),
          // Mounted: the path handed out is a mount of this node (a file system on the volume's loop device).
          mounted: (_name, mountpoint) => mounted(mountpoint),
          write: (_name, mountpoint, file, content) => writeFile(join(mountpoint, file), content),
          read: async (_name, mountpoint, file) =>
            (await mounted(mountpoint)) ? readFile(join(mountpoint, file), 'utf8').catch(() => undefined) : undefined,
          readsUnmounted: false,
          // The volumes stay attached across a reboot; their file systems are no longer mounted.
          reboot: async () => {
            await unmountAllUnder(mountRoot);
          },
          close: async () => {
            await unmountAllUnder(mountRoot);
            await world.dispose();
          },
        };
        // EBS volumes hold only what Stowage made: nothing foreign to keep beside them here.
        return { backend, foreign: { intact: async () => true } };
      },
    });
  }, 1_800_000);
});
