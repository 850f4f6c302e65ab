import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MotoCloud } from '@stowage/testkit/moto';
import { SystemHostOperations, createLogger, type HostOperations } from '@stowage/core';
import { EfsProvider, type EfsProviderDeps, type EfsProviderSettings } from '../../src/index.js';

export const ZONE = 'us-east-1a';
export const OTHER_ZONE = 'us-east-1b';

/**
 * One moto server for a test file, with a VPC and a subnet in two zones (a mount target needs a subnet, and takes
 * its zone from it). Its settings go into this worker's environment, so the EFS client finds the endpoint, region
 * and credentials through the SDK's own chains, as in production.
 */
export async function startMotoEfs(): Promise<MotoCloud> {
  const cloud = await MotoCloud.start({ zones: [ZONE, OTHER_ZONE] });
  Object.assign(process.env, cloud.env);
  return cloud;
}

/** A temp directory for one test: the NFS stand-in's exports and each node's mount root live under it. */
export async function scratch(): Promise<{
  dir: string;
  exports: string;
  cleanup(host?: HostOperations): Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'stowage-efs-'));
  return {
    dir,
    exports: join(dir, 'exports'),
    async cleanup(host: HostOperations = new SystemHostOperations()) {
      // Deepest first, so a file system mount goes after the mounts inside it.
      const mounts = (await host.listMounts(dir)).sort((a, b) => b.target.length - a.target.length);
      for (const mount of mounts) await host.unmount(mount.target);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A provider of this node, on the stand-in, in this zone. */
export function provider(
  settings: Partial<EfsProviderSettings> & { mountRoot: string },
  host: HostOperations = new SystemHostOperations(),
  deps: Omit<Partial<EfsProviderDeps>, 'host'> = {},
): EfsProvider {
  return new EfsProvider(
    { availabilityZone: ZONE, accessPoints: false, dnsSuffix: 'amazonaws.com', tls: false, ...settings },
    { host, logger: createLogger({ level: 'silent' }), ...deps },
  );
}
