import { randomUUID } from 'node:crypto';
import {
  CreateTagsCommand,
  CreateVolumeCommand,
  DeleteTagsCommand,
  type EC2Client,
  type Snapshot,
  type Tag,
  type Volume,
  type VolumeType,
} from '@aws-sdk/client-ec2';
import { StowageError, type Logger } from '@stowage/core';
import { clientToken } from './client-token.js';
import { ebsFailpoint } from './ebs-failpoints.js';
import { progressOf, type EbsSnapshots } from './ebs-snapshots.js';
import type { EbsVolumes } from './ebs-volumes.js';
import {
  MOVE_COMMIT_TAG,
  MOVE_ID_TAG,
  MOVE_TO_TAG,
  MOVED_FROM_TAG,
  carriedTags,
  fenceOf,
  moveClaimOf,
  moveClaimTags,
  moveCommitTag,
  moveWinner,
  movedFromOf,
  movedFromTag,
  type MoveClaim,
} from './move-tags.js';
import type { ReportProgress } from './move-tracker.js';
import { tagValue } from './cluster-tags.js';

/** Volume types whose IOPS (and, for gp3, throughput) a copy must carry over. */
const PROVISIONED_IOPS = new Set(['io1', 'io2', 'gp3']);

/**
 * Moves a relocatable volume to another availability zone, the way Cloudstor did: snapshot the volume, make a
 * volume from the snapshot in the new zone with the same tags, delete the old volume and the snapshot.
 *
 * Every step is found again in EC2 by its tags before it is redone, so a move stopped anywhere (a crash, a plugin
 * restart, a Mount that gave up waiting) resumes from where it was, and never leaves two volumes answering for
 * one name: the new volume carries `stowage:moved-from` and does not answer while its source exists.
 *
 * Deleting the source is the one step that cannot be undone, and EC2 cannot make it conditional on the claim still
 * being this move's. So several moves of one source (nodes of two zones wanting it at once, one of them stalled) are
 * settled in the tags, with the claim as the arbiter: each claim raises the source's fence; a move commits its copy
 * (`stowage:move-commit`) only after finding the claim its own, reads the claim once more right before
 * DeleteVolume, and once the source is gone only the committed copy with the highest fence answers (see
 * {@link moveWinner}); every other move deletes its own copy and fails its Mount with InUse. A move whose copy is
 * not committed never deleted the source, so it never wins. What each party sees, whatever the interleaving:
 * - a second zone claims and snapshots the source between this move's last read and its delete: this move deletes
 *   the source and wins; the other move finds the source gone with its copy uncommitted, and yields;
 * - both moves committed (one stalled between its read and its delete for as long as the other took to copy): the
 *   later claim wins, whichever deleted the source, and the earlier move yields at its next step;
 * - a node of the source's zone takes the volume back (the claim goes): the move's read fails, or its delete fails
 *   because the volume is attached; it deletes its copy. Taking a volume back also never deletes what a move made
 *   until the volume is attached, after which EC2 refuses every DeleteVolume of it.
 * - a crash anywhere: the next Mount resumes the move (its claim, snapshot and copy are found by their tags), or
 *   finishes it (the source is gone and its committed copy answers), or a newer claim supersedes it.
 * What this cannot rule out: a node taking the volume back, writing to it and letting it go again, all between a
 * move's last read of the claim and its DeleteVolume one API round trip later (EC2 takes seconds to attach and
 * detach), or during a stall of the mover's process at that very point.
 */
export class CrossZoneMove {
  constructor(
    private readonly client: EC2Client,
    private readonly volumes: EbsVolumes,
    private readonly snapshots: EbsSnapshots,
    private readonly logger: Logger,
    /** How long the copy may take to become available before the move fails (it is resumed by the next mount). */
    private readonly copyWaitMs = 300_000,
  ) {}

