import {
  DescribeVolumesCommand,
  EC2ServiceException,
  type DescribeVolumesCommandInput,
  type DescribeVolumesCommandOutput,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import type { DescribeVolumesBatcher } from './describe-volumes-batcher.js';

/**
 * `client` as the SDK volume waiters should see it: their DescribeVolumes polls by `VolumeIds` go through `lookups`,
 * so the polls of many waiters on one node (a burst of mounts) merge into a few calls; every other call goes to
 * `client` unchanged. The waiters only ever call `send`, which is why a proxy of the client is enough.
 */
export function batchedWaiterClient(client: EC2Client, lookups: DescribeVolumesBatcher): EC2Client {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return (command: unknown, ...rest: unknown[]) =>
        command instanceof DescribeVolumesCommand && isPlainIdLookup(command.input)
          ? describeByIds(lookups, command.input.VolumeIds)
          : Reflect.apply(target.send, target, [command, ...rest]);
    },
  });
}

function isPlainIdLookup(
  input: DescribeVolumesCommandInput,
): input is DescribeVolumesCommandInput & { VolumeIds: string[] } {
  const { VolumeIds, ...rest } = input;
  return VolumeIds !== undefined && VolumeIds.length > 0 && Object.values(rest).every((value) => value === undefined);
}

/**
 * Answers as EC2 answers a `VolumeIds` lookup: the volumes in the order asked, or `InvalidVolume.NotFound` when one
 * is missing (the waiters take that as "not yet" and poll again, where an answer without it could read as success).
 */
async function describeByIds(
  lookups: DescribeVolumesBatcher,
  volumeIds: readonly string[],
): Promise<DescribeVolumesCommandOutput> {
  const found = await Promise.all(volumeIds.map((id) => lookups.volume(id)));
  const missing = volumeIds.filter((_, i) => found[i] === undefined);
  if (missing.length > 0) {
    throw new EC2ServiceException({
      name: 'InvalidVolume.NotFound',
      $fault: 'client',
      $metadata: {},
      message: `The volume '${missing.join("', '")}' does not exist.`,
    });
  }
  return { $metadata: {}, Volumes: found.filter((v) => v !== undefined) };
}
