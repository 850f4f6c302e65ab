import { StowageError, type OptionSpec } from '@stowage/core';

/**
 * Settings of the shared backing (config `drivers.efs.settings`, env `STOWAGE_EFS_<SETTING>`), as parsed against
 * {@link EFS_SETTINGS}. Exactly one of `fileSystemId` and `fileSystemTag` names the general purpose file system.
 */
export type EfsSettings = {
  readonly fileSystemId?: string;
  /** The value of the `Name` tag of the file system, as the EFS console and seed 003 set it. */
  readonly fileSystemTag?: string;
  readonly maxIoFileSystemId?: string;
  readonly maxIoFileSystemTag?: string;
  /** Region of the file systems; the SDK's default chain (`AWS_REGION`, profile) when unset. */
  readonly region?: string;
  /** This node's availability zone; asked from instance metadata (IMDSv2) when unset. */
  readonly availabilityZone?: string;
  /** `true`: each volume is an EFS access point; `false`: each volume is a directory of the file system. */
  readonly accessPoints: boolean;
  /** Last part of the mount target DNS name `<fs-id>.efs.<region>.<dnsSuffix>`. */
  readonly dnsSuffix: string;
  /** Mount through efs-utils (`mount -t efs -o tls`), encrypting NFS in transit. */
  readonly tls: boolean;
  /** Where this node mounts file systems and access points; `<stateDir>/drivers/efs/mounts` when unset. */
  readonly mountRoot?: string;
  /** Tests only: see the setting's description. */
  readonly nfsStandInDir?: string;
};

const FILE_SYSTEM_ID = { pattern: /fs-[0-9a-f]{8,40}/, patternHint: 'an EFS file system ID such as fs-0123456789abcdef0' };
const ABSOLUTE = { pattern: /\/.*/, patternHint: 'an absolute path' };

/** The declared settings of the `efs` driver. */
export const EFS_SETTINGS: readonly OptionSpec[] = [
  { name: 'fileSystemId', type: 'string', description: 'the general purpose file system, by ID', ...FILE_SYSTEM_ID },
  { name: 'fileSystemTag', type: 'string', description: 'the general purpose file system, by the value of its Name tag' },
  { name: 'maxIoFileSystemId', type: 'string', description: 'the max I/O file system (perfmode=maxio), by ID', ...FILE_SYSTEM_ID },
  { name: 'maxIoFileSystemTag', type: 'string', description: 'the max I/O file system (perfmode=maxio), by its Name tag' },
  { name: 'region', type: 'string', description: "the file systems' region; the AWS SDK's default chain when unset", pattern: /[a-z]{2}(-[a-z0-9]+)+-\d+/, patternHint: 'an AWS region such as us-east-1' },
  { name: 'availabilityZone', type: 'string', description: "this node's availability zone; from instance metadata when unset", pattern: /[a-z]{2}(-[a-z0-9]+)+-\d+[a-z]+/, patternHint: 'an availability zone such as us-east-1a' },
  { name: 'accessPoints', type: 'boolean', description: 'make each volume an EFS access point rooted at /<name> instead of a plain directory', default: false },
  { name: 'dnsSuffix', type: 'string', description: 'DNS suffix of mount targets (<fs-id>.efs.<region>.<suffix>), for other partitions', default: 'amazonaws.com', pattern: /[a-z0-9]+([.-][a-z0-9]+)*/, patternHint: 'a DNS suffix such as amazonaws.com' },
  { name: 'tls', type: 'boolean', description: 'mount with efs-utils (mount -t efs -o tls), encrypting NFS in transit', default: false },
  { name: 'mountRoot', type: 'string', description: 'where this node mounts file systems and access points', ...ABSOLUTE },
  {
    name: 'nfsStandInDir',
    type: 'string',
    description:
      'TESTS ONLY: instead of an NFS mount of file system <fs-id>, bind-mount <dir>/<fs-id> (for kernels with no NFS client); never set in production',
    ...ABSOLUTE,
  },
];

/** Cross-setting checks the declarations cannot express; throws an InvalidArgument naming the settings. */
export function checkEfsSettings(settings: EfsSettings): void {
  const pairs = [
    ['fileSystemId', 'fileSystemTag', true],
    ['maxIoFileSystemId', 'maxIoFileSystemTag', false],
  ] as const;
  for (const [id, tag, required] of pairs) {
    if (settings[id] !== undefined && settings[tag] !== undefined) {
      throw StowageError.invalidArgument(`driver efs: give ${id} or ${tag}, not both`);
    }
    if (required && settings[id] === undefined && settings[tag] === undefined) {
      throw StowageError.invalidArgument(
        `driver efs: the file system is not configured; set ${id} (STOWAGE_EFS_FILE_SYSTEM_ID) or ${tag} (STOWAGE_EFS_FILE_SYSTEM_TAG)`,
      );
    }
  }
}
