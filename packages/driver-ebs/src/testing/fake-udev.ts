import { execFile } from 'node:child_process';
import { mkdir, rm, symlink, writeFile, open } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { DescribeVolumesCommand, type EC2Client, type Volume } from '@aws-sdk/client-ec2';
import { nvmeLinkName, compactVolumeId } from '../block-device-finder.js';
import { SnapshotPlane } from './snapshot-plane.js';

const run = promisify(execFile);

export interface FakeUdevOptions {
  readonly client: EC2Client;
  readonly instanceId: string;
  /** The node's `deviceDir` setting. */
  readonly deviceDir: string;
  /** The node's `sysfsRoot` setting. */
  readonly sysfsRoot: string;
  /** Where each volume's bytes live (`<volume id>.img`), shared by every node of a test: the "EBS" itself. */
  readonly dataDir: string;
}

/**
 * Plays udev and the EBS data plane for one test node: for each volume moto shows attached to the node's instance,
 * a loop device over a sparse file per volume id, the Nitro by-id link to it and its NVMe serial in a fake sysfs;
 * all of it goes away when moto shows the volume detached. `serialOverride` makes a device lie about its identity.
 * Snapshots carry bytes through {@link SnapshotPlane} (see its limits): a volume made from a snapshot is first
 * attached with a copy of the snapshot's image.
 */
export class FakeUdev {
  readonly serialOverride = new Map<string, string>();
  private readonly devices = new Map<string, string>();
  readonly snapshots: SnapshotPlane;
  private timer: NodeJS.Timeout | undefined;
  private tick: Promise<void> = Promise.resolve();
  /** The last failure of a sync, for a test to show when a device never appears. */
  lastError: unknown;
  private snapshotTimer: NodeJS.Timeout | undefined;
  private syncing = false;
  private snapshotSync: Promise<void> | undefined;

  constructor(private readonly options: FakeUdevOptions) {
    this.snapshots = new SnapshotPlane(options.client, options.dataDir);
  }

  async start(): Promise<void> {
    await mkdir(this.options.deviceDir, { recursive: true });
    await mkdir(this.options.dataDir, { recursive: true });
    this.timer = setInterval(() => {
      // One sync at a time, and none queued behind it: a slow moto must not build a backlog of syncs.
      if (this.syncing) return;
      this.syncing = true;
      this.tick = this.sync()
        .catch((error: unknown) => {
          this.lastError = error;
        })
        .finally(() => {
          this.syncing = false;
        });
    }, 50);
    // A move's transfer snapshot may live a few hundred milliseconds in moto (made complete at once, deleted when
    // the copy exists): watched on its own, more often, so its bytes are never missed.
    this.snapshotTimer = setInterval(() => {
      if (this.snapshotSync) return;
      this.snapshotSync = this.snapshots
        .sync()
        .catch((error: unknown) => {
          this.lastError = error;
        })
        .finally(() => {
          this.snapshotSync = undefined;
        });
    }, 25);
  }

  /** The file holding `volumeId`'s bytes, attached or not. */
  imageOf(volumeId: string): string {
    return this.snapshots.imageOf(volumeId);
  }

  /** The loop device standing in for `volumeId`, while attached. */
  device(volumeId: string): string | undefined {
    return this.devices.get(volumeId);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.snapshotTimer);
    await this.tick;
    await this.snapshotSync;
    for (const volumeId of [...this.devices.keys()]) await this.remove(volumeId);
  }

  private async sync(): Promise<void> {
    // Snapshots first: moto completes one at once, so its copy must be taken before a device could write the volume again.
    await this.snapshots.sync();
    const { Volumes = [] } = await this.options.client.send(
      new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [this.options.instanceId] }] }),
    );
    const attached = new Map(Volumes.map((v) => [v.VolumeId as string, v]));
    for (const [volumeId, volume] of attached) if (!this.devices.has(volumeId)) await this.add(volume);
    for (const volumeId of [...this.devices.keys()]) if (!attached.has(volumeId)) await this.remove(volumeId);
  }

  private async add(volume: Volume): Promise<void> {
    const volumeId = volume.VolumeId as string;
    const image = this.imageOf(volumeId);
    if (volume.SnapshotId && !(await this.snapshots.hasImage(volumeId)))
      await this.snapshots.restore(volumeId, volume.SnapshotId);
    const handle = await open(image, 'a');
    try {
      // A volume may be made larger than its snapshot.
      const size = (volume.Size ?? 1) * 1024 ** 3;
      if ((await handle.stat()).size < size) await handle.truncate(size);
    } finally {
      await handle.close();
    }
    const { stdout } = await run('losetup', ['--find', '--show', image]);
    const loop = stdout.trim();
    this.devices.set(volumeId, loop);
    const sysfs = join(this.options.sysfsRoot, 'block', basename(loop), 'device');
    await mkdir(sysfs, { recursive: true });
    await writeFile(join(sysfs, 'serial'), `${this.serialOverride.get(volumeId) ?? compactVolumeId(volumeId)}\n`);
    await symlink(loop, join(this.options.deviceDir, nvmeLinkName(volumeId)));
  }

  private async remove(volumeId: string): Promise<void> {
    const loop = this.devices.get(volumeId) as string;
    this.devices.delete(volumeId);
    await rm(join(this.options.deviceDir, nvmeLinkName(volumeId)), { force: true });
    await rm(join(this.options.sysfsRoot, 'block', basename(loop)), { recursive: true, force: true });
    await run('losetup', ['-d', loop]).catch(() => undefined);
  }
}
