import { DescribeVolumesCommand, type EC2Client, type Filter, type Volume } from '@aws-sdk/client-ec2';

/**
 * What an operator sees of a Stowage cluster with `aws ec2 describe-volumes --filters Name=tag:StackID,Values=…`:
 * the tests look at EC2 (moto) directly, not through the plugin, to prove what it really made.
 */
export class MotoEbsVolumes {
  constructor(
    private readonly client: EC2Client,
    /** The cluster's StackID tag value. */
    private readonly stackId: string,
  ) {}

  /** The cluster's live volumes (deleted ones left out), with only those named `name` when it is given. */
  async ofCluster(name?: string): Promise<Volume[]> {
    const filters: Filter[] = [{ Name: 'tag:StackID', Values: [this.stackId] }];
    if (name !== undefined) filters.push({ Name: 'tag:stowage:volume', Values: [name] });
    return this.describe(filters);
  }

  /** Every volume in the region, Stowage's or not. */
  all(): Promise<Volume[]> {
    return this.describe([]);
  }

  /** One volume by id, or undefined once it is deleted. */
  async byId(volumeId: string): Promise<Volume | undefined> {
    try {
      const { Volumes = [] } = await this.client.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] }));
      return Volumes.find((v) => v.State !== 'deleted');
    } catch (error) {
      if ((error as Error).name === 'InvalidVolume.NotFound') return undefined;
      throw error;
    }
  }

  /** The volume's attachments as `instance id: state`, so a failed assertion reads as what EC2 holds. */
  async attachments(volumeId: string): Promise<string[]> {
    const volume = await this.byId(volumeId);
    return (volume?.Attachments ?? []).filter((a) => a.State !== 'detached').map((a) => `${a.InstanceId}: ${a.State}`);
  }

  private async describe(filters: Filter[]): Promise<Volume[]> {
    const { Volumes = [] } = await this.client.send(
      new DescribeVolumesCommand(filters.length > 0 ? { Filters: filters } : {}),
    );
    return Volumes.filter((v) => v.State !== 'deleting' && v.State !== 'deleted');
  }
}

/** A volume's tags as a plain object. */
export function tagsOf(volume: Volume): Record<string, string> {
  return Object.fromEntries((volume.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
}
