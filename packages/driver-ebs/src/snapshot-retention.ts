import type { Snapshot } from '@aws-sdk/client-ec2';
import { tagValue } from './cluster-tags.js';
import { SNAPSHOT_PURPOSE_TAG, newestFirst } from './ebs-snapshots.js';

/**
 * Of one volume's snapshots, the periodic ones to delete so that the newest `retain` completed ones stay.
 *
 * Never a `move` snapshot (a move in progress or about to start owns it) and never a `pending` one (it may become the
 * newest copy, and EC2 finishes it anyway). Failed periodic snapshots go whatever their age: they hold nothing.
 */
export function periodicSnapshotsToPrune(snapshots: readonly Snapshot[], retain: number): Snapshot[] {
  const periodic = snapshots.filter((s) => tagValue(s.Tags, SNAPSHOT_PURPOSE_TAG) === 'periodic').sort(newestFirst);
  const failed = periodic.filter((s) => s.State === 'error');
  const surplus = periodic.filter((s) => s.State === 'completed').slice(Math.max(0, retain));
  return [...surplus, ...failed];
}
