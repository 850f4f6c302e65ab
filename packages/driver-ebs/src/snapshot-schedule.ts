import type { Snapshot, Volume } from '@aws-sdk/client-ec2';
import { NO_VOLUME_EVENTS, eventErrorMessage, type Logger, type VolumeEventSink } from '@stowage/core';
import { VOLUME_NAME_TAG, tagValue } from './cluster-tags.js';
import { EBS_BACKING } from './ebs-backing.js';
import type { EbsSnapshots } from './ebs-snapshots.js';
import { periodicSnapshotsToPrune } from './snapshot-retention.js';

/** What a {@link SnapshotSchedule} snapshots, how often, and how many it keeps. */
export interface SnapshotScheduleOptions {
  /** Minutes between passes; 0 leaves the schedule off (runOnce still works). */
  readonly intervalMinutes: number;
  /** How many completed periodic snapshots of each volume are kept. */
  readonly retain: number;
  /** This cluster's volumes attached to this node now. */
  readonly attachedHere: () => Promise<Volume[]>;
}

/** What one pass did. */
export interface SnapshotRunSummary {
  /** The periodic snapshot completed for each volume, by snapshot id. */
  readonly snapshotted: string[];
  /** The periodic snapshots deleted beyond the retained ones, by snapshot id. */
  readonly pruned: string[];
  /** The names of the volumes whose snapshot or pruning failed (each failure is logged). */
  readonly failed: string[];
}

/**
 * Periodic snapshots of the volumes attached to this node, so a move to another zone only has to transfer what was
 * written since the last one (EBS snapshots are incremental).
 *
 * Each pass snapshots the volumes one at a time, waits for each snapshot to complete and then prunes that volume's
 * older periodic snapshots. One at a time, because EC2 bounds the snapshots in flight (per volume and per account)
 * and a pass should never compete with a move's snapshot for them. Passes never overlap: a tick that finds a pass
 * still running is skipped.
 *
 * Each pass reports to the event sink: `snapshot.taken` once a volume's snapshot completed, `snapshot.pruned` for
 * each old one deleted, `snapshot.failed` when a volume's snapshot could not be taken (a pass stopped by
 * {@link stop} reports nothing for the snapshot it stops waiting for: EC2 still completes it). A failed pruning is
 * logged only: the next pass prunes again.
 */
export class SnapshotSchedule {
  private timer: NodeJS.Timeout | undefined;
  private running: { done: Promise<SnapshotRunSummary>; abort: AbortController } | undefined;

  constructor(
    private readonly snapshots: EbsSnapshots,
    private readonly options: SnapshotScheduleOptions,
    private readonly logger: Logger,
    private readonly events: VolumeEventSink = NO_VOLUME_EVENTS,
  ) {}

  /** Starts the passes, the first one interval after now; does nothing when the interval is 0. */
  start(): void {
    const { intervalMinutes, retain } = this.options;
    if (intervalMinutes <= 0 || this.timer !== undefined) return;
    this.timer = setInterval(() => {
      if (this.running === undefined) void this.runOnce();
    }, intervalMinutes * 60_000);
    // A schedule alone must not keep the process alive.
    this.timer.unref();
    this.logger.info({ intervalMinutes, retain }, 'periodic EBS snapshots on');
  }

  /**
   * Stops the passes and waits for the one in progress. That pass stops waiting for its snapshot and skips the
   * volumes left: a first snapshot can take hours, longer than a plugin may take to stop. What it started
   * completes in EC2 and is pruned by a later pass.
   */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    const running = this.running;
    running?.abort.abort(new Error('the snapshot schedule was stopped'));
    await running?.done;
  }

  /** One pass over the volumes attached here; joins the pass in progress if there is one. Never rejects. */
  runOnce(): Promise<SnapshotRunSummary> {
    if (this.running === undefined) {
      const abort = new AbortController();
      const done = this.pass(abort.signal).finally(() => {
        this.running = undefined;
      });
      this.running = { done, abort };
    }
    return this.running.done;
  }

  private async pass(signal: AbortSignal): Promise<SnapshotRunSummary> {
    const summary: SnapshotRunSummary = { snapshotted: [], pruned: [], failed: [] };
    let volumes: Volume[];
    try {
      volumes = await this.options.attachedHere();
    } catch (error) {
      this.logger.error(
        { err: (error as Error).message },
        'periodic EBS snapshots skipped: cannot list the volumes attached here',
      );
      return summary;
    }
    for (const volume of volumes) {
      if (signal.aborted) break;
      const name = tagValue(volume.Tags, VOLUME_NAME_TAG);
      if (name === undefined) continue;
      let snapshotId: string | undefined;
      try {
        snapshotId = await this.begin(name, volume);
        const taken = await this.snapshots.waitCompleted(
          snapshotId,
          (percent) => this.logger.debug({ volume: name, snapshotId, percent }, 'periodic EBS snapshot progress'),
          signal,
        );
        summary.snapshotted.push(snapshotId);
        this.events.emit({
          type: 'snapshot.taken',
          volume: name,
          backing: EBS_BACKING,
          snapshotId,
          purpose: 'periodic',
          takenAt: takenAt(taken),
        });
      } catch (error) {
        summary.failed.push(name);
        this.logger.error(
          { volume: name, volumeId: volume.VolumeId, snapshotId, err: (error as Error).message },
          'periodic EBS snapshot failed',
        );
        if (!signal.aborted) {
          this.events.emit({
            type: 'snapshot.failed',
            volume: name,
            backing: EBS_BACKING,
            purpose: 'periodic',
            ...(snapshotId !== undefined ? { snapshotId } : {}),
            error: eventErrorMessage(error),
          });
        }
        continue;
      }
      try {
        await this.prune(name, summary.pruned);
      } catch (error) {
        summary.failed.push(name);
        this.logger.error(
          { volume: name, volumeId: volume.VolumeId, err: (error as Error).message },
          'pruning periodic EBS snapshots failed; the next pass prunes again',
        );
      }
    }
    if (summary.snapshotted.length + summary.failed.length > 0)
      this.logger.info({ ...summary }, 'periodic EBS snapshot pass done');
    return summary;
  }

  /** Starts the volume's periodic snapshot, or finds one still pending from an earlier pass; answers its id. */
  private async begin(name: string, volume: Volume): Promise<string> {
    const earlier = await this.snapshots.forVolume(name, {
      purpose: 'periodic',
      ...(volume.VolumeId ? { sourceVolumeId: volume.VolumeId } : {}),
    });
    const snapshot = earlier.find((s) => s.State === 'pending') ?? (await this.snapshots.create(volume, 'periodic'));
    return snapshot.SnapshotId as string;
  }

  /** Deletes the volume's periodic snapshots beyond the retained ones, adding each to `pruned` once gone. */
  private async prune(name: string, pruned: string[]): Promise<void> {
    const surplus = periodicSnapshotsToPrune(
      await this.snapshots.forVolume(name, { purpose: 'periodic' }),
      this.options.retain,
    );
    for (const { SnapshotId } of surplus) {
      const snapshotId = SnapshotId as string;
      await this.snapshots.delete(snapshotId);
      pruned.push(snapshotId);
      this.events.emit({ type: 'snapshot.pruned', volume: name, backing: EBS_BACKING, snapshotId });
    }
  }
}

/** The moment a completed snapshot holds the data of: its start, when EBS takes the point-in-time copy. */
function takenAt(snapshot: Snapshot): string {
  return (snapshot.StartTime ?? new Date()).toISOString();
}
