import { defineDriver } from '@stowage/core';
import { EbsProvider } from './ebs-provider.js';
import { EBS_SETTINGS } from './ebs-settings.js';

/**
 * The relocatable backing's driver definition: EBS volumes attached to whichever node mounts them. Needs at least
 * `STOWAGE_EBS_CLUSTER_ID`; the node's region, instance and zone come from instance metadata unless set. Its create
 * options are the provider's: their `fstype` default is a setting.
 */
export const driver = defineDriver({
  name: 'ebs',
  description: 'Relocatable volumes on Amazon EBS (scope global)',
  settings: EBS_SETTINGS,
  create: ({ settings, host, logger, node, telemetry }) =>
    new EbsProvider(settings, { host, logger, stateDir: node.stateDir, telemetry }),
});
