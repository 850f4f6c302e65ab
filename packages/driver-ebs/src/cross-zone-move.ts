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
  MOVE_ID_TAG,
  MOVE_TO_TAG,
  MOVED_FROM_TAG,
  carriedTags,
  moveClaimOf,
  moveClaimTag,
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
 * What is never done: delete the source unless it is detached, still claimed by this move, and the copy exists and
 * is available. EC2 refuses to delete an attached volume, which closes the race with a node that takes the volume
 * back between that check and the delete.
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
    const claim = await this.claim(source, zone);
    ebsFailpoint('ebs:move:after-claim');
    this.logger.info({ volume: name, from: source.AvailabilityZone, to: zone, sourceId, moveId: claim.moveId }, 'moving EBS volume across zones');

    signal.throwIfAborted();
    const snapshot = await this.transferSnapshot(name, source, claim, report, signal);
    ebsFailpoint('ebs:move:after-snapshot');
    report({ phase: 'volume', snapshotId: snapshot.SnapshotId as string, percent: 100 });

    signal.throwIfAborted();
    const made = await this.copyIn(name, source, snapshot, claim);
    await this.volumes.waitAvailable(made.VolumeId as string, `copy of volume "${name}" in ${zone}`, { boundMs: this.copyWaitMs, signal });
    const copy = await this.current(made.VolumeId as string, 'made');
    ebsFailpoint('ebs:move:after-copy');

    signal.throwIfAborted();
    report({ phase: 'cleanup' });
    await this.retireSource(name, sourceId, copy, claim);
    ebsFailpoint('ebs:move:after-source-deleted');
    return this.finish(name, copy);
  }

  /**
   * Finishes a move whose source is gone but whose last steps (deleting the transfer snapshots, clearing the
   * `moved-from` tag) did not run: `volume` is the copy, answering for its name.
   */
  async finish(name: string, copy: Volume): Promise<Volume> {
    const from = movedFromOf(copy);
    const copyId = copy.VolumeId as string;
    if (from === undefined) return copy;
    for (const snapshot of await this.snapshots.forVolume(name, { purpose: 'move', sourceVolumeId: from.sourceVolumeId })) {
      await this.snapshots.delete(snapshot.SnapshotId as string);
    }
    try {
      await this.client.send(new DeleteTagsCommand({ Resources: [copyId], Tags: [{ Key: MOVED_FROM_TAG }] }));
    } catch (error) {
      throw StowageError.wrap(error, `cannot finish moving volume "${name}" (${copyId})`);
    }
    this.logger.info({ volume: name, volumeId: copyId, zone: copy.AvailabilityZone, from: from.sourceVolumeId }, 'moved EBS volume across zones');
    return { ...copy, Tags: (copy.Tags ?? []).filter((t) => t.Key !== MOVED_FROM_TAG) };
  }

  /**
   * Takes a volume back from a move towards another zone that no longer is wanted (its task runs in the volume's
   * own zone again): the claim goes, so the mover's last check fails and it deletes its own copy.
   */
  async abandon(name: string, source: Volume): Promise<Volume> {
    const claim = moveClaimOf(source);
    if (claim === undefined) return source;
    await this.tag(source.VolumeId as string, { remove: MOVE_TO_TAG }, name);
    this.logger.warn({ volume: name, volumeId: source.VolumeId, abandoned: claim }, 'took back a volume from a move to another zone');
    return { ...source, Tags: (source.Tags ?? []).filter((t) => t.Key !== MOVE_TO_TAG) };
  }

  /**
   * Deletes what abandoned moves of `source` left (copies in other zones, transfer snapshots) once `source` is
   * attached again: an attached volume cannot be deleted, so no mover can still retire it, and its copies can
   * never answer for the name. `named` is every volume carrying the name, as just listed.
   */
  async sweepAbandoned(name: string, source: Volume, named: readonly Volume[]): Promise<void> {
    const sourceId = source.VolumeId as string;
    for (const copy of named) {
      if (movedFromOf(copy)?.sourceVolumeId !== sourceId || copy.Attachments?.some((a) => a.State !== 'detached')) continue;
      await this.volumes.delete(copy.VolumeId as string);
      this.logger.warn({ volume: name, volumeId: copy.VolumeId, source: sourceId }, 'deleted the copy left by an abandoned move');
    }
    for (const snapshot of await this.snapshots.forVolume(name, { purpose: 'move', sourceVolumeId: sourceId })) {
      await this.snapshots.delete(snapshot.SnapshotId as string);
      this.logger.warn({ volume: name, snapshotId: snapshot.SnapshotId, source: sourceId }, 'deleted the transfer snapshot of an abandoned move');
    }
  }

  /** Claims `source` for a move to `zone`: joins the move already claimed to that zone, else starts a new one. */
  private async claim(source: Volume, zone: string): Promise<MoveClaim> {
    const existing = moveClaimOf(source);
    if (existing?.zone === zone) return existing;
    const sourceId = source.VolumeId as string;
    await this.tag(sourceId, { add: moveClaimTag({ zone, moveId: randomUUID().slice(0, 8) }) }, tagValue(source.Tags, 'Name') ?? sourceId);
    // Another node may have claimed it at the same moment: whichever claim EC2 kept is the move, for both.
    const kept = moveClaimOf(await this.current(sourceId, 'claimed'));
    if (kept === undefined) throw StowageError.backendFailure(`the move claim on EBS volume ${sourceId} vanished; retry`);
    return kept;
  }

  private async transferSnapshot(name: string, source: Volume, claim: MoveClaim, report: ReportProgress, signal: AbortSignal): Promise<Snapshot> {
    const sourceId = source.VolumeId as string;
    const taken = (await this.snapshots.forVolume(name, { purpose: 'move', sourceVolumeId: sourceId })).find(
      (s) => tagValue(s.Tags, MOVE_ID_TAG) === claim.moveId && s.State !== 'error',
    );
    const snapshot = taken ?? (await this.snapshots.create(source, 'move', [{ Key: MOVE_ID_TAG, Value: claim.moveId }]));
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
            { ResourceType: 'volume', Tags: [...carriedTags(source), movedFromTag({ sourceVolumeId: sourceId, moveId: claim.moveId })] },
          ],
        }),
      );
    } catch (error) {
      throw StowageError.wrap(error, `cannot make the copy of volume "${name}" in ${claim.zone} from ${snapshot.SnapshotId}`);
    }
  }

  /**
   * Deletes the source once the copy is ready, unless the move lost its claim (the volume was taken back, or
   * another move claimed it): then the copy is this move's to delete, and the source stays. Copies of other,
   * stale moves of the same source go first, so that only this move's copy can answer for the name afterwards.
   */
  private async retireSource(name: string, sourceId: string, copy: Volume, claim: MoveClaim): Promise<void> {
    const source = await this.volumes.describeIfExists(sourceId);
    if (source !== undefined) {
      const current = moveClaimOf(source);
      const attached = source.Attachments?.some((a) => a.State !== 'detached');
      if (attached || current?.moveId !== claim.moveId) {
        await this.volumes.delete(copy.VolumeId as string);
        throw StowageError.inUse(
          `volume "${name}" was taken back from its move to ${claim.zone} (now ${attached ? 'attached' : 'claimed'} elsewhere); retry the mount`,
        );
      }
    }
    for (const stale of await this.volumes.findAll(name)) {
      const from = movedFromOf(stale);
      if (from?.sourceVolumeId === sourceId && from.moveId !== claim.moveId) {
        this.logger.warn({ volume: name, volumeId: stale.VolumeId, moveId: from.moveId }, 'deleting the copy left by an abandoned move');
        await this.volumes.delete(stale.VolumeId as string);
      }
    }
    if (source === undefined) return;
    try {
      await this.volumes.delete(sourceId);
    } catch (error) {
      if (StowageError.is(error) && error.kind === 'InUse') {
        await this.volumes.delete(copy.VolumeId as string);
        throw StowageError.inUse(`volume "${name}" was attached elsewhere while it moved to ${claim.zone}; retry the mount`, error);
      }
      throw error;
    }
  }

  private async tag(volumeId: string, change: { add?: Tag; remove?: string }, name: string): Promise<void> {
    try {
      if (change.add) await this.client.send(new CreateTagsCommand({ Resources: [volumeId], Tags: [change.add] }));
      if (change.remove) await this.client.send(new DeleteTagsCommand({ Resources: [volumeId], Tags: [{ Key: change.remove }] }));
    } catch (error) {
      throw StowageError.wrap(error, `cannot tag EBS volume ${volumeId} of "${name}" for its move`);
    }
  }

  private async current(volumeId: string, what: string): Promise<Volume> {
    const volume = await this.volumes.describeIfExists(volumeId);
    if (volume === undefined) throw StowageError.backendFailure(`EBS volume ${volumeId} disappeared after it was ${what}; retry`);
    return volume;
  }
}