  /** Moves detached volume `source`, named `name`, to `zone`; resolves with the volume in `zone`, ready to attach. */
  async move(name: string, source: Volume, zone: string, report: ReportProgress, signal: AbortSignal): Promise<Volume> {
    const sourceId = source.VolumeId as string;
    const claim = await this.claim(name, source, zone);
    ebsFailpoint('ebs:move:after-claim');
    this.logger.info(
      { volume: name, from: source.AvailabilityZone, to: zone, sourceId, moveId: claim.moveId, fence: claim.fence },
      'moving EBS volume across zones',
    );

    let copy: Volume;
    try {
      signal.throwIfAborted();
      const snapshot = await this.transferSnapshot(name, source, claim, report, signal);
      ebsFailpoint('ebs:move:after-snapshot');
      report({ phase: 'volume', snapshotId: snapshot.SnapshotId as string, percent: 100 });

      signal.throwIfAborted();
      const made = await this.copyIn(name, source, snapshot, claim);
      await this.volumes.waitAvailable(made.VolumeId as string, `copy of volume "${name}" in ${zone}`, {
        boundMs: this.copyWaitMs,
        signal,
      });
      copy = await this.current(made.VolumeId as string, 'made');
    } catch (error) {
      throw await this.explainFailure(name, sourceId, claim, error, signal);
    }
    ebsFailpoint('ebs:move:after-copy');

    signal.throwIfAborted();
    report({ phase: 'cleanup' });
    const committed = await this.retireSource(name, sourceId, copy, claim);
    ebsFailpoint('ebs:move:after-source-deleted');
    return this.finish(name, committed);
  }

  /**
   * Finishes a move whose source is gone, if its copy is the one that answers for the name ({@link moveWinner}):
   * deletes the copies of losing moves and the transfer snapshots, then clears the copy's move tags. A copy that is
   * not the winner is deleted, and the Mount fails with InUse naming where the volume went.
   */
  async finish(name: string, copy: Volume): Promise<Volume> {
    const from = movedFromOf(copy);
    const copyId = copy.VolumeId as string;
    if (from === undefined) return copy;
    const named = await this.volumes.findAll(name);
    const now = named.find((v) => v.VolumeId === copyId);
    // Finished meanwhile by another node of this zone running this same move.
    if (now !== undefined && movedFromOf(now) === undefined) return now;
    if (now === undefined) {
      throw StowageError.inUse(
        `volume "${name}" was moved to another zone by another node meanwhile (its copy ${copyId} is gone); retry the mount`,
      );
    }
    if (named.some((v) => v.VolumeId === from.sourceVolumeId)) {
      throw StowageError.backendFailure(
        `EBS volume ${copyId} of "${name}" is a copy whose source ${from.sourceVolumeId} still exists; retry the mount`,
      );
    }
    const winner = moveWinner(from.sourceVolumeId, named);
    if (winner?.VolumeId !== copyId) return this.yieldTo(name, copy, winner);
    // The losers first: once this copy's tags are cleared it no longer takes part in the choice, and a loser left
    // behind would answer for the name in its place.
    for (const other of named) {
      if (other.VolumeId === copyId || movedFromOf(other)?.sourceVolumeId !== from.sourceVolumeId) continue;
      try {
        await this.volumes.delete(other.VolumeId as string);
      } catch (error) {
        // Attached: another node took that copy for the name; it holds what was written since.
        if (StowageError.is(error) && error.kind === 'InUse') return this.yieldTo(name, copy, other);
        throw error;
      }
      this.logger.warn(
        { volume: name, volumeId: other.VolumeId, source: from.sourceVolumeId },
        'deleted the copy of a losing move',
      );
    }
    for (const snapshot of await this.snapshots.forVolume(name, {
      purpose: 'move',
      sourceVolumeId: from.sourceVolumeId,
    })) {
      await this.snapshots.delete(snapshot.SnapshotId as string);
    }
    try {
      await this.client.send(
        new DeleteTagsCommand({ Resources: [copyId], Tags: [{ Key: MOVED_FROM_TAG }, { Key: MOVE_COMMIT_TAG }] }),
      );
    } catch (error) {
      throw StowageError.wrap(error, `cannot finish moving volume "${name}" (${copyId})`);
    }
    this.logger.info(
      { volume: name, volumeId: copyId, zone: copy.AvailabilityZone, from: from.sourceVolumeId },
      'moved EBS volume across zones',
    );
    return { ...copy, Tags: (copy.Tags ?? []).filter((t) => t.Key !== MOVED_FROM_TAG && t.Key !== MOVE_COMMIT_TAG) };
  }

