import {
  CreateSnapshotCommand,
  DeleteSnapshotCommand,
  paginateDescribeSnapshots,
  waitForSnapshotCompleted,
  type DescribeSnapshotsCommandOutput,
  type EC2Client,
  type Filter,
  type Snapshot,
  type Tag,
  type Volume,
} from '@aws-sdk/client-ec2';
import { StowageError, type Logger } from '@stowage/core';
import { CLUSTER_TAG, VOLUME_NAME_TAG, tagValue } from './cluster-tags.js';

/** Why Stowage took a snapshot: on a schedule, or to carry a volume to another zone. */
export type SnapshotPurpose = 'periodic' | 'move';

/** The tag marking a snapshot as Stowage's; its value is the {@link SnapshotPurpose}. */
export const SNAPSHOT_PURPOSE_TAG = 'stowage:snapshot';
/** The tag naming the EBS volume id a snapshot was taken of (EC2's own VolumeId goes stale once that volume is gone). */
export const SOURCE_VOLUME_TAG = 'stowage:source-volume';

const PURPOSES: ReadonlySet<string> = new Set<SnapshotPurpose>(['periodic', 'move']);

/** DescribeSnapshots' largest page. */
export const SNAPSHOT_PAGE_SIZE = 1000;

/** How {@link EbsSnapshots.waitCompleted} polls. */
export interface SnapshotTiming {
  readonly minDelayMs?: number;
  readonly maxDelayMs?: number;
  /** How long a snapshot may take to complete before waiting gives up. */
  readonly completeSeconds?: number;
}

/**
 * A first snapshot copies every written block and may take hours; later ones only the changes. The poll is quicker
 * than the SDK waiter's default (15 to 120 s) because a move reports the percentage to a user who is waiting.
 */
export const DEFAULT_SNAPSHOT_TIMING: Required<SnapshotTiming> = {
  minDelayMs: 2_000,
  maxDelayMs: 30_000,
  completeSeconds: 6 * 3600,
};

/**
 * The snapshots Stowage takes of this cluster's EBS volumes, found by their tags like the volumes themselves.
 * Retries of throttled calls are the SDK client's; waiting is the SDK snapshot waiter's.
 */
export class EbsSnapshots {
  private readonly timing: Required<SnapshotTiming>;

  constructor(
    private readonly client: EC2Client,
    private readonly stackId: string,
    private readonly logger: Logger,
    timing: SnapshotTiming = {},
  ) {
    this.timing = { ...DEFAULT_SNAPSHOT_TIMING, ...timing };
  }

  /**
   * CreateSnapshot of `volume`, tagged with this cluster, the volume's Stowage name, its volume id and `purpose`,
   * plus `extraTags`. Answers at once with the snapshot `pending`: see {@link waitCompleted}.
   */
  async create(volume: Volume, purpose: SnapshotPurpose, extraTags: readonly Tag[] = []): Promise<Snapshot> {
    const volumeId = volume.VolumeId;
    const name = tagValue(volume.Tags, VOLUME_NAME_TAG);
    if (volumeId === undefined || name === undefined) {
      throw StowageError.invalidArgument(
        `cannot snapshot EBS volume ${volumeId ?? '(no id)'}: it carries no ${VOLUME_NAME_TAG} tag, so it is not a Stowage volume`,
      );
    }
    const tags: Tag[] = [
      { Key: CLUSTER_TAG, Value: this.stackId },
      { Key: VOLUME_NAME_TAG, Value: name },
      { Key: SOURCE_VOLUME_TAG, Value: volumeId },
      { Key: SNAPSHOT_PURPOSE_TAG, Value: purpose },
      { Key: 'Name', Value: name },
      ...extraTags,
    ];
    try {
      const { $metadata: _, ...snapshot } = await this.client.send(
        new CreateSnapshotCommand({
          VolumeId: volumeId,
          Description: `Stowage ${purpose} snapshot of volume "${name}" (${volumeId})`,
          TagSpecifications: [{ ResourceType: 'snapshot', Tags: tags }],
        }),
      );
      this.logger.info({ volume: name, volumeId, snapshotId: snapshot.SnapshotId, purpose }, 'started EBS snapshot');
      return snapshot;
    } catch (error) {
      throw StowageError.wrap(error, `cannot snapshot EBS volume ${volumeId} of "${name}"`);
    }
  }

  /**
   * This cluster's snapshots of volume `name`, newest first, optionally of one purpose or one source volume.
   * Snapshots in state `error` are included: callers decide what to do with them.
   */
  async forVolume(
    name: string,
    filter: { purpose?: SnapshotPurpose; sourceVolumeId?: string } = {},
  ): Promise<Snapshot[]> {
    const filters: Filter[] = [
      { Name: `tag:${CLUSTER_TAG}`, Values: [this.stackId] },
      { Name: `tag:${VOLUME_NAME_TAG}`, Values: [name] },
      filter.purpose
        ? { Name: `tag:${SNAPSHOT_PURPOSE_TAG}`, Values: [filter.purpose] }
        : { Name: 'tag-key', Values: [SNAPSHOT_PURPOSE_TAG] },
      ...(filter.sourceVolumeId ? [{ Name: `tag:${SOURCE_VOLUME_TAG}`, Values: [filter.sourceVolumeId] }] : []),
    ];
    const snapshots: Snapshot[] = [];
    try {
      const pages = paginateDescribeSnapshots(
        { client: this.client, pageSize: SNAPSHOT_PAGE_SIZE },
        { OwnerIds: ['self'], Filters: filters },
      );
      for await (const page of pages) snapshots.push(...(page.Snapshots ?? []));
    } catch (error) {
      throw StowageError.wrap(error, `cannot list the EBS snapshots of "${name}"`);
    }
    // Tag filters treat `*` and `?` as wildcards, and a snapshot tagged by hand without a purpose is not ours: check exactly.
    return snapshots
      .filter((s) => {
        const purpose = tagValue(s.Tags, SNAPSHOT_PURPOSE_TAG);
        return (
          tagValue(s.Tags, CLUSTER_TAG) === this.stackId &&
          tagValue(s.Tags, VOLUME_NAME_TAG) === name &&
          purpose !== undefined &&
          PURPOSES.has(purpose) &&
          (filter.purpose === undefined || purpose === filter.purpose) &&
          (filter.sourceVolumeId === undefined || tagValue(s.Tags, SOURCE_VOLUME_TAG) === filter.sourceVolumeId)
        );
      })
      .sort(newestFirst);
  }

