import {
  AttachVolumeCommand,
  CreateVolumeCommand,
  DeleteVolumeCommand,
  DescribeVolumesCommand,
  DetachVolumeCommand,
  paginateDescribeVolumes,
  waitUntilVolumeAvailable,
  waitUntilVolumeInUse,
  type CreateVolumeCommandInput,
  type EC2Client,
  type Filter,
  type Volume,
} from '@aws-sdk/client-ec2';
import { StowageError, type Logger } from '@stowage/core';
import { CLUSTER_TAG, VOLUME_NAME_TAG, tagValue } from './cluster-tags.js';
import { clientToken } from './client-token.js';

/** DescribeVolumes' largest page. */
export const PAGE_SIZE = 500;
/** How many tokens a create walks past (each a recent rm-then-create of the name) before giving up. */
const MAX_TOKEN_GENERATIONS = 32;
/** A token replay whose volume is gone and is older than this was a removed volume's, not a racing creator's. */
const STALE_REPLAY_MS = 5 * 60_000;

/** Waiter pacing, in seconds (the SDK waiters' units). */
export interface WaitTiming {
  readonly minDelay: number;
  readonly maxDelay: number;
  /** Bound for a volume to become available after create or detach. */
  readonly availableSeconds: number;
  /** Bound for an attachment: one stuck in `attaching` past it is detached and reported. */
  readonly attachSeconds: number;
}

export const DEFAULT_WAIT_TIMING: WaitTiming = { minDelay: 1, maxDelay: 10, availableSeconds: 300, attachSeconds: 90 };

/** What a create asks EC2 for, besides the token, zone and tags this class adds. */
export type VolumeParameters = Pick<
  CreateVolumeCommandInput,
  'Size' | 'VolumeType' | 'Iops' | 'Throughput' | 'Encrypted' | 'KmsKeyId' | 'SnapshotId' | 'TagSpecifications'
>;

/** States in which a volume no longer answers for its name. */
const GONE_STATES = new Set(['deleting', 'deleted']);

/**
 * The cluster's EBS volumes, through the EC2 API only: found by their tags, never by anything this node remembers.
 * Retries of throttled and failed calls are the SDK client's; waiting is the SDK waiters'; paging its paginator's.
 */
export class EbsVolumes {
  constructor(
    private readonly client: EC2Client,
    private readonly clusterId: string,
    private readonly stackId: string,
    private readonly logger: Logger,
    private readonly timing: WaitTiming = DEFAULT_WAIT_TIMING,
  ) {}

  /** Every live volume of this cluster, in pages of {@link PAGE_SIZE}, one DescribeVolumes call per page. */
  async listAll(extra: Filter[] = []): Promise<Volume[]> {
    const volumes: Volume[] = [];
    try {
      const pages = paginateDescribeVolumes(
        { client: this.client, pageSize: PAGE_SIZE },
        { Filters: [{ Name: `tag:${CLUSTER_TAG}`, Values: [this.stackId] }, ...extra] },
      );
      for await (const page of pages) volumes.push(...(page.Volumes ?? []).filter((v) => !GONE_STATES.has(v.State ?? '')));
    } catch (error) {
      throw StowageError.wrap(error, 'cannot list EBS volumes');
    }
    return volumes;
  }

  /** This cluster's live volumes named `name`, oldest first (more than one only after a lost create race). */
  async findAll(name: string): Promise<Volume[]> {
    // Tag filters treat `*` and `?` as wildcards; names cannot hold them, and the exact check below stays anyway.
    const volumes = await this.listAll([{ Name: `tag:${VOLUME_NAME_TAG}`, Values: [name] }]);
    return volumes.filter((v) => tagValue(v.Tags, VOLUME_NAME_TAG) === name).sort(oldestFirst);
  }

  /** The volume named `name`: the oldest, if a lost create race left two. */
  async find(name: string): Promise<Volume | undefined> {
    const [volume, ...duplicates] = await this.findAll(name);
    if (duplicates.length > 0) {
      this.logger.warn({ volume: name, kept: volume?.VolumeId, duplicates: duplicates.map((d) => d.VolumeId) }, 'several EBS volumes carry one name; using the oldest');
    }
    return volume;
  }

