import { createHash } from 'node:crypto';
import type { Tag } from '@aws-sdk/client-ec2';

/** The tag carrying the Stowage volume name: what a volume is found by. */
export const VOLUME_NAME_TAG = 'stowage:volume';
/** The cluster tag, as Cloudstor named it: `aws ec2 describe-volumes --filters Name=tag:StackID,Values=<hash>`. */
export const CLUSTER_TAG = 'StackID';
/** Prefix of the tags recording each create option (`stowage:option:size`). */
export const OPTION_TAG_PREFIX = 'stowage:option:';

/** The StackID tag value of a cluster: the md5 hex of its configured identity, as Cloudstor hashed its stack id. */
export function stackIdFor(clusterId: string): string {
  return createHash('md5').update(clusterId, 'utf8').digest('hex');
}

/** The tags a volume is created with: name (for Stowage and for humans), cluster, and its options. */
export function volumeTags(name: string, stackId: string, options: Readonly<Record<string, string>>): Tag[] {
  return [
    { Key: VOLUME_NAME_TAG, Value: name },
    { Key: CLUSTER_TAG, Value: stackId },
    { Key: 'Name', Value: name },
    ...Object.entries(options).map(([option, value]) => ({ Key: `${OPTION_TAG_PREFIX}${option}`, Value: value })),
  ];
}

/**
 * The create options recorded in a volume's tags, in a record without a prototype: tag keys are anyone's to write
 * (by hand, another version), so `__proto__`, `constructor` or `toString` must be plain keys, and a missing option
 * must read as undefined, never as an Object.prototype member.
 */
export function optionsFromTags(tags: readonly Tag[] | undefined): Record<string, string> {
  const options = Object.create(null) as Record<string, string>;
  for (const { Key, Value } of tags ?? []) {
    if (Key?.startsWith(OPTION_TAG_PREFIX) && Value !== undefined) options[Key.slice(OPTION_TAG_PREFIX.length)] = Value;
  }
  return options;
}

/** The value of tag `key`, if the volume carries it. */
export function tagValue(tags: readonly Tag[] | undefined, key: string): string | undefined {
  return tags?.find((t) => t.Key === key)?.Value;
}
