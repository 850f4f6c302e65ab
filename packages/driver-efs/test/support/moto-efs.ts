import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSubnetCommand, CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateFileSystemCommand, CreateMountTargetCommand, EFSClient, type PerformanceMode } from '@aws-sdk/client-efs';
import { startMotoServer, type MotoServer } from '@stowage/aws-testkit';
import { SystemHostOperations, createLogger, type HostOperations } from '@stowage/core';
import { EfsProvider, type EfsProviderDeps, type EfsProviderSettings } from '../../src/index.js';

export const REGION = 'us-east-1';
export const ZONE = 'us-east-1a';
export const OTHER_ZONE = 'us-east-1b';

/**
 * One moto server for a test file, with a VPC and a subnet in two zones (a mount target needs a subnet, and takes
 * its zone from it). Its settings go into this worker's environment, so the EFS client finds the endpoint, region
 * and credentials through the SDK's own chains, as in production.
 */
export class MotoEfs {
  private constructor(
    readonly moto: MotoServer,
    readonly efs: EFSClient,
    private readonly ec2: EC2Client,
    private subnets: Record<string, string>,
  ) {}

  static async start(): Promise<MotoEfs> {
    const moto = await startMotoServer({ region: REGION });
    Object.assign(process.env, moto.env);
    const efs = new EFSClient({});
    const ec2 = new EC2Client({});
    const world = new MotoEfs(moto, efs, ec2, {});
    await world.reset();
    return world;
  }

  /** Forgets every resource and makes the network again. */
  async reset(): Promise<void> {
    await this.moto.reset();
    const vpc = await this.ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }));
    const subnets: Record<string, string> = {};
    for (const [index, zone] of [ZONE, OTHER_ZONE].entries()) {
      const subnet = await this.ec2.send(
        new CreateSubnetCommand({ VpcId: vpc.Vpc?.VpcId, CidrBlock: `10.0.${index}.0/24`, AvailabilityZone: zone }),
      );
      subnets[zone] = subnet.Subnet?.SubnetId as string;
    }
    this.subnets = subnets;
  }

  /** A file system, tagged `Name=<name>` when a name is given, with mount targets in `zones`. */
  async fileSystem(options: { name?: string; zones?: readonly string[]; performanceMode?: PerformanceMode } = {}): Promise<string> {
    const created = await this.efs.send(
      new CreateFileSystemCommand({
        CreationToken: `test-${Math.random().toString(36).slice(2)}`,
        PerformanceMode: options.performanceMode ?? 'generalPurpose',
        ...(options.name ? { Tags: [{ Key: 'Name', Value: options.name }] } : {}),
      }),
    );
    const id = created.FileSystemId as string;
    for (const zone of options.zones ?? [ZONE]) {
      await this.efs.send(new CreateMountTargetCommand({ FileSystemId: id, SubnetId: this.subnets[zone] }));
    }
    return id;
  }

  async stop(): Promise<void> {
    this.efs.destroy();
    this.ec2.destroy();
    await this.moto.stop();
  }
}

/** A temp directory for one test: the NFS stand-in's exports and each node's mount root live under it. */
export async function scratch(): Promise<{ dir: string; exports: string; cleanup(host?: HostOperations): Promise<void> }> {
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
