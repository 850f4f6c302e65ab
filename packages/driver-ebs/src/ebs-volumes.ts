import {
  AttachVolumeCommand,
  CreateVolumeCommand,
  DeleteVolumeCommand,
  DetachVolumeCommand,
  DescribeVolumesCommand,
  paginateDescribeVolumes,
  type CreateVolumeCommandInput,
  type DescribeVolumesCommandInput,
  type EC2Client,
  type Filter,
  type Volume,
} from '@aws-sdk/client-ec2';
import { TTLCache } from '@isaacs/ttlcache';
import { WaiterState, createWaiter, type WaiterResult } from '@smithy/core/client';
import { StowageError, type Logger } from '@stowage/core';
import { CALL_BUDGETS_MS, Deadline } from './call-budget.js';
import { CLUSTER_TAG, VOLUME_NAME_TAG } from './cluster-tags.js';
import { clientToken } from './client-token.js';
import { batchedWaiterClient } from './batched-waiter-client.js';
import { DescribeVolumesBatcher, PAGE_SIZE } from './describe-volumes-batcher.js';
import { PROGRESS_LOG_MS, withProgressLog } from './progress-log.js';

export { PAGE_SIZE };
/** How many tokens a create walks past (each a recent rm-then-create of the name) before giving up. */
const MAX_TOKEN_GENERATIONS = 32;
/**
 * How long after EC2 made a volume it may still not describe it: the EC2 API is eventually consistent, and this
 * node's clock may be a little off EC2's. A create token answered with a volume EC2 does not describe is a removed
 * volume's once this long has passed since that volume was made; before, it may be the volume another node has just
 * made with the same token, so it is waited for until then.
 */
export const NEW_VOLUME_VISIBLE_MS = 10_000;
/** How long this node remembers the volumes it deleted: as long as EC2 may answer their create tokens with them. */
const DELETED_MEMORY_MS = 24 * 3600_000;

/** Waiter pacing, in seconds (the SDK waiters' units). */
export interface WaitTiming {
  readonly minDelay: number;
  readonly maxDelay: number;
  /** Bound for a volume to become available after create or detach, where no caller's budget bounds it sooner. */
  readonly availableSeconds: number;
  /** Bound for an attachment: one stuck in `attaching` past it is detached and reported. */
  readonly attachSeconds: number;
  /** How often a wait that goes on logs what it waits for, in milliseconds. */
  readonly progressLogMs?: number;
}

export const DEFAULT_WAIT_TIMING: WaitTiming = {
  minDelay: 1,
  maxDelay: 10,
  availableSeconds: 300,
  attachSeconds: 90,
  progressLogMs: PROGRESS_LOG_MS,
};

/** How a bounded wait for a volume ended (see {@link EbsVolumes.waitFor}). */
export type VolumeWait =
  | { readonly outcome: 'reached'; readonly volume: Volume }
  /** EC2 is deleting the volume, or no longer describes it. */
  | { readonly outcome: 'gone' }
  /** EC2 reports the volume in state `error`. */
  | { readonly outcome: 'failed'; readonly volume: Volume }
  /** The bound passed first; `last` is the volume as EC2 last described it, if it did. */
  | { readonly outcome: 'bound'; readonly last: Volume | undefined }
  /** The caller's signal aborted the wait. */
  | { readonly outcome: 'aborted'; readonly last: Volume | undefined };