  /**
   * Takes a volume back from a move towards another zone that no longer is wanted (its task runs in the volume's
   * own zone again): the claim goes, so the mover's last check fails and it deletes its own copy.
   */
  async abandon(name: string, source: Volume): Promise<Volume> {
    const claim = moveClaimOf(source);
    if (claim === undefined) return source;
    await this.tag(source.VolumeId as string, { remove: MOVE_TO_TAG }, name);
    this.logger.warn(
      { volume: name, volumeId: source.VolumeId, abandoned: claim },
      'took back a volume from a move to another zone',
    );
    return { ...source, Tags: (source.Tags ?? []).filter((t) => t.Key !== MOVE_TO_TAG) };
  }

  /**
   * Deletes what abandoned moves of `source` left (copies in other zones, transfer snapshots) once `source` is
   * attached again: an attached volume cannot be deleted, so no mover can still retire it, and its copies can
   * never answer for the name.
   */
  async sweepAbandoned(name: string, source: Volume): Promise<void> {
    const sourceId = source.VolumeId as string;
    for (const copy of await this.volumes.findAll(name)) {
      if (movedFromOf(copy)?.sourceVolumeId !== sourceId || copy.Attachments?.some((a) => a.State !== 'detached'))
        continue;
      await this.volumes.delete(copy.VolumeId as string);
      this.logger.warn(
        { volume: name, volumeId: copy.VolumeId, source: sourceId },
        'deleted the copy left by an abandoned move',
      );
    }
    for (const snapshot of await this.snapshots.forVolume(name, { purpose: 'move', sourceVolumeId: sourceId })) {
      await this.snapshots.delete(snapshot.SnapshotId as string);
      this.logger.warn(
        { volume: name, snapshotId: snapshot.SnapshotId, source: sourceId },
        'deleted the transfer snapshot of an abandoned move',
      );
    }
  }

  /**
   * Claims `source` for a move to `zone` under a fence above every earlier claim's: joins the move already claimed to
   * that zone, else starts a new one. Two nodes claiming at once: the claim EC2 kept is the move; a node of another
   * zone than the kept claim's fails with InUse (its task is retried, and its next claim supersedes this one).
   */
  private async claim(name: string, source: Volume, zone: string): Promise<MoveClaim> {
    const existing = moveClaimOf(source);
    if (existing?.zone === zone) return existing;
    const sourceId = source.VolumeId as string;
    const wanted: MoveClaim = { zone, moveId: randomUUID().slice(0, 8), fence: fenceOf(source) + 1 };
    await this.tag(sourceId, { add: moveClaimTags(wanted) }, name);
    const claimed = await this.current(sourceId, 'claimed');
    const kept = moveClaimOf(claimed);
    if (kept === undefined)
      throw StowageError.backendFailure(`the move claim on EBS volume ${sourceId} vanished; retry`);
    if (kept.zone !== zone) {
      throw StowageError.inUse(`volume "${name}" is being moved to ${kept.zone} by another node; retry the mount`);
    }
    // A node of the source's zone attached it before reading this claim: it will write to it. No move may go on
    // from a claim made on an attached volume (that node removes the claim once it sees it, see
    // EbsProvider.mount), nor take a snapshot that would miss those writes.
    const holder = claimed.Attachments?.find((a) => a.State !== 'detached')?.InstanceId;
    if (holder !== undefined) {
      throw StowageError.inUse(
        `volume "${name}" (${sourceId}) was attached to instance ${holder} while its move to ${zone} began; retry the mount`,
      );
    }
    return kept;
  }

  private async transferSnapshot(
    name: string,
    source: Volume,
    claim: MoveClaim,
    report: ReportProgress,
    signal: AbortSignal,
  ): Promise<Snapshot> {
    const sourceId = source.VolumeId as string;
    const taken = (await this.snapshots.forVolume(name, { purpose: 'move', sourceVolumeId: sourceId })).find(
      (s) => tagValue(s.Tags, MOVE_ID_TAG) === claim.moveId && s.State !== 'error',
    );
    const snapshot =
      taken ?? (await this.snapshots.create(source, 'move', [{ Key: MOVE_ID_TAG, Value: claim.moveId }]));
    const snapshotId = snapshot.SnapshotId as string;
    report({ phase: 'snapshot', snapshotId, percent: progressOf(snapshot) ?? 0 });
    return this.snapshots.waitCompleted(snapshotId, (percent) => report({ percent }), signal);
  }

