import { defineDriver } from '@stowage/core';
import { EBS_BACKING } from './ebs-backing.js';
import { EbsProvider } from './ebs-provider.js';
import { EBS_SETTINGS } from './ebs-settings.js';

/**
 * The relocatable backing's driver definition: EBS volumes attached to whichever node mounts them. Needs at least
 * `STOWAGE_EBS_CLUSTER_ID`; the node's region, instance and zone come from instance metadata unless set. Its create
 * options are the provider's: their `fstype` default is a setting.
 */
export const driver = defineDriver({
  name: EBS_BACKING,
  description: 'Relocatable volumes on Amazon EBS (scope global)',
  settings: EBS_SETTINGS,
  create: ({ settings, host, logger, node, events, telemetry }) =>
    new EbsProvider(settings, { host, logger, events, stateDir: node.stateDir, telemetry }),
});