  /**
   * Waits until snapshot `snapshotId` is `completed`, calling `onProgress` with its percentage whenever that changes.
   * A snapshot in state `error`, or still not complete after the configured bound, is a BackendFailure; so is
   * `signal` aborting, which stops the waiting only (the snapshot goes on in EC2).
   */
  async waitCompleted(
    snapshotId: string,
    onProgress?: (percent: number) => void,
    signal?: AbortSignal,
  ): Promise<Snapshot> {
    let last: Snapshot | undefined;
    let reported: number | undefined;
    const observe = (output: DescribeSnapshotsCommandOutput): void => {
      last = output.Snapshots?.find((s) => s.SnapshotId === snapshotId) ?? last;
      const percent = last && progressOf(last);
      if (percent === undefined || percent === reported) return;
      reported = percent;
      onProgress?.(percent);
    };
    const { minDelayMs, maxDelayMs, completeSeconds } = this.timing;
    let result: Awaited<ReturnType<typeof waitForSnapshotCompleted>>;
    try {
      result = await waitForSnapshotCompleted(
        {
          client: observing(this.client, observe),
          minDelay: minDelayMs / 1000,
          maxDelay: maxDelayMs / 1000,
          maxWaitTime: completeSeconds,
          ...(signal ? { abortSignal: signal } : {}),
        },
        { SnapshotIds: [snapshotId] },
      );
    } catch (error) {
      throw StowageError.wrap(error, `cannot wait for EBS snapshot ${snapshotId}`);
    }
    switch (result.state) {
      case 'SUCCESS':
        return last ?? { SnapshotId: snapshotId, State: 'completed' };
      case 'FAILURE':
        throw StowageError.backendFailure(
          `EBS snapshot ${snapshotId} failed: ${last?.StateMessage || 'EC2 gave no reason'}; it holds no usable copy of the volume`,
        );
      case 'ABORTED':
        throw StowageError.backendFailure(
          `stopped waiting for EBS snapshot ${snapshotId} (${reported ?? 0}% done); it goes on in EC2`,
          signal?.reason,
        );
      default:
        throw StowageError.backendFailure(
          `EBS snapshot ${snapshotId} did not complete within ${completeSeconds} s (${reported ?? 0}% done); it goes on in EC2`,
        );
    }
  }

  /** DeleteSnapshot; a snapshot already gone counts as deleted. */
  async delete(snapshotId: string): Promise<void> {
    try {
      await this.client.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }));
    } catch (error) {
      if ((error as Error).name === 'InvalidSnapshot.NotFound') return;
      throw StowageError.wrap(error, `cannot delete EBS snapshot ${snapshotId}`);
    }
  }

  /** Deletes every Stowage snapshot of volume `name`, of any purpose, and answers how many. Tries them all before failing. */
  async deleteAllFor(name: string): Promise<number> {
    const snapshots = await this.forVolume(name);
    const failures: string[] = [];
    for (const { SnapshotId } of snapshots) {
      try {
        await this.delete(SnapshotId as string);
      } catch (error) {
        failures.push((error as Error).message);
      }
    }
    if (failures.length > 0) {
      throw StowageError.backendFailure(
        `deleted ${snapshots.length - failures.length} of ${snapshots.length} EBS snapshots of "${name}"; ${failures.join('; ')}`,
      );
    }
    if (snapshots.length > 0)
      this.logger.info({ volume: name, snapshotIds: snapshots.map((s) => s.SnapshotId) }, 'deleted EBS snapshots');
    return snapshots.length;
  }
}

/** A snapshot's `Progress` ("42%") as a number; a completed snapshot is 100 even where the API leaves Progress out. */
export function progressOf(snapshot: Snapshot): number | undefined {
  const match = /^\s*(\d{1,3})(?:\.\d+)?\s*%?\s*$/.exec(snapshot.Progress ?? '');
  if (match) return Math.min(100, Number(match[1]));
  return snapshot.State === 'completed' ? 100 : undefined;
}

/** Newest first; the snapshot id breaks ties so every node sees one order. */
export function newestFirst(a: Snapshot, b: Snapshot): number {
  const byTime = (b.StartTime?.getTime() ?? 0) - (a.StartTime?.getTime() ?? 0);
  if (byTime !== 0) return byTime;
  return (b.SnapshotId ?? '').localeCompare(a.SnapshotId ?? '');
}

/**
 * `client` as the SDK waiter sees it, with each DescribeSnapshots answer shown to `observe` on its way: the waiter
 * keeps the pacing, the deadline and the abort, and the caller still sees the progress of every poll.
 */
function observing(client: EC2Client, observe: (output: DescribeSnapshotsCommandOutput) => void): EC2Client {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver) as unknown;
      return async (command: Parameters<EC2Client['send']>[0]) => {
        const output = (await target.send(command)) as DescribeSnapshotsCommandOutput;
        observe(output);
        return output;
      };
    },
  });
}
