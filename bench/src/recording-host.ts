import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HostOperations, MountEntry, MountOptions } from '@stowage/core';
import { compactVolumeId, nvmeLinkName } from '@stowage/driver-ebs/testing';

/**
 * Host operations that mount nothing: the cloud-economy figures count EC2 calls, and one node here mounts up to 20
 * volumes at once while the machine has 8 loop devices. mkfs, mount and unmount are recorded; blkid answers what
 * mkfs recorded, and the mount table is the recorded mounts. The real path (loop devices, ext4) is what the driver's
 * moto tests run.
 */
export class RecordingHostOperations implements HostOperations {
  readonly calls: string[] = [];
  private readonly filesystems = new Map<string, string>();
  private readonly mounts = new Map<string, MountEntry>();

  async mount(source: string, target: string, options: MountOptions = {}): Promise<void> {
    this.calls.push(`mount ${source} ${target}`);
    await mkdir(target, { recursive: true });
    this.mounts.set(target, { source, target, fstype: options.fstype ?? 'ext4', root: '/', options: ['rw'] });
  }

  async bindMount(source: string, target: string): Promise<void> {
    await this.mount(source, target);
  }

  async unmount(target: string): Promise<void> {
    this.calls.push(`umount ${target}`);
    this.mounts.delete(target);
  }

  async isMountpoint(path: string): Promise<boolean> {
    return this.mounts.has(path);
  }

  async listMounts(under?: string): Promise<MountEntry[]> {
    return [...this.mounts.values()].filter(
      (m) => under === undefined || m.target === under || m.target.startsWith(`${under}/`),
    );
  }

  async mkfs(device: string, fstype: string): Promise<void> {
    this.calls.push(`mkfs.${fstype} ${device}`);
    this.filesystems.set(device, fstype);
  }

  async probeFilesystem(device: string): Promise<string | undefined> {
    return this.filesystems.get(device);
  }
}

/**
 * What udev and sysfs would show for an attached EBS volume on a Nitro instance, for each of `volumeIds`: a regular
 * file standing for the device, the by-id link the driver looks for, and the NVMe serial it verifies. Made up front
 * for every volume, so no EC2 call is spent on the fake data plane.
 */
export async function fakeNitroDevices(
  dir: string,
  volumeIds: readonly string[],
): Promise<{ deviceDir: string; sysfsRoot: string }> {
  const deviceDir = join(dir, 'by-id');
  const sysfsRoot = join(dir, 'sys');
  await mkdir(join(dir, 'dev'), { recursive: true });
  await mkdir(deviceDir, { recursive: true });
  for (const volumeId of volumeIds) {
    const kernelName = `fake-${compactVolumeId(volumeId)}`;
    const device = join(dir, 'dev', kernelName);
    await writeFile(device, '');
    await symlink(device, join(deviceDir, nvmeLinkName(volumeId))).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
    await mkdir(join(sysfsRoot, 'block', kernelName), { recursive: true });
    await writeFile(join(sysfsRoot, 'block', kernelName, 'serial'), compactVolumeId(volumeId));
  }
  return { deviceDir, sysfsRoot };
}
