import type { Filter, Snapshot, Tag, Volume } from '@aws-sdk/client-ec2';
import { CLUSTER_TAG, SNAPSHOT_PURPOSE_TAG, SOURCE_VOLUME_TAG, VOLUME_NAME_TAG } from '../../src/index.js';
import { awsError, type Handler } from './fake-ec2.js';

/** The StackID of the unit tests' cluster. */
export const TEST_STACK = 'stack-hash';

/** A Stowage volume `name` of the test cluster, as DescribeVolumes shows it (id `vol-<name>`). */
export function stowageVolume(name: string, id = `vol-${name}`): Volume {
  return {
    VolumeId: id,
    Tags: [
      { Key: VOLUME_NAME_TAG, Value: name },
      { Key: CLUSTER_TAG, Value: TEST_STACK },
    ],
  };
}

/** The tags Stowage gives a snapshot of volume `name` (taken of `source`, `vol-<name>` by default). */
export function snapshotTags(name: string, purpose: string, source = `vol-${name}`): Tag[] {
  return [
    { Key: CLUSTER_TAG, Value: TEST_STACK },
    { Key: VOLUME_NAME_TAG, Value: name },
    { Key: SNAPSHOT_PURPOSE_TAG, Value: purpose },
    { Key: SOURCE_VOLUME_TAG, Value: source },
  ];
}

/**
 * EC2's snapshots in memory, for unit tests: answers CreateSnapshot, DescribeSnapshots (by ids, or by the tag and
 * volume-id filters Stowage uses; any other filter fails the test) and DeleteSnapshot. Start times advance a minute per
 * snapshot, so "newest" is the order of creation. `events` records creations and deletions in order.
 */
export class FakeSnapshotStore {
  readonly snapshots = new Map<string, Snapshot>();
  readonly events: string[] = [];
  /** Volume ids whose CreateSnapshot fails. */
  readonly failing = new Set<string>();
  /** The state new snapshots start in; `pending` ones stay so until {@link complete}. */
  createAs: 'pending' | 'completed' = 'completed';
  private sequence = 0;

  /** Adds a snapshot as if made earlier (by this node, another one, or a move). */
  add(snapshot: Omit<Snapshot, 'SnapshotId' | 'StartTime'> & { Tags: Tag[] }): Snapshot {
    const made: Snapshot = {
      ...snapshot,
      SnapshotId: `snap-${String(++this.sequence).padStart(4, '0')}`,
      StartTime: new Date(Date.UTC(2025, 0, 1) + this.sequence * 60_000),
    };
    this.snapshots.set(made.SnapshotId as string, made);
    return made;
  }

  complete(snapshotId: string): void {
    Object.assign(this.snapshots.get(snapshotId) as Snapshot, { State: 'completed', Progress: '100%' });
  }

  /** Ids of the stored snapshots whose tag `key` is `value`. */
  idsTagged(key: string, value: string): string[] {
    return [...this.snapshots.values()]
      .filter((s) => s.Tags?.some((t) => t.Key === key && t.Value === value))
      .map((s) => s.SnapshotId as string);
  }

  handlers(): Record<string, Handler> {
    return {
      CreateSnapshotCommand: ({ input }) => {
        const volumeId = input.VolumeId as string;
        if (this.failing.has(volumeId)) throw awsError('IncorrectState', `volume ${volumeId} cannot be snapshotted`);
        const specs = input.TagSpecifications as Array<{ Tags: Tag[] }> | undefined;
        const made = this.add({
          VolumeId: volumeId,
          State: this.createAs,
          Progress: this.createAs === 'completed' ? '100%' : '',
          Tags: specs?.[0]?.Tags ?? [],
        });
        this.events.push(`create ${volumeId} ${made.SnapshotId}`);
        return { ...made, $metadata: {} };
      },
      DescribeSnapshotsCommand: ({ input }) => {
        const ids = input.SnapshotIds as string[] | undefined;
        if (ids)
          return {
            Snapshots: ids
              .map((id) => this.snapshots.get(id))
              .filter((s) => s !== undefined)
              .map((s) => ({ ...s })),
          };
        const filters = (input.Filters as Filter[] | undefined) ?? [];
        return {
          Snapshots: [...this.snapshots.values()]
            .filter((s) => filters.every((f) => matches(s, f)))
            .map((s) => ({ ...s })),
        };
      },
      DeleteSnapshotCommand: ({ input }) => {
        const id = input.SnapshotId as string;
        if (!this.snapshots.delete(id)) throw awsError('InvalidSnapshot.NotFound');
        this.events.push(`delete ${id}`);
        return {};
      },
    };
  }
}

function matches(snapshot: Snapshot, { Name = '', Values = [] }: Filter): boolean {
  if (Name.startsWith('tag:'))
    return snapshot.Tags?.some((t) => t.Key === Name.slice(4) && Values.includes(t.Value ?? '')) ?? false;
  if (Name === 'tag-key') return snapshot.Tags?.some((t) => Values.includes(t.Key ?? '')) ?? false;
  if (Name === 'volume-id') return Values.includes(snapshot.VolumeId ?? '');
  throw new Error(`the fake snapshot store does not know filter ${Name}`);
}
