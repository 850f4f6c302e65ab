import type { Tag, Volume } from '@aws-sdk/client-ec2';
import { tagValue } from './cluster-tags.js';
import { oldestFirst } from './ebs-volumes.js';

/**
 * The tags a cross-zone move leaves in EC2, so that a move survives any crash and every node reads its state the
 * same way. Each move has an id; artefacts of another move id are stale (an abandoned or losing move).
 * - On the source volume, `stowage:move-to` = `<zone>/<move id>`: the move it is in (its claim). And
 *   `stowage:move-fence` = a number that every new claim raises by one and nothing lowers or removes: the claim's
 *   fence, which orders the moves of one source.
 * - On the transfer snapshot, `stowage:move` = `<move id>`.
 * - On the new volume (the copy), `stowage:moved-from` = `<source volume id>/<move id>/<fence>`, until the move is
 *   finished; and `stowage:move-commit` = `<move id>` once its move found the claim still its own and is about to
 *   delete the source. A copy carrying `moved-from` with only two parts was made before fences existed: it counts
 *   as committed, below any fenced copy.
 */
export const MOVE_TO_TAG = 'stowage:move-to';
export const MOVE_FENCE_TAG = 'stowage:move-fence';
export const MOVE_ID_TAG = 'stowage:move';
export const MOVED_FROM_TAG = 'stowage:moved-from';
export const MOVE_COMMIT_TAG = 'stowage:move-commit';

/** The tags that describe a move, never carried from a source to its copy. */
const MOVE_STATE_TAGS: ReadonlySet<string> = new Set([MOVE_TO_TAG, MOVE_FENCE_TAG, MOVED_FROM_TAG, MOVE_COMMIT_TAG]);

/** A source volume's claim: the move it is in, and that move's fence. */
export interface MoveClaim {
  readonly zone: string;
  readonly moveId: string;
  readonly fence: number;
}

/** Where a copy comes from, and whether its move committed to deleting the source. */
export interface MovedFrom {
  readonly sourceVolumeId: string;
  readonly moveId: string;
  /** The fence of the claim the copy was made under; -1 for a copy made before fences existed. */
  readonly fence: number;
  readonly committed: boolean;
}

/** The highest fence any claim on `volume` had (0 when none did). */
export function fenceOf(volume: Volume): number {
  const fence = Number(tagValue(volume.Tags, MOVE_FENCE_TAG));
  return Number.isSafeInteger(fence) && fence > 0 ? fence : 0;
}

export function moveClaimOf(volume: Volume): MoveClaim | undefined {
  const [zone, moveId, ...rest] = (tagValue(volume.Tags, MOVE_TO_TAG) ?? '').split('/');
  return zone && moveId && rest.length === 0 ? { zone, moveId, fence: fenceOf(volume) } : undefined;
}

export function movedFromOf(volume: Volume): MovedFrom | undefined {
  const [sourceVolumeId, moveId, fence, ...rest] = (tagValue(volume.Tags, MOVED_FROM_TAG) ?? '').split('/');
  if (!sourceVolumeId || !moveId || rest.length > 0) return undefined;
  if (fence === undefined) return { sourceVolumeId, moveId, fence: -1, committed: true };
  const value = Number(fence);
  if (!/^\d+$/.test(fence) || !Number.isSafeInteger(value)) return undefined;
  return { sourceVolumeId, moveId, fence: value, committed: tagValue(volume.Tags, MOVE_COMMIT_TAG) === moveId };
}

/** The tags that claim a source for a move: written together, in one CreateTags. */
export function moveClaimTags(claim: MoveClaim): Tag[] {
  return [
    { Key: MOVE_TO_TAG, Value: `${claim.zone}/${claim.moveId}` },
    { Key: MOVE_FENCE_TAG, Value: String(claim.fence) },
  ];
}

export function movedFromTag(from: Pick<MovedFrom, 'sourceVolumeId' | 'moveId' | 'fence'>): Tag {
  return { Key: MOVED_FROM_TAG, Value: `${from.sourceVolumeId}/${from.moveId}/${from.fence}` };
}

export function moveCommitTag(moveId: string): Tag {
  return { Key: MOVE_COMMIT_TAG, Value: moveId };
}

/** A source volume's tags as its copy in another zone carries them: without move state and AWS-reserved keys. */
export function carriedTags(source: Volume): Tag[] {
  return (source.Tags ?? []).filter(
    (t) => t.Key !== undefined && !t.Key.startsWith('aws:') && !MOVE_STATE_TAGS.has(t.Key),
  );
}

/**
 * Of the copies of `sourceVolumeId` among `volumes`, the one that answers for the name once the source is gone: the
 * committed copy with the highest fence (the latest claim that was still the source's when its move checked it),
 * the oldest on a tie. Uncommitted copies never answer: their move never found the claim its own at the end, so
 * another move deleted the source, or nobody did yet.
 */
export function moveWinner(sourceVolumeId: string, volumes: readonly Volume[]): Volume | undefined {
  let winner: Volume | undefined;
  let best: MovedFrom | undefined;
  for (const volume of volumes) {
    const from = movedFromOf(volume);
    if (from?.sourceVolumeId !== sourceVolumeId || !from.committed) continue;
    if (
      best === undefined ||
      from.fence > best.fence ||
      (from.fence === best.fence && oldestFirst(volume, winner as Volume) < 0)
    ) {
      winner = volume;
      best = from;
    }
  }
  return winner;
}

/**
 * Of the volumes carrying one name (oldest first), those that answer for it: a move's copy does not while its source
 * still exists (the move is under way, or was abandoned), and once the source is gone only the copy of the winning
 * move does ({@link moveWinner}), so that two moves of one source never both answer.
 */
export function answeringVolumes(volumes: readonly Volume[]): Volume[] {
  const ids = new Set(volumes.map((v) => v.VolumeId));
  return volumes.filter((v) => {
    const from = movedFromOf(v);
    if (from === undefined) return true;
    if (ids.has(from.sourceVolumeId)) return false;
    return moveWinner(from.sourceVolumeId, volumes) === v;
  });
}
