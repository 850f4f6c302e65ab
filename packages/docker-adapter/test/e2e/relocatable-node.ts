import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { MotoServer } from '@stowage/testkit/moto';
import { driverSettingEnvName } from '@stowage/core';
// The EBS driver's own device plane for its moto tests: one stand-in for udev and the EBS data plane, whatever tier runs it.
import { FakeUdev } from '@stowage/driver-ebs/testing';

/** Where a relocatable node is in EC2: the identity the plugin is configured with instead of instance metadata. */
export interface NodePlacement {
  readonly instanceId: string;
  /** Its availability zone, such as `us-east-1a`. */
  readonly zone: string;
}

export interface RelocatableNodeOptions extends NodePlacement {
  readonly moto: MotoServer;
  /** The client the node's device plane watches moto's attachments with. */
  readonly client: EC2Client;
  readonly region: string;
  /** The ebs driver's `clusterId`: every node of one cluster shares it. */
  readonly clusterId: string;
  /** Where every volume's bytes live (`<volume id>.img`), shared by all nodes: the "EBS" itself. */
  readonly dataDir: string;
}

/**
 * One node of a relocatable (EBS) cluster as the end-to-end tier plays it: an EC2 instance in moto, its own
 * device and sysfs directories with a FakeUdev making a loop device for each volume moto shows attached to that
 * instance, and the environment that makes `stowage serve` that node.
 */
export class RelocatableNode {
  private constructor(
    private readonly options: RelocatableNodeOptions,
    /** The temp directory holding the node's `by-id` and `sys` directories. */
    readonly dir: string,
    readonly udev: FakeUdev,
  ) {}

  /** Starts the node's device plane; the plugin is started separately with {@link pluginEnv}. */
  static async start(options: RelocatableNodeOptions): Promise<RelocatableNode> {
    const dir = await mkdtemp('/tmp/stowage-e2e-ebs-node-');
    const udev = new FakeUdev({
      client: options.client,
      instanceId: options.instanceId,
      deviceDir: join(dir, 'by-id'),
      sysfsRoot: join(dir, 'sys'),
      dataDir: options.dataDir,
    });
    try {
      await udev.start();
    } catch (error) {
      await udev.stop().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
    return new RelocatableNode(options, dir, udev);
  }

  get instanceId(): string {
    return this.options.instanceId;
  }

  get zone(): string {
    return this.options.zone;
  }

  /**
   * `STOWAGE_*` and AWS variables for a plugin playing this node: the local and ebs drivers, this instance's
   * identity (so the plugin never asks instance metadata), this node's device directories, and moto as EC2.
   */
  pluginEnv(): Record<string, string> {
    const ebs = (setting: string): string => driverSettingEnvName('ebs', setting);
    return {
      ...this.options.moto.env,
      STOWAGE_DRIVERS: 'local,ebs',
      [ebs('clusterId')]: this.options.clusterId,
      [ebs('region')]: this.options.region,
      [ebs('instanceId')]: this.options.instanceId,
      [ebs('availabilityZone')]: this.options.zone,
      [ebs('deviceDir')]: join(this.dir, 'by-id'),
      [ebs('sysfsRoot')]: join(this.dir, 'sys'),
    };
  }

  /** The file holding a volume's bytes, whichever node it is attached to. */
  imageOf(volumeId: string): string {
    return this.udev.imageOf(volumeId);
  }

  /** Removes the node's loop devices (attached or not in moto) and its directories. */
  async stop(): Promise<void> {
    await this.udev.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}
