import type { Tag, Volume } from '@aws-sdk/client-ec2';
import { tagValue } from './cluster-tags.js';

/**
 * The tags a cross-zone move leaves in EC2, so that a move survives any crash and every node reads its state the
 * same way. Each move has an id; artefacts of another move id are stale (an abandoned or losing move).
 * - On the source volume, `stowage:move-to` = `<zone>/<move id>`: the move it is in.
 * - On the transfer snapshot, `stowage:move` = `<move id>`.
 * - On the new volume, `stowage:moved-from` = `<source volume id>/<move id>`, until the move is finished.
 */
export const MOVE_TO_TAG = 'stowage:move-to';
export const MOVE_ID_TAG = 'stowage:move';
export const MOVED_FROM_TAG = 'stowage:moved-from';

export interface MoveClaim {
  readonly zone: string;
  readonly moveId: string;
}

export interface MovedFrom {
  readonly sourceVolumeId: string;
  readonly moveId: string;
}

export function moveClaimOf(volume: Volume): MoveClaim | undefined {
  const [zone, moveId] = splitPair(tagValue(volume.Tags, MOVE_TO_TAG));
  return zone && moveId ? { zone, moveId } : undefined;
}

export function movedFromOf(volume: Volume): MovedFrom | undefined {
  const [sourceVolumeId, moveId] = splitPair(tagValue(volume.Tags, MOVED_FROM_TAG));
  return sourceVolumeId && moveId ? { sourceVolumeId, moveId } : undefined;
}

export function moveClaimTag(claim: MoveClaim): Tag {
  return { Key: MOVE_TO_TAG, Value: `${claim.zone}/${claim.moveId}` };
}

export function movedFromTag(from: MovedFrom): Tag {
  return { Key: MOVED_FROM_TAG, Value: `${from.sourceVolumeId}/${from.moveId}` };
}

/** A source volume's tags as its copy in another zone carries them: without move state and AWS-reserved keys. */
export function carriedTags(source: Volume): Tag[] {
  return (source.Tags ?? []).filter(
    (t) => t.Key !== undefined && !t.Key.startsWith('aws:') && t.Key !== MOVE_TO_TAG && t.Key !== MOVED_FROM_TAG,
  );
}

/**
 * Of the volumes carrying one name (oldest first), those that answer for it: a move's new volume does not while its
 * source still exists (the move is under way, or was abandoned), and does once the source is gone (the move
 * deleted it and was stopped before its last step).
 */
export function answeringVolumes(volumes: readonly Volume[]): Volume[] {
  const ids = new Set(volumes.map((v) => v.VolumeId));
  return volumes.filter((v) => {
    const from = movedFromOf(v);
    return from === undefined || !ids.has(from.sourceVolumeId);
  });
}

function splitPair(value: string | undefined): [string | undefined, string | undefined] {
  if (value === undefined) return [undefined, undefined];
  const slash = value.lastIndexOf('/');
  return slash < 0 ? [undefined, undefined] : [value.slice(0, slash), value.slice(slash + 1)];
}
