import { CreateSubnetCommand, CreateVpcCommand, type EC2Client } from '@aws-sdk/client-ec2';
import {
  CreateFileSystemCommand,
  CreateMountTargetCommand,
  type EFSClient,
  type PerformanceMode,
} from '@aws-sdk/client-efs';
import { MOTO_REGION, motoEc2Client, motoEfsClient } from './moto-clients.js';
import { startMotoServer, type MotoServer, type StartMotoOptions } from './moto-server.js';

export interface StartMotoCloudOptions {
  /** The zones that get a subnet (a mount target needs one, and takes its zone from it); `us-east-1a` by default. */
  readonly zones?: readonly string[];
  readonly server?: Omit<StartMotoOptions, 'region'>;
}

export interface MotoFileSystemOptions {
  /** The CreationToken; a random one by default. */
  readonly token?: string;
  /** Tags the file system `Name=<name>`. */
  readonly name?: string;
  /** The zones that get a mount target; the first zone of the cloud by default. */
  readonly zones?: readonly string[];
  readonly performanceMode?: PerformanceMode;
}

/**
 * A moto server with the network the AWS backings' tests need: a VPC and a subnet in each of the given zones. Its
 * EC2 and EFS clients are the test's own, for setting up and asserting on the cloud directly; the code under test
 * gets {@link env} (endpoint, region, fake credentials) and makes its own.
 */
export class MotoCloud {
  private constructor(
    readonly server: MotoServer,
    readonly ec2: EC2Client,
    readonly efs: EFSClient,
    /** The zones that have a subnet, in the order given; file systems get their mount target in the first by default. */
    readonly zones: readonly string[],
    private subnets: ReadonlyMap<string, string>,
  ) {}

  static async start(options: StartMotoCloudOptions = {}): Promise<MotoCloud> {
    const server = await startMotoServer({ ...options.server, region: MOTO_REGION });
    const cloud = new MotoCloud(
      server,
      motoEc2Client(server),
      motoEfsClient(server),
      options.zones ?? ['us-east-1a'],
      new Map(),
    );
    try {
      await cloud.makeNetwork();
    } catch (error) {
      await cloud.stop();
      throw error;
    }
    return cloud;
  }

  /** Endpoint, region and (fake) credentials, for the environment of the code under test. */
  get env(): Readonly<Record<string, string>> {
    return this.server.env;
  }

  /** The subnet made in `zone`. */
  subnet(zone: string): string {
    const id = this.subnets.get(zone);
    if (id === undefined) throw new Error(`no subnet in ${zone}: start the cloud with it among its zones`);
    return id;
  }

  /** Forgets every resource (see {@link MotoServer.reset}) and makes the network again. */
  async reset(): Promise<void> {
    await this.server.reset();
    await this.makeNetwork();
  }

  /** A new EFS file system with mount targets; returns its ID. */
  async fileSystem(options: MotoFileSystemOptions = {}): Promise<string> {
    const created = await this.efs.send(
      new CreateFileSystemCommand({
        CreationToken: options.token ?? `test-${Math.random().toString(36).slice(2)}`,
        PerformanceMode: options.performanceMode ?? 'generalPurpose',
        ...(options.name ? { Tags: [{ Key: 'Name', Value: options.name }] } : {}),
      }),
    );
    const id = created.FileSystemId as string;
    for (const zone of options.zones ?? this.zones.slice(0, 1)) {
      await this.efs.send(new CreateMountTargetCommand({ FileSystemId: id, SubnetId: this.subnet(zone) }));
    }
    return id;
  }

  async stop(): Promise<void> {
    this.efs.destroy();
    this.ec2.destroy();
    await this.server.stop();
  }

  private async makeNetwork(): Promise<void> {
    const vpc = await this.ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }));
    const subnets = new Map<string, string>();
    for (const [index, zone] of this.zones.entries()) {
      const subnet = await this.ec2.send(
        new CreateSubnetCommand({ VpcId: vpc.Vpc?.VpcId, CidrBlock: `10.0.${index}.0/24`, AvailabilityZone: zone }),
      );
      subnets.set(zone, subnet.Subnet?.SubnetId as string);
    }
    this.subnets = subnets;
  }
}
