import type { OptionSpec } from '@stowage/core';
import { CALL_BUDGETS_MS } from './call-budget.js';
import { FILESYSTEM_TYPES } from './ebs-options.js';
import { DEFAULT_TAKEOVER_POLICY, TAKEOVER_POLICIES, type TakeoverPolicy } from './takeover-policy.js';

/**
 * Settings of the relocatable backing (config `drivers.ebs`, env `STOWAGE_EBS_<SETTING>`). Region, instance id
 * and availability zone come from the instance metadata service (IMDSv2) when unset. The EC2 endpoint, credentials
 * and retry settings come from the standard AWS settings (`AWS_ENDPOINT_URL`, profiles, instance role).
 */
export type EbsSettings = {
  /** This cluster's identity; its md5 is the `StackID` tag of every volume, so clusters never see each other's. */
  readonly clusterId: string;
  readonly region?: string;
  /** This node's EC2 instance id. */
  readonly instanceId?: string;
  /** This node's availability zone (`us-east-1a`). */
  readonly availabilityZone?: string;
  /** Where attached block devices are looked for by name (`nvme-Amazon_Elastic_Block_Store_vol…`, `xvdf`). */
  readonly deviceDir: string;
  /** Where the kernel's sysfs is: devices' serial numbers are read under `<sysfsRoot>/block`. */
  readonly sysfsRoot: string;
  /** How many EBS volumes (any, not only Stowage's) may be attached to this instance before attaching is refused. */
  readonly attachLimit: number;
  /** File system made on a blank volume whose create options name none. */
  readonly fsType: string;
  /** Where volumes are mounted; `<stateDir>/drivers/ebs/mounts` when unset. */
  readonly mountRoot?: string;
  /** When a volume attached to another instance may be taken from it (see {@link TakeoverPolicy}). */
  readonly takeover: TakeoverPolicy;
  /**
   * How long a Mount waits for a move across zones before answering that the move is under way (it goes on in the
   * background). At most the Mount's budget (90 s, see `CALL_BUDGETS_MS`), which keeps the whole Mount, the attach
   * after the move and the engine's clean-up of a failure included, inside the Docker engine's two minutes.
   */
  readonly moveWaitSeconds: number;
  /** Minutes between snapshots of the volumes attached to this node; 0 (the default) takes none. */
  readonly snapshotIntervalMinutes: number;
  /** How many completed periodic snapshots of each volume are kept; older ones are deleted. */
  readonly snapshotRetain: number;
};

export const DEFAULT_DEVICE_DIR = '/dev/disk/by-id';
export const DEFAULT_SYSFS_ROOT = '/sys';
/** Nitro instances share 28 attachment slots between EBS volumes and network interfaces; leave room for both. */
export const DEFAULT_ATTACH_LIMIT = 25;
/** Leaves 15 s of the Mount's 90 s budget for the attach, format and mount after the move. */
export const DEFAULT_MOVE_WAIT_SECONDS = 75;

const ABSOLUTE = { pattern: /\/.*/, patternHint: 'an absolute path' } as const;

export const EBS_SETTINGS: readonly OptionSpec[] = [
  {
    name: 'clusterId',
    type: 'string',
    description: "this cluster's identity (a stack ARN, a swarm id); hashed into the StackID tag",
    required: true,
  },
  {
    name: 'region',
    type: 'string',
    description: 'AWS region; from instance metadata when unset',
    pattern: /[a-z]{2}(-[a-z]+)+-\d+/,
    patternHint: 'an AWS region such as us-east-1',
  },
  {
    name: 'instanceId',
    type: 'string',
    description: "this node's EC2 instance id; from instance metadata when unset",
    pattern: /i-[0-9a-f]{8,17}/,
    patternHint: 'an EC2 instance id such as i-0123456789abcdef0',
  },
  {
    name: 'availabilityZone',
    type: 'string',
    description: "this node's availability zone; from instance metadata when unset",
    pattern: /[a-z]{2}(-[a-z]+)+-\d+[a-z]/,
    patternHint: 'an availability zone such as us-east-1a',
  },
  { name: 'deviceDir', type: 'string', description: 'directory where attached block devices appear', default: DEFAULT_DEVICE_DIR, ...ABSOLUTE },
  { name: 'sysfsRoot', type: 'string', description: 'where sysfs is mounted (device serials are read there)', default: DEFAULT_SYSFS_ROOT, ...ABSOLUTE },
  {
    name: 'attachLimit',
    type: 'integer',
    description: 'most EBS volumes attached to this instance at once',
    default: DEFAULT_ATTACH_LIMIT,
    min: 1,
    max: 127,
  },
  { name: 'fsType', type: 'string', description: 'file system made on blank volumes by default', values: FILESYSTEM_TYPES, default: 'ext4' },
  { name: 'mountRoot', type: 'string', description: 'where volumes are mounted (default under the state directory)', ...ABSOLUTE },
  {
    name: 'takeover',
    type: 'string',
    description: 'when a volume attached to another instance is taken from it: never, stopped (holder stopped or terminated), force',
    values: TAKEOVER_POLICIES,
    default: DEFAULT_TAKEOVER_POLICY,
  },
  {
    name: 'moveWaitSeconds',
    type: 'integer',
    description: 'how long a mount waits for a move across zones before answering that it is under way',
    default: DEFAULT_MOVE_WAIT_SECONDS,
    min: 1,
    max: CALL_BUDGETS_MS.mount / 1000,
  },
  {
    name: 'snapshotIntervalMinutes',
    type: 'integer',
    description: 'minutes between snapshots of the volumes attached to this node, so a move across zones copies only recent writes; 0 turns them off',
    default: 0,
    min: 0,
    // A week.
    max: 10080,
  },
  {
    name: 'snapshotRetain',
    type: 'integer',
    description: 'how many periodic snapshots of each volume are kept',
    default: 3,
    min: 1,
    max: 100,
  },
];