  /** Every volume attached to `instanceId`, Stowage's or not (for device names and the attach limit). */
  async attachedTo(instanceId: string): Promise<Volume[]> {
    try {
      const result = await this.client.send(
        new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [instanceId] }] }),
      );
      return result.Volumes ?? [];
    } catch (error) {
      throw StowageError.wrap(error, `cannot list the volumes attached to ${instanceId}`);
    }
  }

  /**
   * Creates volume `name` in `zone` and waits until it is available. Idempotent across nodes: every node sends the
   * same ClientToken, and EC2 answers a repeated token with the volume it made. Where the API does not honour
   * tokens (moto), two creators may both succeed; then the newer volume is deleted by its creator and the oldest
   * answers for the name on every node.
   */
  async create(name: string, zone: string, parameters: VolumeParameters): Promise<Volume> {
    const started = Date.now();
    for (let generation = 0; generation < MAX_TOKEN_GENERATIONS; generation++) {
      const token = clientToken(this.clusterId, name, generation);
      let created: Volume;
      try {
        created = await this.client.send(new CreateVolumeCommand({ ...parameters, AvailabilityZone: zone, ClientToken: token }));
      } catch (error) {
        // The token is bound to an earlier volume of this name made with other options: move to the next one.
        if ((error as Error).name === 'IdempotentParameterMismatch') continue;
        throw StowageError.wrap(error, `cannot create EBS volume for "${name}"`);
      }
      const volumeId = created.VolumeId;
      if (volumeId === undefined) throw StowageError.backendFailure(`EC2 created a volume for "${name}" but named no volume id`);
      if (await this.isRemovedReplay(created, started)) {
        this.logger.info({ volume: name, volumeId, generation }, 'create token belongs to a removed volume; moving to the next token');
        continue;
      }
      await this.waitAvailable(volumeId, `new volume for "${name}"`);
      return this.settleRace(name, volumeId);
    }
    throw StowageError.backendFailure(
      `cannot create EBS volume for "${name}": ${MAX_TOKEN_GENERATIONS} create tokens are bound to earlier volumes of this name; retry in a few hours`,
    );
  }

  async delete(volumeId: string): Promise<void> {
    try {
      await this.client.send(new DeleteVolumeCommand({ VolumeId: volumeId }));
    } catch (error) {
      if ((error as Error).name === 'InvalidVolume.NotFound') return;
      if ((error as Error).name === 'VolumeInUse') throw StowageError.inUse(`EBS volume ${volumeId} is attached; release it first`, error);
      throw StowageError.wrap(error, `cannot delete EBS volume ${volumeId}`);
    }
  }

  /** AttachVolume; an `InvalidParameterValue` about the device name comes back as `'device-in-use'`. */
  async attach(volumeId: string, instanceId: string, device: string): Promise<'attached' | 'device-in-use'> {
    try {
      await this.client.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceId, Device: device }));
      return 'attached';
    } catch (error) {
      const { name, message } = error as Error;
      if (name === 'InvalidParameterValue' && /in use|already used/i.test(message)) return 'device-in-use';
      if (name === 'VolumeInUse') {
        throw StowageError.inUse(`EBS volume ${volumeId} was attached elsewhere meanwhile; retry once it is released`, error);
      }
      throw StowageError.wrap(error, `cannot attach EBS volume ${volumeId} to ${instanceId} as ${device}`);
    }
  }

  /** Waits until `volumeId` is in use; an attachment still not there after the bound is detached and reported. */
  async waitAttached(volumeId: string, instanceId: string): Promise<Volume> {
    try {
      const { reason } = await waitUntilVolumeInUse(this.waiter(this.timing.attachSeconds), { VolumeIds: [volumeId] });
      const volume = (reason as { Volumes?: Volume[] } | undefined)?.Volumes?.[0];
      if (volume) return volume;
    } catch (error) {
      await this.detach(volumeId, instanceId).catch(() => undefined);
      throw StowageError.wrap(
        error,
        `EBS volume ${volumeId} did not finish attaching to ${instanceId} within ${this.timing.attachSeconds} s; it was detached again, retry the mount`,
      );
    }
    return this.describe(volumeId);
  }

  /** DetachVolume (if attached to `instanceId`) and wait until the volume is available. */
  async detach(volumeId: string, instanceId: string): Promise<void> {
    try {
      await this.client.send(new DetachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceId }));
    } catch (error) {
      const name = (error as Error).name;
      // Not attached (any more): what detaching wanted.
      if (name !== 'IncorrectState' && name !== 'InvalidAttachment.NotFound' && name !== 'InvalidVolume.NotFound') {
        throw StowageError.wrap(error, `cannot detach EBS volume ${volumeId} from ${instanceId}`);
      }
      return;
    }
    await this.waitAvailable(volumeId, `volume ${volumeId} being detached`);
  }

  async waitAvailable(volumeId: string, what: string): Promise<void> {
    try {
      await waitUntilVolumeAvailable(this.waiter(this.timing.availableSeconds), { VolumeIds: [volumeId] });
    } catch (error) {
      throw StowageError.wrap(error, `EBS ${what} did not become available within ${this.timing.availableSeconds} s`);
    }
  }

  async describe(volumeId: string): Promise<Volume> {
    try {
      const result = await this.client.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] }));
      const volume = result.Volumes?.[0];
      if (volume) return volume;
    } catch (error) {
      throw StowageError.wrap(error, `cannot describe EBS volume ${volumeId}`);
    }
    throw StowageError.backendFailure(`EC2 did not describe EBS volume ${volumeId}`);
  }

  private waiter(maxWaitTime: number) {
    return { client: this.client, maxWaitTime, minDelay: this.timing.minDelay, maxDelay: this.timing.maxDelay };
  }

  /**
   * Whether EC2 answered with the volume an earlier, since removed, volume of this name was made with: its token is
   * remembered for hours. A volume just made may not be describable yet either (eventual consistency), so "gone"
   * alone is not enough: the volume must also be older than any racing creator's.
   */
  private async isRemovedReplay(created: Volume, started: number): Promise<boolean> {
    let state: string | undefined;
    try {
      const result = await this.client.send(new DescribeVolumesCommand({ VolumeIds: [created.VolumeId as string] }));
      state = result.Volumes?.[0]?.State;
    } catch (error) {
      if ((error as Error).name !== 'InvalidVolume.NotFound') throw StowageError.wrap(error, `cannot describe new EBS volume ${created.VolumeId}`);
      state = 'deleted';
    }
    if (state === undefined || !GONE_STATES.has(state)) return false;
    if (state === 'deleting') return true;
    const createdAt = created.CreateTime?.getTime();
    return createdAt !== undefined && createdAt < started - STALE_REPLAY_MS;
  }

  /** After a create: if another node's volume for `name` is older, delete ours and answer with theirs. */
  private async settleRace(name: string, mine: string): Promise<Volume> {
    const all = await this.findAll(name);
    const winner = all[0];
    if (winner === undefined) {
      throw StowageError.backendFailure(`EBS volume ${mine} for "${name}" was created but cannot be found by its tags; retry`);
    }
    if (winner.VolumeId !== mine && all.some((v) => v.VolumeId === mine)) {
      this.logger.warn({ volume: name, kept: winner.VolumeId, deleted: mine }, 'another node created this volume at the same time; deleting ours');
      await this.delete(mine);
    }
    return winner;
  }
}

/** Oldest first; the volume id breaks ties (EC2 times are whole seconds) so every node picks the same volume. */
export function oldestFirst(a: Volume, b: Volume): number {
  const byTime = (a.CreateTime?.getTime() ?? 0) - (b.CreateTime?.getTime() ?? 0);
  if (byTime !== 0) return byTime;
  return (a.VolumeId ?? '').localeCompare(b.VolumeId ?? '');
}
