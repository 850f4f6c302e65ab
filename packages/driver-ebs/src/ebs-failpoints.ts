import { failpointsOf } from '@stowage/core';

/**
 * The relocatable driver's failpoints (see core's `failpoint`): in the middle of making a volume usable here (the
 * attach requested but not yet seen, the device found but not yet formatted) and at each step of a move across
 * zones (claimed, snapshot taken, copy made, copy committed, old volume deleted but the move not yet finished).
 */
export const EBS_FAILPOINTS = [
  'ebs:mount:after-attach-request',
  'ebs:mount:before-format',
  'ebs:move:after-claim',
  'ebs:move:after-snapshot',
  'ebs:move:after-copy',
  'ebs:move:after-commit',
  'ebs:move:after-source-deleted',
] as const;

export const ebsFailpoint = failpointsOf(EBS_FAILPOINTS);
