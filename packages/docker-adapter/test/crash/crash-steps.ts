import type { EngineFailpoint, MountTableFailpoint } from '@stowage/core/testing';
import type { EBS_FAILPOINTS } from '@stowage/driver-ebs';
import type { LOCAL_FAILPOINTS } from '@stowage/driver-local';
import {
  CREATE,
  CROSS_ZONE_MOVE,
  FIRST_MOUNT,
  FIRST_MOUNT_OF_BLANK,
  LAST_UNMOUNT,
  REMOVE,
  SECOND_MOUNT,
  STARTUP,
  UNMOUNT_WHILE_HELD,
  type CrashScenario,
} from './crash-scenarios.js';

/** The scenarios that pass each failpoint: a kill there is tried in each of them. */
export type StepScenarios<Name extends string> = Readonly<Record<Name, readonly CrashScenario[]>>;

/**
 * The engine's failpoints, on every backing. A point on the counted path (another caller holds the volume) is tried
 * both with and without that caller; intent and provider points lie on the first caller's path only.
 */
export const ENGINE_STEPS: StepScenarios<EngineFailpoint> = {
  'create:before-provider': [CREATE],
  'create:after-provider': [CREATE],
  'mount:before-table-write': [FIRST_MOUNT, SECOND_MOUNT],
  'mount:after-intent': [FIRST_MOUNT],
  'mount:after-provider': [FIRST_MOUNT],
  'mount:after-commit': [FIRST_MOUNT, SECOND_MOUNT],
  'mount:before-answered-record': [FIRST_MOUNT],
  'unmount:before-table-write': [LAST_UNMOUNT, UNMOUNT_WHILE_HELD],
  'unmount:after-intent': [LAST_UNMOUNT],
  'unmount:after-provider': [LAST_UNMOUNT],
  'unmount:after-commit': [LAST_UNMOUNT, UNMOUNT_WHILE_HELD],
  'remove:before-provider': [REMOVE],
  'remove:after-provider': [REMOVE],
};

/**
 * The mount table's failpoints (its journal): every table write appends, so the first append an operation makes is
 * where it dies; a compaction runs at start-up (and at shutdown, and every so many changes).
 */
export const MOUNT_TABLE_STEPS: StepScenarios<MountTableFailpoint> = {
  'mount-table:before-append': [SECOND_MOUNT],
  'mount-table:after-append': [FIRST_MOUNT, SECOND_MOUNT, LAST_UNMOUNT, UNMOUNT_WHILE_HELD],
  'mount-table:before-snapshot': [STARTUP],
  'mount-table:after-snapshot': [STARTUP],
};

export const LOCAL_STEPS: StepScenarios<(typeof LOCAL_FAILPOINTS)[number]> = {
  'local:create:before-metadata': [CREATE],
  'local:create:before-publish': [CREATE],
  'local:remove:after-withdraw': [REMOVE],
};

/** The relocatable driver's: in the middle of an attach, before a blank volume's format, and at each step of a move. */
export const EBS_STEPS: StepScenarios<(typeof EBS_FAILPOINTS)[number]> = {
  'ebs:mount:after-attach-request': [FIRST_MOUNT],
  'ebs:mount:before-format': [FIRST_MOUNT_OF_BLANK],
  'ebs:move:after-claim': [CROSS_ZONE_MOVE],
  'ebs:move:after-snapshot': [CROSS_ZONE_MOVE],
  'ebs:move:after-copy': [CROSS_ZONE_MOVE],
  'ebs:move:after-commit': [CROSS_ZONE_MOVE],
  'ebs:move:after-source-deleted': [CROSS_ZONE_MOVE],
};
