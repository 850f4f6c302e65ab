import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { unmountAllUnder } from '../docker/mount-info.js';
import type { MotoCloud } from './moto-cloud.js';

export interface EfsStandInOptions {
  /** The file system's CreationToken; a random one by default. */
  readonly token?: string;
  /**
   * Tags the file system `Name=<name>` and has the driver find it by that tag (`STOWAGE_EFS_FILE_SYSTEM_TAG`) rather
   * than by its id, as an operator naming a stack's file system does.
   */
  readonly findByTag?: string;
  /** The zone the driver's node is in; the cloud's first zone (where the file system gets its mount target) by default. */
  readonly zone?: string;
  /** Volumes as access points rather than plain directories (`STOWAGE_EFS_ACCESS_POINTS`); the driver's default if unset. */
  readonly accessPoints?: boolean;
  /** Prefix of the exports directory's name, so a leftover says which test made it. */
  readonly prefix?: string;
}

/**
 * An EFS file system on moto and the directory standing in for its NFS export: this kernel has no NFS client, so the
 * driver bind-mounts `<exportsDir>/<fileSystemId>` where it would mount the file system
 * (`STOWAGE_EFS_NFS_STAND_IN_DIR`). What every tier that runs the built plugin or the CLI on the shared backing uses.
 */
export interface EfsStandIn {
  readonly fileSystemId: string;
  /** The stand-in's exports: each file system's root is the directory named after its id. */
  readonly exportsDir: string;
  /** The file system's root as the export serves it: the volumes' directories, `.stowage/` records beside them. */
  readonly fileSystemRoot: string;
  /**
   * The environment selecting it for the efs driver, the cloud's endpoint and fake credentials included. Which drivers
   * run (`STOWAGE_DRIVERS`) is the caller's to add.
   */
  readonly env: Readonly<Record<string, string>>;
  /** Unmounts whatever is left under the exports and removes them; throws naming the mounts it could not undo. */
  dispose(): Promise<void>;
}

/** Makes a file system on `cloud` and its export stand-in. */
export async function startEfsStandIn(cloud: MotoCloud, options: EfsStandInOptions = {}): Promise<EfsStandIn> {
  const fileSystemId = await cloud.fileSystem({
    token: options.token ?? `stand-in-${randomBytes(6).toString('hex')}`,
    ...(options.findByTag === undefined ? {} : { name: options.findByTag }),
  });
  const exportsDir = await mkdtemp(`/tmp/${options.prefix ?? 'stowage-efs'}-exports-`);
  const zone = options.zone ?? (cloud.zones[0] as string);
  return {
    fileSystemId,
    exportsDir,
    fileSystemRoot: join(exportsDir, fileSystemId),
    env: {
      ...cloud.env,
      ...(options.findByTag === undefined
        ? { STOWAGE_EFS_FILE_SYSTEM_ID: fileSystemId }
        : { STOWAGE_EFS_FILE_SYSTEM_TAG: options.findByTag }),
      STOWAGE_EFS_AVAILABILITY_ZONE: zone,
      STOWAGE_EFS_NFS_STAND_IN_DIR: exportsDir,
      ...(options.accessPoints === undefined ? {} : { STOWAGE_EFS_ACCESS_POINTS: String(options.accessPoints) }),
    },
    async dispose() {
      const left = await unmountAllUnder(exportsDir);
      await rm(exportsDir, { recursive: true, force: true });
      if (left.length > 0) throw new Error(`mounts left under ${exportsDir}: ${left.join('; ')}`);
    },
  };
}
