import { chmod, chown, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { StowageError, type HostOperations } from '@stowage/core';

/** AWS's recommended NFS client options for EFS (EFS user guide, "Mounting on Amazon EC2 with NFS"). */
export const EFS_NFS_OPTIONS: readonly string[] = [
  'nfsvers=4.1',
  'rsize=1048576',
  'wsize=1048576',
  'hard',
  'timeo=600',
  'retrans=2',
  'noresvport',
];

/** An access point as a mount needs it: where it is rooted and whom EFS makes that root directory for. */
export interface AccessPointTarget {
  readonly fileSystemId: string;
  readonly accessPointId: string;
  /** Absolute path of the access point's root directory in the file system (`/<name>`). */
  readonly rootDirectory: string;
  readonly owner: { readonly uid: number; readonly gid: number; readonly permissions: string };
}

/** How this node reaches EFS: the whole file system, or one access point of it. */
export interface FileSystemMounter {
  /** Mounts the root of file system `fileSystemId` on `target`. */
  mountFileSystem(fileSystemId: string, target: string): Promise<void>;
  /** Mounts an access point on `target`. */
  mountAccessPoint(accessPoint: AccessPointTarget, target: string): Promise<void>;
}

/** Where the mount target of a file system answers, and whether to go through efs-utils with TLS. */
export interface NfsMounterSettings {
  readonly region: string;
  readonly dnsSuffix: string;
  readonly tls: boolean;
}

/**
 * The production mounter: `mount -t nfs4 -o <AWS's options> <fs-id>.efs.<region>.<suffix>:/ <target>`, or with
 * `tls`, `mount -t efs -o tls <fs-id>:/ <target>` through efs-utils' mount helper (which resolves the mount target
 * and runs stunnel). Access points always go through efs-utils: only its helper speaks the access point protocol,
 * and it requires TLS for them.
 */
export class NfsMounter implements FileSystemMounter {
  constructor(
    private readonly host: HostOperations,
    private readonly settings: NfsMounterSettings,
  ) {}

  /** The regional mount target name; EFS's DNS answers with the mount target in the asking node's zone. */
  dnsName(fileSystemId: string): string {
    return `${fileSystemId}.efs.${this.settings.region}.${this.settings.dnsSuffix}`;
  }

  async mountFileSystem(fileSystemId: string, target: string): Promise<void> {
    if (this.settings.tls) {
      await this.host.mount(`${fileSystemId}:/`, target, { fstype: 'efs', options: ['tls'] });
    } else {
      await this.host.mount(`${this.dnsName(fileSystemId)}:/`, target, { fstype: 'nfs4', options: EFS_NFS_OPTIONS });
    }
  }

  async mountAccessPoint(accessPoint: AccessPointTarget, target: string): Promise<void> {
    const options = ['tls', `accesspoint=${accessPoint.accessPointId}`];
    await this.host.mount(`${accessPoint.fileSystemId}:/`, target, { fstype: 'efs', options });
  }
}

/**
 * The test stand-in (setting `nfsStandInDir`): this kernel has no NFS client, so `<dir>/<fs-id>` plays the file
 * system's export and is bind-mounted where NFS would be mounted. An access point is its root directory there,
 * made with the owner and mode EFS would give it on first use.
 */
export class BindStandInMounter implements FileSystemMounter {
  constructor(
    private readonly host: HostOperations,
    private readonly exportsDir: string,
  ) {}

  async mountFileSystem(fileSystemId: string, target: string): Promise<void> {
    await this.host.bindMount(await this.exportOf(fileSystemId), target);
  }

  async mountAccessPoint(accessPoint: AccessPointTarget, target: string): Promise<void> {
    const root = join(await this.exportOf(accessPoint.fileSystemId), accessPoint.rootDirectory);
    try {
      const created = await mkdir(root, { recursive: true });
      if (created !== undefined) {
        await chown(root, accessPoint.owner.uid, accessPoint.owner.gid);
        await chmod(root, Number.parseInt(accessPoint.owner.permissions, 8));
      }
    } catch (error) {
      throw StowageError.wrap(error, `cannot create the stand-in access point root ${root}`);
    }
    await this.host.bindMount(root, target);
  }

  private async exportOf(fileSystemId: string): Promise<string> {
    const dir = join(this.exportsDir, fileSystemId);
    // An EFS file system always has its root: create the stand-in's on first use.
    await mkdir(dir, { recursive: true }).catch((error: unknown) => {
      throw StowageError.wrap(error, `cannot create the NFS stand-in export ${dir}`);
    });
    return dir;
  }
}
