import { StowageError, defineOptions, type InferOptions } from '@stowage/core';

const FILE_SYSTEM_ID = {
  pattern: /fs-[0-9a-f]{8,40}/,
  patternHint: 'an EFS file system ID such as fs-0123456789abcdef0',
};
const ABSOLUTE = { pattern: /\/.*/, patternHint: 'an absolute path' };

/**
 * Settings of the shared backing (config `drivers.efs.settings`, env `STOWAGE_EFS_<SETTING>`). Exactly one of
 * `fileSystemId` and `fileSystemTag` names the general purpose file system ({@link checkEfsSettings}).
 */
export const EFS_SETTINGS = defineOptions({
  fileSystemId: { type: 'string', description: 'the general purpose file system, by ID', ...FILE_SYSTEM_ID },
  // The value of the `Name` tag, as the EFS console and seed 003 set it.
  fileSystemTag: { type: 'string', description: 'the general purpose file system, by the value of its Name tag' },
  maxIoFileSystemId: {
    type: 'string',
    description: 'the max I/O file system (perfmode=maxio), by ID',
    ...FILE_SYSTEM_ID,
  },
  maxIoFileSystemTag: { type: 'string', description: 'the max I/O file system (perfmode=maxio), by its Name tag' },
  region: {
    type: 'string',
    description: "the file systems' region; the AWS SDK's default chain when unset",
    pattern: /[a-z]{2}(-[a-z0-9]+)+-\d+/,
    patternHint: 'an AWS region such as us-east-1',
  },
  availabilityZone: {
    type: 'string',
    description: "this node's availability zone; from instance metadata when unset",
    pattern: /[a-z]{2}(-[a-z0-9]+)+-\d+[a-z]+/,
    patternHint: 'an availability zone such as us-east-1a',
  },
  accessPoints: {
    type: 'boolean',
    description: 'make each volume an EFS access point rooted at /<name> instead of a plain directory',
    default: false,
  },
  dnsSuffix: {
    type: 'string',
    description: 'DNS suffix of mount targets (<fs-id>.efs.<region>.<suffix>), for other partitions',
    default: 'amazonaws.com',
    pattern: /[a-z0-9]+([.-][a-z0-9]+)*/,
    patternHint: 'a DNS suffix such as amazonaws.com',
  },
  tls: {
    type: 'boolean',
    description: 'mount with efs-utils (mount -t efs -o tls), encrypting NFS in transit',
    default: false,
  },
  mountRoot: { type: 'string', description: 'where this node mounts file systems and access points', ...ABSOLUTE },
  nfsStandInDir: {
    type: 'string',
    description:
      'TESTS ONLY: instead of an NFS mount of file system <fs-id>, bind-mount <dir>/<fs-id> (for kernels with no NFS client); never set in production',
    ...ABSOLUTE,
  },
});

/** The parsed settings of the shared backing, inferred from {@link EFS_SETTINGS}. */
export type EfsSettings = InferOptions<typeof EFS_SETTINGS>;

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