  /** The copy of `source` in the claimed zone: found by its `moved-from` tag, or made from the transfer snapshot. */
  private async copyIn(name: string, source: Volume, snapshot: Snapshot, claim: MoveClaim): Promise<Volume> {
    const sourceId = source.VolumeId as string;
    const mine = (v: Volume) => {
      const from = movedFromOf(v);
      return from?.sourceVolumeId === sourceId && from.moveId === claim.moveId && v.AvailabilityZone === claim.zone;
    };
    const made = (await this.volumes.findAll(name)).find(mine);
    if (made) return made;
    const type = source.VolumeType;
    try {
      return await this.client.send(
        new CreateVolumeCommand({
          AvailabilityZone: claim.zone,
          SnapshotId: snapshot.SnapshotId,
          Size: source.Size,
          VolumeType: type as VolumeType,
          ...(type && PROVISIONED_IOPS.has(type) && source.Iops ? { Iops: source.Iops } : {}),
          ...(type === 'gp3' && source.Throughput ? { Throughput: source.Throughput } : {}),
          ...(source.Encrypted ? { Encrypted: true, ...(source.KmsKeyId ? { KmsKeyId: source.KmsKeyId } : {}) } : {}),
          // One copy per move even if two nodes of the zone run it at once (where EC2 honours tokens).
          ClientToken: clientToken(claim.moveId, `${sourceId}>${claim.zone}`, 0),
          TagSpecifications: [
            {
              ResourceType: 'volume',
              Tags: [
                ...carriedTags(source),
                movedFromTag({ sourceVolumeId: sourceId, moveId: claim.moveId, fence: claim.fence }),
              ],
            },
          ],
        }),
      );
    } catch (error) {
      throw StowageError.wrap(
        error,
        `cannot make the copy of volume "${name}" in ${claim.zone} from ${snapshot.SnapshotId}`,
      );
    }
  }

  /**
   * Deletes the source once the copy is ready, if the claim is still this move's: commits the copy, deletes the
   * copies of earlier moves of the source, reads the claim again and deletes the source. Answers with the committed
   * copy once the source is gone, whoever deleted it (which of the committed copies then wins is
   * {@link finish}'s to settle). If the move lost its claim (the volume was taken back, or a later move claimed it),
   * or the source went while the copy was not committed, the copy is this move's to delete and the source stays.
   */
  private async retireSource(name: string, sourceId: string, made: Volume, claim: MoveClaim): Promise<Volume> {
    let copy = made;
    const source = await this.volumes.describeIfExists(sourceId);
    if (source !== undefined) {
      await this.assertClaimed(name, source, copy, claim);
      if (!movedFromOf(copy)?.committed) {
        await this.tag(copy.VolumeId as string, { add: [moveCommitTag(claim.moveId)] }, name);
        copy = { ...copy, Tags: [...(copy.Tags ?? []), moveCommitTag(claim.moveId)] };
        ebsFailpoint('ebs:move:after-commit');
      }
      // Copies of earlier moves of this source can never answer once this one deletes it. (A copy of a later move
      // cannot exist while the claim is this move's, and if the claim changes the read below fails.)
      for (const stale of await this.volumes.findAll(name)) {
        const from = movedFromOf(stale);
        if (from?.sourceVolumeId === sourceId && from.moveId !== claim.moveId && from.fence < claim.fence) {
          this.logger.warn(
            { volume: name, volumeId: stale.VolumeId, moveId: from.moveId },
            'deleting the copy left by an earlier move',
          );
          await this.volumes.delete(stale.VolumeId as string);
        }
      }
      // Read again right before the delete: one API round trip is all that separates the check from the delete.
      const again = await this.volumes.describeIfExists(sourceId);
      if (again !== undefined) {
        await this.assertClaimed(name, again, copy, claim);
        try {
          await this.volumes.delete(sourceId);
        } catch (error) {
          if (StowageError.is(error) && error.kind === 'InUse') {
            await this.volumes.delete(copy.VolumeId as string);
            throw StowageError.inUse(
              `volume "${name}" was attached elsewhere while it moved to ${claim.zone}; retry the mount`,
              error,
            );
          }
          throw error;
        }
      }
    }
    if (!movedFromOf(copy)?.committed) {
      // Another node of this zone running this same move may have committed the copy and deleted the source, or even
      // finished the move (the copy's move tags are gone then).
      const now = await this.volumes.describeIfExists(copy.VolumeId as string);
      const from = now && movedFromOf(now);
      if (now !== undefined && (from === undefined || from.committed)) return now;
      // Gone, and not by this move: another move of the source deleted it (or someone did by hand).
      return this.yieldTo(name, copy, undefined);
    }
    return copy;
  }

