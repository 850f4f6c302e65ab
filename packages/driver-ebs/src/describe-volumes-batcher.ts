import {
  paginateDescribeVolumes,
  type EC2Client,
  type Filter,
  type Volume,
  type VolumeAttachment,
} from '@aws-sdk/client-ec2';
import { TTLCache } from '@isaacs/ttlcache';
import DataLoader from 'dataloader';
import { tagValue } from './cluster-tags.js';

/** EC2 refuses a filter with more than 200 values: a bigger batch is split into several calls. */
export const MAX_FILTER_VALUES = 200;
/** How long the first lookup of a batch waits for others to join it when no call is in flight. */
export const DEFAULT_BATCH_WINDOW_MS = 20;
/** How long this node's attachments, as EC2 last described them, serve device-name choices. */
export const DEFAULT_ATTACHMENTS_TTL_MS = 5_000;
/** DescribeVolumes' largest page. */
export const PAGE_SIZE = 500;

export interface DescribeVolumesBatcherOptions {
  /** The tag holding a volume's name, looked up by {@link DescribeVolumesBatcher.named}. */
  readonly nameTag: string;
  /** Filters every lookup by name also carries: this cluster's tag, so names of other clusters never match. */
  readonly scope: readonly Filter[];
  readonly windowMs?: number;
  readonly attachmentsTtlMs?: number;
}

/**
 * Merges the DescribeVolumes lookups of one node into as few calls as possible, in the spirit of the EBS CSI
 * driver's batcher: lookups by volume id go together in one call with the `volume-id` filter (not `VolumeIds`,
 * which fails the whole call when one id is gone), lookups by name in one call with the name tag filter holding
 * every name, lookups of an instance's attachments in one call with `attachment.instance-id`. Identical lookups in
 * one batch become one filter value; a batch over {@link MAX_FILTER_VALUES} is split. A call's failure (after the SDK
 * client's own retries) is every waiting lookup's failure.
 *
 * Each kind of lookup has one call in flight at a time: lookups made meanwhile gather and go together in the next
 * call, so a burst of mounts costs a few calls however many there are, and a throttled API is not asked harder.
 *
 * Freshness: a lookup by id or name is answered by a call sent after it was made, never by an earlier answer or a
 * call already in flight, because callers act on it (a volume free to attach, a volume gone) right after their own
 * changes. Only {@link attachedTo} is shared with calls in flight and cached for a few seconds (see there).
 */
export class DescribeVolumesBatcher {
  private readonly byId: DataLoader<string, Volume | undefined>;
  private readonly byName: DataLoader<string, Volume[]>;
  private readonly byInstance: DataLoader<string, Volume[]>;
  /** {@link byInstance}'s answers and calls in flight, by instance id, for a few seconds. */
  private readonly recentAttachments: TTLCache<string, Promise<Volume[]>>;
  /** This node's own attaches, by volume id, kept until every cached answer is younger than they are. */
  private readonly ownAttaches: TTLCache<
    string,
    Required<Pick<VolumeAttachment, 'InstanceId' | 'VolumeId' | 'Device'>>
  >;

  constructor(
    private readonly client: EC2Client,
    private readonly options: DescribeVolumesBatcherOptions,
  ) {
    const windowMs = options.windowMs ?? DEFAULT_BATCH_WINDOW_MS;
    const ttl = options.attachmentsTtlMs ?? DEFAULT_ATTACHMENTS_TTL_MS;
    // Twice the cache's life: an answer made after the attach has replaced every older one by then.
    this.ownAttaches = new TTLCache({ ttl: 2 * ttl, checkAgeOnGet: true });
    this.recentAttachments = new TTLCache({ ttl, checkAgeOnGet: true });
    this.byId = this.loader(windowMs, null, async (ids) => {
      const found = await this.describe([{ Name: 'volume-id', Values: ids }]);
      const byId = new Map(found.map((v) => [v.VolumeId, v]));
      return ids.map((id) => byId.get(id));
    });
    this.byName = this.loader(windowMs, null, async (names) => {
      const found = await this.describe([...options.scope, { Name: `tag:${options.nameTag}`, Values: names }]);
      // Tag filters treat `*` and `?` as wildcards: group by the exact tag value, never by what the filter matched.
      return names.map((name) => found.filter((v) => tagValue(v.Tags, options.nameTag) === name));
    });
    this.byInstance = this.loader(windowMs, this.recentAttachments, async (instanceIds) => {
      const found = await this.describe([{ Name: 'attachment.instance-id', Values: instanceIds }]);
      return instanceIds.map((id) => found.filter((v) => (v.Attachments ?? []).some((a) => a.InstanceId === id)));
    });
  }

