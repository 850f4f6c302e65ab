import {
  AttachVolumeCommand,
  CreateVolumeCommand,
  DeleteVolumeCommand,
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
import { CLUSTER_TAG, VOLUME_NAME_TAG } from './cluster-tags.js';
import { clientToken } from './client-token.js';
import { batchedWaiterClient } from './batched-waiter-client.js';
import { DescribeVolumesBatcher, PAGE_SIZE } from './describe-volumes-batcher.js';

export { PAGE_SIZE };
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
 * Retries of throttled and failed calls are the SDK client's (standard retry mode: backoff on throttling errors such
 * as `RequestLimitExceeded`; `AWS_MAX_ATTEMPTS` and `AWS_RETRY_MODE` tune it); waiting is the SDK waiters'; paging
 * its paginator's. Lookups of single volumes, by name or id, and the waiters' polls go through one
 * {@link DescribeVolumesBatcher}, so concurrent operations on this node share DescribeVolumes calls.
 */
export class EbsVolumes {
  /** Every lookup of the cluster's volumes carries it, so clusters never see each other's. */
  private readonly clusterFilter: Filter;
  private readonly lookups: DescribeVolumesBatcher;
  /** What the SDK waiters are given: the client, with their polls routed through {@link lookups}. */
  private readonly waiterClient: EC2Client;

  constructor(
    private readonly client: EC2Client,
    private readonly clusterId: string,
    stackId: string,
    private readonly logger: Logger,
    private readonly timing: WaitTiming = DEFAULT_WAIT_TIMING,
  ) {
    this.clusterFilter = { Name: `tag:${CLUSTER_TAG}`, Values: [stackId] };
    this.lookups = new DescribeVolumesBatcher(client, { nameTag: VOLUME_NAME_TAG, scope: [this.clusterFilter] });
    this.waiterClient = batchedWaiterClient(client, this.lookups);
  }

  /** Every live volume of this cluster, in pages of {@link PAGE_SIZE}, one DescribeVolumes call per page. */
  async listAll(extra: Filter[] = []): Promise<Volume[]> {
    const volumes: Volume[] = [];
    try {
      const pages = paginateDescribeVolumes(
        { client: this.client, pageSize: PAGE_SIZE },
        { Filters: [this.clusterFilter, ...extra] },
      );
      for await (const page of pages) volumes.push(...(page.Volumes ?? []).filter((v) => !GONE_STATES.has(v.State ?? '')));
    } catch (error) {
      throw StowageError.wrap(error, 'cannot list EBS volumes');
    }
    return volumes;
  }

  /** This cluster's live volumes named `name`, oldest first (more than one only after a lost create race). */
  async findAll(name: string): Promise<Volume[]> {
    let volumes: Volume[];
    try {
      volumes = await this.lookups.named(name);
    } catch (error) {
      throw StowageError.wrap(error, `cannot look up EBS volume "${name}"`);
    }
    return volumes.filter((v) => !GONE_STATES.has(v.State ?? '')).sort(oldestFirst);
  }

  /** The volume named `name`: the oldest, if a lost create race left two. */
  async find(name: string): Promise<Volume | undefined> {
    const [volume, ...duplicates] = await this.findAll(name);
    if (duplicates.length > 0) {
      this.logger.warn({ volume: name, kept: volume?.VolumeId, duplicates: duplicates.map((d) => d.VolumeId) }, 'several EBS volumes carry one name; using the oldest');
    }
    return volume;
  }

  /**
   * Every volume attached to `instanceId`, Stowage's or not, for device names and the attach limit only: the answer
   * may be a few seconds old, this node's own attaches and detaches included (see
   * {@link DescribeVolumesBatcher.attachedTo}).
   */
  async attachedTo(instanceId: string): Promise<Volume[]> {
    try {
      return await this.lookups.attachedTo(instanceId);
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
      this.lookups.attached(instanceId, volumeId, device);
      return 'attached';
    } catch (error) {
      const { name, message } = error as Error;
      if (name === 'InvalidParameterValue' && /in use|already used/i.test(message)) {
        // The attachments this name was chosen from were out of date: the next choice needs a fresh view.
        this.lookups.forgetAttachments(instanceId);
        return 'device-in-use';
      }
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
  /** `force`: for a takeover from a holder that cannot detach cleanly (stopped, or dead); its unflushed writes are lost. */
  async detach(volumeId: string, instanceId: string, options: { force?: boolean } = {}): Promise<void> {
    try {
      await this.client.send(
        new DetachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceId, ...(options.force ? { Force: true } : {}) }),
      );
    } catch (error) {
      const name = (error as Error).name;
      // Not attached (any more): what detaching wanted.
      if (name !== 'IncorrectState' && name !== 'InvalidAttachment.NotFound' && name !== 'InvalidVolume.NotFound') {
        throw StowageError.wrap(error, `cannot detach EBS volume ${volumeId} from ${instanceId}`);
      }
      this.lookups.detached(instanceId, volumeId);
      return;
    }
    try {
      await this.waitAvailable(volumeId, `volume ${volumeId} being detached`);
    } finally {
      // Until now the detaching volume still counted against the attach limit and held its device name.
      this.lookups.detached(instanceId, volumeId);
    }
  }

  async waitAvailable(volumeId: string, what: string): Promise<void> {
    try {
      await waitUntilVolumeAvailable(this.waiter(this.timing.availableSeconds), { VolumeIds: [volumeId] });
    } catch (error) {
      throw StowageError.wrap(error, `EBS ${what} did not become available within ${this.timing.availableSeconds} s`);
    }
  }

  async describe(volumeId: string): Promise<Volume> {
    const volume = await this.describeIfExists(volumeId, { includeGone: true });
    if (volume === undefined) throw StowageError.backendFailure(`EC2 did not describe EBS volume ${volumeId}`);
    return volume;
  }

  /** The volume, or undefined once EC2 no longer knows it or is deleting it (unless `includeGone`). */
  async describeIfExists(volumeId: string, options: { includeGone?: boolean } = {}): Promise<Volume | undefined> {
    let volume: Volume | undefined;
    try {
      volume = await this.lookups.volume(volumeId);
    } catch (error) {
      throw StowageError.wrap(error, `cannot describe EBS volume ${volumeId}`);
    }
    return volume && (options.includeGone || !GONE_STATES.has(volume.State ?? '')) ? volume : undefined;
  }

  private waiter(maxWaitTime: number) {
    return { client: this.waiterClient, maxWaitTime, minDelay: this.timing.minDelay, maxDelay: this.timing.maxDelay };
  }

  /**
   * Whether EC2 answered with the volume an earlier, since removed, volume of this name was made with: its token is
   * remembered for hours. A volume just made may not be describable yet either (eventual consistency), so "gone"
   * alone is not enough: the volume must also be older than any racing creator's.
   */
  private async isRemovedReplay(created: Volume, started: number): Promise<boolean> {
    let state: string | undefined;
    try {
      // EC2 describes no volume for an id it has forgotten: for this check that is a deleted volume.
      state = (await this.lookups.volume(created.VolumeId as string))?.State ?? 'deleted';
    } catch (error) {
      throw StowageError.wrap(error, `cannot describe new EBS volume ${created.VolumeId}`);
    }
    if (!GONE_STATES.has(state)) return false;
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
