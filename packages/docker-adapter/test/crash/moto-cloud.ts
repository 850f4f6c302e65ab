import { CreateSubnetCommand, CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateFileSystemCommand, CreateMountTargetCommand, EFSClient } from '@aws-sdk/client-efs';
import { startMotoServer, type MotoServer } from '@stowage/aws-testkit';

export const ZONE = 'us-east-1a';

/**
 * One moto server for the harness, with a subnet in {@link ZONE}: each row of a cloud backing makes its own file
 * system there (or, for EBS, its own cluster id), so what one row leaves cannot be counted against another.
 */
export class MotoCloud {
  private constructor(
    /** The server itself, for helpers that build their own clients of it (the EBS driver's test nodes). */
    readonly server: MotoServer,
    /** The real SDK clients, pointed at moto: the harness counts cloud resources through them. */
    readonly efs: EFSClient,
    readonly ec2: EC2Client,
    private readonly subnetId: string,
  ) {}

  static async start(): Promise<MotoCloud> {
    const moto = await startMotoServer({ region: 'us-east-1' });
    const config = {
      endpoint: moto.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: moto.env.AWS_ACCESS_KEY_ID as string, secretAccessKey: moto.env.AWS_SECRET_ACCESS_KEY as string },
    };
    const ec2 = new EC2Client(config);
    try {
      const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }));
      const subnet = await ec2.send(new CreateSubnetCommand({ VpcId: vpc.Vpc?.VpcId, CidrBlock: '10.0.1.0/24', AvailabilityZone: ZONE }));
      return new MotoCloud(moto, new EFSClient(config), ec2, subnet.Subnet?.SubnetId as string);
    } catch (error) {
      ec2.destroy();
      await moto.stop();
      throw error;
    }
  }

  /** Endpoint, region and (fake) credentials for the plugin's environment. */
  get env(): Readonly<Record<string, string>> {
    return this.server.env;
  }

  /** A new file system with a mount target in {@link ZONE}; returns its ID. */
  async fileSystem(token: string): Promise<string> {
    const created = await this.efs.send(new CreateFileSystemCommand({ CreationToken: token }));
    const id = created.FileSystemId as string;
    await this.efs.send(new CreateMountTargetCommand({ FileSystemId: id, SubnetId: this.subnetId }));
    return id;
  }

  async stop(): Promise<void> {
    this.efs.destroy();
    this.ec2.destroy();
    await this.server.stop();
  }
}
