import { DescribeInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { StowageError } from '@stowage/core';

/**
 * When a node may detach a relocatable volume from the instance holding it, so as to attach it itself:
 * - `never`: only once the holder has released it (its task stopped there);
 * - `stopped`: also when the holder instance is stopped, terminated or gone, so it cannot be writing any more
 *   (a stopped instance keeps its EBS attachments, which would otherwise pin the volume forever);
 * - `force`: always, even from a running holder. Whatever the holder had not flushed is lost; for operators who
 *   know the holder is dead although EC2 says it runs.
 */
export const TAKEOVER_POLICIES = ['never', 'stopped', 'force'] as const;
export type TakeoverPolicy = (typeof TAKEOVER_POLICIES)[number];
export const DEFAULT_TAKEOVER_POLICY: TakeoverPolicy = 'stopped';

/** Instance states in which an instance runs no task and writes nothing (`gone`: EC2 no longer knows it). */
const NOT_WRITING = new Set(['stopped', 'terminated', 'gone']);

/** Whether `policy` allows taking a volume from a holder whose instance is in `holderState`. */
export function mayTakeOver(policy: TakeoverPolicy, holderState: string): boolean {
  if (policy === 'force') return true;
  if (policy === 'stopped') return NOT_WRITING.has(holderState);
  return false;
}

/** The EC2 state of instance `instanceId` (`running`, `stopped`...), or `gone` when EC2 no longer knows it. */
export async function instanceState(client: EC2Client, instanceId: string): Promise<string> {
  try {
    const result = await client.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    return result.Reservations?.[0]?.Instances?.[0]?.State?.Name ?? 'gone';
  } catch (error) {
    if ((error as Error).name === 'InvalidInstanceID.NotFound') return 'gone';
    throw StowageError.wrap(error, `cannot learn the state of instance ${instanceId}, which holds the volume`);
  }
}