/** What {@link EbsVolumes.waitFor} waits for, and how long. */
export interface VolumeWaitOptions {
  /** What is waited for, for the progress log: `EBS volume vol-x to become available`. */
  readonly what: string;
  /** Fields of the progress log's lines. */
  readonly fields?: Record<string, unknown>;
  /** The longest the wait may take, in milliseconds. */
  readonly boundMs: number;
  readonly signal?: AbortSignal;
  /** Until when (epoch milliseconds) a volume EC2 does not describe may still appear; it is gone at once by default. */
  readonly unseenUntil?: number;
  /** Reached once this holds of the volume as described; by default once it is in the state waited for. */
  readonly until?: (volume: Volume) => boolean;
}

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
  /**
   * Volumes this node deleted: a create token EC2 answers with one of them is a removed volume's, known at once,
   * without waiting for EC2 to show it gone.
   */
  private readonly deletedHere = new TTLCache<string, true>({ ttl: DELETED_MEMORY_MS, max: 10_000 });

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
      for await (const page of pages)
        volumes.push(...(page.Volumes ?? []).filter((v) => !GONE_STATES.has(v.State ?? '')));
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
      this.logger.warn(
        { volume: name, kept: volume?.VolumeId, duplicates: duplicates.map((d) => d.VolumeId) },
        'several EBS volumes carry one name; using the oldest',
      );
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
   * Creates volume `name` in `zone` and waits until it is available, within `deadline`. Idempotent across nodes: every
   * node sends the same ClientToken, and EC2 answers a repeated token with the volume it made. EC2 remembers a token
   * for hours, even once its volume is deleted: a token answered with a removed volume is passed over for the next
   * one (see {@link NEW_VOLUME_VISIBLE_MS}), so that removing a name and creating it again gives a fresh volume.
   * Where the API does not honour tokens, two creators may both succeed; then the newer volume is deleted by its
   * creator and the oldest answers for the name on every node.
   *
   * Past the deadline, throws a BackendFailure saying the volume is still being made: EC2 goes on making it, and a
   * retried create (the same token) finds and uses that volume.
   */
  async create(
    name: string,
    zone: string,
    parameters: VolumeParameters,
    deadline = new Deadline(CALL_BUDGETS_MS.create),
  ): Promise<Volume> {
    for (let generation = 0; generation < MAX_TOKEN_GENERATIONS; generation++) {
      const token = clientToken(this.clusterId, name, generation);
      let created: Volume;
      try {
        created = await this.client.send(
          new CreateVolumeCommand({ ...parameters, AvailabilityZone: zone, ClientToken: token }),
        );
      } catch (error) {
        // The token is bound to an earlier volume of this name made with other options: move to the next one.
        if ((error as Error).name === 'IdempotentParameterMismatch') continue;
        throw StowageError.wrap(error, `cannot create EBS volume for "${name}"`);
      }
      const volumeId = created.VolumeId;
      if (volumeId === undefined)
        throw StowageError.backendFailure(`EC2 created a volume for "${name}" but named no volume id`);
      const wait = this.deletedHere.has(volumeId)
        ? ({ outcome: 'gone' } as const)
        : await this.waitFor(volumeId, 'available', {
            what: `new EBS volume ${volumeId} for "${name}" to become available`,
            fields: { volume: name, volumeId },
            boundMs: deadline.bound(this.timing.availableSeconds * 1000),
            unseenUntil: (created.CreateTime?.getTime() ?? Date.now()) + NEW_VOLUME_VISIBLE_MS,
          });
      switch (wait.outcome) {
        case 'reached':
          return this.settleRace(name, volumeId);
        case 'gone':
          this.logger.info(
            { volume: name, volumeId, generation },
            'create token belongs to a removed volume; moving to the next token',
          );
          continue;
        case 'failed':
          throw StowageError.backendFailure(
            `EC2 could not make EBS volume ${volumeId} for "${name}" (state error); remove the volume and create it again`,
          );
        default:
          throw StowageError.backendFailure(
            `EBS volume ${volumeId} for "${name}" is still being created (${stateOf(wait.last)} after ${deadline.elapsedSeconds()} s); ` +
              'retry shortly: EC2 goes on making it, and the retried create uses it',
          );
      }
    }
    throw StowageError.backendFailure(
      `cannot create EBS volume for "${name}": ${MAX_TOKEN_GENERATIONS} create tokens are bound to earlier volumes of this name; retry in a few hours`,
    );
  }

  /**
   * DeleteVolume. Answers whether this call deleted it (false: EC2 knew no such volume any more); an attached volume
   * is refused with InUse, as EC2 refuses it.
   */
  async delete(volumeId: string): Promise<boolean> {
    try {
      await this.client.send(new DeleteVolumeCommand({ VolumeId: volumeId }));
      this.deletedHere.set(volumeId, true);
      return true;
    } catch (error) {
      if ((error as Error).name === 'InvalidVolume.NotFound') {
        this.deletedHere.set(volumeId, true);
        return false;
      }
      if ((error as Error).name === 'VolumeInUse')
        throw StowageError.inUse(`EBS volume ${volumeId} is attached; release it first`, error);
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
        throw StowageError.inUse(
          `EBS volume ${volumeId} was attached elsewhere meanwhile; retry once it is released`,
          error,
        );
      }
      throw StowageError.wrap(error, `cannot attach EBS volume ${volumeId} to ${instanceId} as ${device}`);
    }
  }

  /**
   * Waits until `volumeId` is in use, within `deadline`. An attachment still not there {@link WaitTiming.attachSeconds}
   * after it began (`since`, now by default) is stuck: it is detached and reported. One the deadline cuts short is
   * reported as still attaching.
   */
  async waitAttached(volumeId: string, instanceId: string, deadline: Deadline, since = Date.now()): Promise<Volume> {
    const stuckInMs = this.timing.attachSeconds * 1000 - (Date.now() - since);
    const wait = await this.waitFor(volumeId, 'in-use', {
      what: `EBS volume ${volumeId} to attach to ${instanceId}`,
      fields: { volumeId, instanceId },
      boundMs: deadline.bound(Math.max(0, stuckInMs)),
    });
    switch (wait.outcome) {
      case 'reached':
        return wait.volume;
      case 'gone':
        throw StowageError.backendFailure(
          `EBS volume ${volumeId} was deleted while it was being attached to ${instanceId}`,
        );
      case 'bound':
        if (stuckInMs > deadline.remainingMs()) {
          throw StowageError.backendFailure(
            `EBS volume ${volumeId} is still attaching to ${instanceId} (${stateOf(wait.last)} after ${deadline.elapsedSeconds()} s); retry shortly`,
          );
        }
        break;
      default:
        break;
    }
    await this.detach(volumeId, instanceId, { boundMs: deadline.remainingMs() }).catch(() => undefined);
    throw StowageError.backendFailure(
      `EBS volume ${volumeId} did not finish attaching to ${instanceId} within ${this.timing.attachSeconds} s; it was detached again, retry the mount`,
    );
  }

  /**
   * DetachVolume from `instanceId`, then waits at most `boundMs` until the volume is no longer attached there. Past
   * the bound, throws a BackendFailure saying the detach goes on in EC2.
   *
   * `force`: for a takeover from a holder that cannot detach cleanly (stopped, or dead); its unflushed writes are lost.
   */
  async detach(volumeId: string, instanceId: string, options: { force?: boolean; boundMs: number }): Promise<void> {
    try {
      await this.client.send(
        new DetachVolumeCommand({
          VolumeId: volumeId,
          InstanceId: instanceId,
          ...(options.force ? { Force: true } : {}),
        }),
      );
    } catch (error) {
      const name = (error as Error).name;
      if (name === 'InvalidVolume.NotFound') {
        this.lookups.detached(instanceId, volumeId);
        return;
      }
      // Not attached there (any more), or being detached already: the wait below tells which.
      if (name !== 'IncorrectState' && name !== 'InvalidAttachment.NotFound') {
        throw StowageError.wrap(error, `cannot detach EBS volume ${volumeId} from ${instanceId}`);
      }
    }
    await this.waitDetached(volumeId, instanceId, options.boundMs);
  }

  /**
   * Waits at most `boundMs` until `volumeId` is no longer attached to `instanceId` (a detach under way ends, whoever
   * asked for it); past the bound, throws a BackendFailure saying the detach goes on in EC2.
   */
  async waitDetached(volumeId: string, instanceId: string, boundMs: number): Promise<void> {
    try {
      const wait = await this.waitFor(volumeId, 'available', {
        what: `EBS volume ${volumeId} to detach from ${instanceId}`,
        fields: { volumeId, instanceId },
        boundMs,
        until: (volume) => !isAttachedTo(volume, instanceId),
      });
      if (wait.outcome === 'bound' || wait.outcome === 'aborted') {
        throw StowageError.backendFailure(
          `EBS volume ${volumeId} is still detaching from ${instanceId} (${stateOf(wait.last)} after ${Math.round(boundMs / 1000)} s); ` +
            'EC2 goes on with the detach: retry shortly',
        );
      }
    } finally {
      // Until now the detaching volume still counted against the attach limit and held its device name.
      this.lookups.detached(instanceId, volumeId);
    }
  }

  /**
   * Waits at most `boundMs` until `volumeId` is available; otherwise throws a BackendFailure naming `what` (`volume
   * "db"`) and where it stands.
   */
  async waitAvailable(
    volumeId: string,
    what: string,
    options: { boundMs: number; signal?: AbortSignal },
  ): Promise<Volume> {
    const wait = await this.waitFor(volumeId, 'available', {
      what: `EBS ${what} (${volumeId}) to become available`,
      fields: { volumeId },
      ...options,
    });
    switch (wait.outcome) {
      case 'reached':
        return wait.volume;
      case 'gone':
        throw StowageError.backendFailure(`EBS ${what} (${volumeId}) was deleted while it was waited for`);
      case 'failed':
        throw StowageError.backendFailure(`EC2 could not make EBS ${what} (${volumeId}): its state is error`);
      case 'aborted':
        throw StowageError.backendFailure(
          `stopped waiting for EBS ${what} (${volumeId}) to become available`,
          options.signal?.reason,
        );
      default:
        throw StowageError.backendFailure(
          `EBS ${what} (${volumeId}) is still not available (${stateOf(wait.last)} after ${Math.round(options.boundMs / 1000)} s); retry shortly`,
        );
    }
  }

  /**
   * Waits until `volumeId` reaches `target` (or `options.until` holds), at most `options.boundMs`, on the SDK's waiter
   * engine (its pacing, its first look at once, its abort) with an acceptor of its own, polling through the node's
   * batched lookups; logs what it waits for every {@link WaitTiming.progressLogMs} meanwhile. A volume that is
   * deleted, or that EC2 no longer describes (after `options.unseenUntil`), ends the wait as `gone`; one in state
   * `error` as `failed`.
   */
  async waitFor(volumeId: string, target: 'available' | 'in-use', options: VolumeWaitOptions): Promise<VolumeWait> {
    const until = options.until ?? ((volume: Volume) => volume.State === target);
    let last: Volume | undefined;
    const judge = (volume: Volume | undefined): VolumeWait | undefined => {
      if (volume === undefined) return Date.now() >= (options.unseenUntil ?? 0) ? { outcome: 'gone' } : undefined;
      last = volume;
      if (GONE_STATES.has(volume.State ?? '')) return { outcome: 'gone' };
      if (volume.State === 'error') return { outcome: 'failed', volume };
      return until(volume) ? { outcome: 'reached', volume } : undefined;
    };
    // Too short a bound for the waiter's pacing: one look.
    if (options.boundMs < 100) {
      return judge(await this.describeIfExists(volumeId, { includeGone: true })) ?? { outcome: 'bound', last };
    }

    let verdict: VolumeWait | undefined;
    const look = async (client: EC2Client, input: DescribeVolumesCommandInput): Promise<WaiterResult> => {
      try {
        const { Volumes = [] } = await client.send(new DescribeVolumesCommand(input));
        verdict = judge(Volumes.find((v) => v.VolumeId === volumeId));
      } catch (error) {
        // Not described (yet, or any more); any other failure: look again.
        if ((error as Error).name === 'InvalidVolume.NotFound') verdict = judge(undefined);
      }
      return { state: verdict ? WaiterState.SUCCESS : WaiterState.RETRY };
    };
    const maxWaitTime = options.boundMs / 1000;
    const minDelay = Math.min(this.timing.minDelay, maxWaitTime / 2);
    const result = await withProgressLog(
      {
        logger: this.logger,
        fields: options.fields ?? { volumeId },
        what: options.what,
        detail: () => ({ state: last?.State ?? 'not described yet' }),
        ...(this.timing.progressLogMs ? { everyMs: this.timing.progressLogMs } : {}),
      },
      createWaiter(
        {
          client: this.waiterClient,
          maxWaitTime,
          minDelay,
          maxDelay: Math.max(minDelay, Math.min(this.timing.maxDelay, maxWaitTime)),
          ...(options.signal ? { abortSignal: options.signal } : {}),
        },
        { VolumeIds: [volumeId] },
        look,
      ),
    );
    if (verdict !== undefined) return verdict;
    return result.state === WaiterState.ABORTED ? { outcome: 'aborted', last } : { outcome: 'bound', last };
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

  /** After a create: if another node's volume for `name` is older, delete ours and answer with theirs. */
  private async settleRace(name: string, mine: string): Promise<Volume> {
    const all = await this.findAll(name);
    const winner = all[0];
    if (winner === undefined) {
      throw StowageError.backendFailure(
        `EBS volume ${mine} for "${name}" was created but cannot be found by its tags; retry`,
      );
    }
    if (winner.VolumeId !== mine && all.some((v) => v.VolumeId === mine)) {
      this.logger.warn(
        { volume: name, kept: winner.VolumeId, deleted: mine },
        'another node created this volume at the same time; deleting ours',
      );
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

/** Whether `volume` is attached, or being attached or detached, to `instanceId`. */
function isAttachedTo(volume: Volume, instanceId: string): boolean {
  return (volume.Attachments ?? []).some((a) => a.InstanceId === instanceId && a.State !== 'detached');
}

/** A volume's state for a message: `state creating`, with its attachment's when it has one. */
function stateOf(volume: Volume | undefined): string {
  if (volume === undefined) return 'not described by EC2 yet';
  const attached = volume.Attachments?.find((a) => a.State !== 'detached');
  return `state ${volume.State ?? 'unknown'}${attached ? `, attachment ${attached.State} to ${attached.InstanceId}` : ''}`;
}
