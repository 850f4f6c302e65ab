import { ContainerModule } from 'inversify';
import { HOST_OPERATIONS, LOGGER, NODE_CONTEXT, STORAGE_PROVIDER, defineDriver } from '@stowage/core';
import { EbsProvider } from './ebs-provider.js';
import { EBS_SETTINGS, type EbsSettings } from './ebs-settings.js';

/**
 * The relocatable backing's driver definition: EBS volumes attached to whichever node mounts them. Needs at least
 * `STOWAGE_EBS_CLUSTERID`; the node's region, instance and zone come from instance metadata unless set.
 */
export const driver = defineDriver<EbsSettings>({
  name: 'ebs',
  description: 'Relocatable volumes on Amazon EBS (scope global)',
  settings: EBS_SETTINGS,
  module: (settings) =>
    new ContainerModule(({ bind }) => {
      bind(STORAGE_PROVIDER)
        .toDynamicValue(
          (ctx) =>
            new EbsProvider(settings, {
              host: ctx.get(HOST_OPERATIONS),
              logger: ctx.get(LOGGER).child({ backing: 'ebs' }),
              stateDir: ctx.get(NODE_CONTEXT).stateDir,
            }),
        )
        .inSingletonScope();
    }),
});
