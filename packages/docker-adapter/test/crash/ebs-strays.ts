import { paginateDescribeSnapshots, type EC2Client } from '@aws-sdk/client-ec2';
import { CLUSTER_TAG, SNAPSHOT_PURPOSE_TAG, VOLUME_NAME_TAG, stackIdFor } from '@stowage/driver-ebs';
import { MotoEbsVolumes, tagsOf } from '../e2e/moto-ebs-volumes.js';

// The tags a cross-zone move leaves until it is finished (the driver's move-tags.ts, which its package does not
// export): spelled here on their own, as an operator's `describe-volumes` filter would spell them.
const MOVE_STATE_TAGS = ['stowage:move-to', 'stowage:moved-from', 'stowage:move-commit'] as const;

/**
 * What a relocatable cluster keeps in EC2 beyond exactly one volume per name in `volumes`, with every caller gone:
 * duplicated or orphaned volumes, volumes still attached to an instance, move state left on a volume, and transfer
 * snapshots of moves. One line per stray.
 */
export async function ebsStrays(ec2: EC2Client, clusterId: string, volumes: ReadonlySet<string>): Promise<string[]> {
  const stackId = stackIdFor(clusterId);
  const strays: string[] = [];
  const perName = new Map<string, string[]>();
  for (const volume of await new MotoEbsVolumes(ec2, stackId).ofCluster()) {
    const id = volume.VolumeId as string;
    const tags = tagsOf(volume);
    const name = tags[VOLUME_NAME_TAG] ?? `(untagged ${id})`;
    perName.set(name, [...(perName.get(name) ?? []), id]);
    for (const attached of volume.Attachments ?? []) {
      if (attached.State !== 'detached')
        strays.push(`EBS volume ${id} of "${name}" still ${attached.State} to ${attached.InstanceId}`);
    }
    for (const key of MOVE_STATE_TAGS) {
      if (tags[key] !== undefined) strays.push(`EBS volume ${id} of "${name}" still tagged ${key}=${tags[key]}`);
    }
  }
  for (const [name, ids] of perName) {
    const extra = volumes.has(name) ? ids.length - 1 : ids.length;
    if (extra > 0) strays.push(`${extra} EBS volume(s) too many for "${name}": ${ids.join(', ')}`);
  }
  const transfers = paginateDescribeSnapshots(
    { client: ec2 },
    {
      OwnerIds: ['self'],
      Filters: [
        { Name: `tag:${CLUSTER_TAG}`, Values: [stackId] },
        { Name: `tag:${SNAPSHOT_PURPOSE_TAG}`, Values: ['move'] },
      ],
    },
  );
  for await (const page of transfers) {
    for (const snapshot of page.Snapshots ?? []) {
      const name = snapshot.Tags?.find((tag) => tag.Key === VOLUME_NAME_TAG)?.Value ?? '?';
      strays.push(`transfer snapshot ${snapshot.SnapshotId} of "${name}" (${snapshot.State})`);
    }
  }
  return strays;
}