  /** Deletes `source`'s copy `copy` and fails with InUse if the source is attached or the claim is not `claim` any more. */
  private async assertClaimed(name: string, source: Volume, copy: Volume, claim: MoveClaim): Promise<void> {
    const current = moveClaimOf(source);
    const attached = source.Attachments?.some((a) => a.State !== 'detached');
    if (!attached && current?.moveId === claim.moveId) return;
    await this.volumes.delete(copy.VolumeId as string);
    const why = attached
      ? 'it is attached elsewhere'
      : current
        ? `another node is moving it to ${current.zone}`
        : 'a node of its zone took it back';
    throw StowageError.inUse(
      `volume "${name}" was taken back from its move to ${claim.zone} (${why}); retry the mount`,
    );
  }

  /**
   * Why a step of this move failed, as the user should read it: when the source is gone, another move of it won and
   * deleted it (and its transfer snapshots with it); this move's copy, if made, goes.
   */
  private async explainFailure(
    name: string,
    sourceId: string,
    claim: MoveClaim,
    error: unknown,
    signal: AbortSignal,
  ): Promise<unknown> {
    if (signal.aborted) return error;
    const source = await this.volumes.describeIfExists(sourceId).catch(() => null);
    if (source === null) return error;
    if (source !== undefined) {
      // Still there, but taken back or claimed by another move: that node deleted what this move had made.
      const current = moveClaimOf(source);
      const attached = source.Attachments?.some((a) => a.State !== 'detached');
      if (!attached && current?.moveId === claim.moveId) return error;
      return StowageError.inUse(
        `volume "${name}" was taken back from its move to ${claim.zone}; retry the mount`,
        error,
      );
    }
    // Not a committed copy: a node of this zone running this same move may have committed it and deleted the source.
    const mine = (await this.volumes.findAll(name).catch(() => [])).find((v) => {
      const from = movedFromOf(v);
      return from?.moveId === claim.moveId && !from.committed;
    });
    if (mine !== undefined) await this.volumes.delete(mine.VolumeId as string).catch(() => undefined);
    return StowageError.inUse(
      `volume "${name}" was moved to another zone by another node meanwhile; retry the mount`,
      error,
    );
  }

  /** This move lost to `winner` (or to a move not seen): its copy goes, and the Mount fails with InUse. */
  private async yieldTo(name: string, copy: Volume, winner: Volume | undefined): Promise<never> {
    await this.volumes.delete(copy.VolumeId as string).catch((error: unknown) => {
      this.logger.warn(
        { volume: name, volumeId: copy.VolumeId, err: (error as Error).message },
        'could not delete the copy of a losing move; remove deletes it',
      );
    });
    this.logger.warn(
      { volume: name, volumeId: copy.VolumeId, winner: winner?.VolumeId },
      'another move of this volume won; deleted this copy',
    );
    throw StowageError.inUse(
      `volume "${name}" was moved to ${winner?.AvailabilityZone ?? 'another zone'} by another node meanwhile; retry the mount`,
    );
  }

  private async tag(volumeId: string, change: { add?: Tag[]; remove?: string }, name: string): Promise<void> {
    try {
      if (change.add) await this.client.send(new CreateTagsCommand({ Resources: [volumeId], Tags: change.add }));
      if (change.remove)
        await this.client.send(new DeleteTagsCommand({ Resources: [volumeId], Tags: [{ Key: change.remove }] }));
    } catch (error) {
      throw StowageError.wrap(error, `cannot tag EBS volume ${volumeId} of "${name}" for its move`);
    }
  }

  private async current(volumeId: string, what: string): Promise<Volume> {
    const volume = await this.volumes.describeIfExists(volumeId);
    if (volume === undefined)
      throw StowageError.backendFailure(`EBS volume ${volumeId} disappeared after it was ${what}; retry`);
    return volume;
  }
}
