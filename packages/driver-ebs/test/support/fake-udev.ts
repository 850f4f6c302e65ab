import { execFile } from 'node:child_process';
import { mkdir, rm, symlink, writeFile, open } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { DescribeVolumesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { nvmeLinkName, compactVolumeId } from '../../src/index.js';

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
 */
export class FakeUdev {
  readonly serialOverride = new Map<string, string>();
  private readonly devices = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private tick: Promise<void> = Promise.resolve();
  /** The last failure of a sync, for a test to show when a device never appears. */
  lastError: unknown;

  constructor(private readonly options: FakeUdevOptions) {}

  async start(): Promise<void> {
    await mkdir(this.options.deviceDir, { recursive: true });
    await mkdir(this.options.dataDir, { recursive: true });
    this.timer = setInterval(() => {
      this.tick = this.tick.then(() => this.sync()).catch((error: unknown) => {
        this.lastError = error;
      });
    }, 50);
  }

  /** The file holding `volumeId`'s bytes, attached or not. */
  imageOf(volumeId: string): string {
    return join(this.options.dataDir, `${volumeId}.img`);
  }

  /** The loop device standing in for `volumeId`, while attached. */
  device(volumeId: string): string | undefined {
    return this.devices.get(volumeId);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.tick;
    for (const volumeId of [...this.devices.keys()]) await this.remove(volumeId);
  }

  private async sync(): Promise<void> {
    const { Volumes = [] } = await this.options.client.send(
      new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [this.options.instanceId] }] }),
    );
    const attached = new Map(Volumes.map((v) => [v.VolumeId as string, v.Size ?? 1]));
    for (const [volumeId, size] of attached) if (!this.devices.has(volumeId)) await this.add(volumeId, size);
    for (const volumeId of [...this.devices.keys()]) if (!attached.has(volumeId)) await this.remove(volumeId);
  }

  private async add(volumeId: string, sizeGiB: number): Promise<void> {
    const image = this.imageOf(volumeId);
    const handle = await open(image, 'a');
    try {
      if ((await handle.stat()).size === 0) await handle.truncate(sizeGiB * 1024 ** 3);
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