  /** The volume with id `volumeId`, or `undefined` when EC2 describes none (deleted long ago, or never was). */
  volume(volumeId: string): Promise<Volume | undefined> {
    return this.byId.load(volumeId);
  }

  /** Every volume in scope whose name tag is exactly `name`, in any state. */
  named(name: string): Promise<Volume[]> {
    return this.byName.load(name);
  }

  /**
   * Every volume attached to `instanceId`, as EC2 described it at most {@link DEFAULT_ATTACHMENTS_TTL_MS} ago (lookups
   * meanwhile share the answer, or the call in flight), plus the attaches this node made since ({@link attached}).
   * Safe for choosing device names and counting against the attach limit only: names being attached are reserved by
   * the caller until EC2 shows them, and EC2 refuses a name another actor took meanwhile (then
   * {@link forgetAttachments}). Never for deciding whether a volume is free to attach: that is {@link named} or
   * {@link volume}.
   */
  async attachedTo(instanceId: string): Promise<Volume[]> {
    // DataLoader answers a cache hit only when its next batch is sent (a window, or a call in flight, away): a
    // cached answer is taken from the cache directly instead.
    const described = await (this.recentAttachments.get(instanceId) ?? this.byInstance.load(instanceId));
    const known = new Set(described.map((v) => v.VolumeId));
    const since = [...this.ownAttaches.values()].filter((a) => a.InstanceId === instanceId && !known.has(a.VolumeId));
    return [
      ...described,
      ...since.map((a) => ({ VolumeId: a.VolumeId, Attachments: [{ ...a, State: 'attaching' as const }] })),
    ];
  }

  /** This node attached `volumeId` to `instanceId` as `device`: counted in {@link attachedTo} from now on. */
  attached(instanceId: string, volumeId: string, device: string): void {
    this.ownAttaches.set(volumeId, { InstanceId: instanceId, VolumeId: volumeId, Device: device });
  }

  /** This node detached `volumeId` from `instanceId`: its device name and attach slot are free again. */
  detached(instanceId: string, volumeId: string): void {
    this.ownAttaches.delete(volumeId);
    this.forgetAttachments(instanceId);
  }

  /** Drops the cached attachments of `instanceId`, so the next {@link attachedTo} asks EC2. */
  forgetAttachments(instanceId: string): void {
    this.byInstance.clear(instanceId);
  }

  /** `cache`: where answers (and calls in flight) serve identical lookups for a while; none when null. */
  private loader<V>(
    windowMs: number,
    cache: TTLCache<string, Promise<V>> | null,
    load: (keys: string[]) => Promise<V[]>,
  ): DataLoader<string, V> {
    const lane = new CallLane(windowMs);
    const batch = async (keys: readonly string[]): Promise<V[]> => {
      // Without a cache DataLoader passes a key once per lookup; EC2 needs each filter value once.
      const distinct = [...new Set(keys)];
      const values = await lane.run(() => load(distinct));
      const byKey = new Map(distinct.map((key, i) => [key, values[i] as V]));
      return keys.map((key) => byKey.get(key) as V);
    };
    return new DataLoader<string, V>(batch, {
      maxBatchSize: MAX_FILTER_VALUES,
      batchScheduleFn: (dispatch) => lane.schedule(dispatch),
      ...(cache ? { cacheMap: cache } : { cache: false }),
    });
  }

  /** One DescribeVolumes, through the SDK paginator should EC2 page a big answer. */
  private async describe(filters: Filter[]): Promise<Volume[]> {
    const volumes: Volume[] = [];
    for await (const page of paginateDescribeVolumes(
      { client: this.client, pageSize: PAGE_SIZE },
      { Filters: filters },
    )) {
      volumes.push(...(page.Volumes ?? []));
    }
    return volumes;
  }
}

/**
 * One call at a time for one kind of lookup. A batch is sent once its window has passed and the previous call has
 * answered; until then DataLoader keeps adding lookups to it.
 */
class CallLane {
  private tail: Promise<void> = Promise.resolve();
  private running: Promise<unknown> = Promise.resolve();

  constructor(private readonly windowMs: number) {}

  /** DataLoader's `batchScheduleFn`: `dispatch` closes the batch and calls the batch function at once. */
  schedule(dispatch: () => void): void {
    const windowPassed = delay(this.windowMs);
    this.tail = this.tail.then(async () => {
      await windowPassed;
      dispatch();
      await this.running.catch(() => undefined);
    });
  }

  run<T>(call: () => Promise<T>): Promise<T> {
    const running = call();
    this.running = running;
    return running;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
