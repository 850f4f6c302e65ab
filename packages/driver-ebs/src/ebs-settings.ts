import { defineOptions, type InferOptions } from '@stowage/core';
import { CALL_BUDGETS_MS } from './call-budget.js';
import { FILESYSTEM_TYPES } from './ebs-options.js';
import { DEFAULT_TAKEOVER_POLICY, TAKEOVER_POLICIES } from './takeover-policy.js';

export const DEFAULT_DEVICE_DIR = '/dev/disk/by-id';
export const DEFAULT_SYSFS_ROOT = '/sys';
/** Nitro instances share 28 attachment slots between EBS volumes and network interfaces; leave room for both. */
export const DEFAULT_ATTACH_LIMIT = 25;
/** Leaves 15 s of the Mount's 90 s budget for the attach, format and mount after the move. */
export const DEFAULT_MOVE_WAIT_SECONDS = 75;

const ABSOLUTE = { pattern: /\/.*/, patternHint: 'an absolute path' };

/**
 * Settings of the relocatable backing (config `drivers.ebs.settings`, env `STOWAGE_EBS_<SETTING>`). Region, instance
 * id and availability zone come from the instance metadata service (IMDSv2) when unset. The EC2 endpoint, credentials
 * and retry settings come from the standard AWS settings (`AWS_ENDPOINT_URL`, profiles, instance role).
 */
export const EBS_SETTINGS = defineOptions({
  // Its md5 is the `StackID` tag of every volume, so clusters never see each other's.
  clusterId: {
    type: 'string',
    description: "this cluster's identity (a stack ARN, a swarm id); hashed into the StackID tag",
    required: true,
  },
  region: {
    type: 'string',
    description: 'AWS region; from instance metadata when unset',
    pattern: /[a-z]{2}(-[a-z]+)+-\d+/,
    patternHint: 'an AWS region such as us-east-1',
  },
  instanceId: {
    type: 'string',
    description: "this node's EC2 instance id; from instance metadata when unset",
    pattern: /i-[0-9a-f]{8,17}/,
    patternHint: 'an EC2 instance id such as i-0123456789abcdef0',
  },
  availabilityZone: {
    type: 'string',
    description: "this node's availability zone; from instance metadata when unset",
    pattern: /[a-z]{2}(-[a-z]+)+-\d+[a-z]/,
    patternHint: 'an availability zone such as us-east-1a',
  },
  // Where attached block devices are looked for by name (`nvme-Amazon_Elastic_Block_Store_vol…`, `xvdf`).
  deviceDir: {
    type: 'string',
    description: 'directory where attached block devices appear',
    default: DEFAULT_DEVICE_DIR,
    ...ABSOLUTE,
  },
  sysfsRoot: {
    type: 'string',
    description: 'where sysfs is mounted (device serials are read there)',
    default: DEFAULT_SYSFS_ROOT,
    ...ABSOLUTE,
  },
  // Counts every EBS volume attached to the instance, not only Stowage's.
  attachLimit: {
    type: 'integer',
    description: 'most EBS volumes attached to this instance at once',
    default: DEFAULT_ATTACH_LIMIT,
    min: 1,
    max: 127,
  },
  fsType: {
    type: 'string',
    description: 'file system made on blank volumes by default',
    values: FILESYSTEM_TYPES,
    default: 'ext4',
  },
  mountRoot: {
    type: 'string',
    description: 'where volumes are mounted (default under the state directory)',
    ...ABSOLUTE,
  },
  takeover: {
    type: 'string',
    description:
      'when a volume attached to another instance is taken from it: never, stopped (holder stopped or terminated), force',
    values: TAKEOVER_POLICIES,
    default: DEFAULT_TAKEOVER_POLICY,
  },
  // At most the Mount's budget (90 s, see `CALL_BUDGETS_MS`), which keeps the whole Mount, the attach after the move
  // and the engine's clean-up of a failure included, inside the Docker engine's two minutes.
  moveWaitSeconds: {
    type: 'integer',
    description: 'how long a mount waits for a move across zones before answering that it is under way',
    default: DEFAULT_MOVE_WAIT_SECONDS,
    min: 1,
    max: CALL_BUDGETS_MS.mount / 1000,
  },
  snapshotIntervalMinutes: {
    type: 'integer',
    description:
      'minutes between snapshots of the volumes attached to this node, so a move across zones copies only recent writes; 0 turns them off',
    default: 0,
    min: 0,
    // A week.
    max: 10080,
  },
  snapshotRetain: {
    type: 'integer',
    description: 'how many periodic snapshots of each volume are kept',
    default: 3,
    min: 1,
    max: 100,
  },
});

/** The parsed settings of the relocatable backing, inferred from {@link EBS_SETTINGS}. */
export type EbsSettings = InferOptions<typeof EBS_SETTINGS>;
