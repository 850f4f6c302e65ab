import { join } from 'node:path';
import { ContainerModule } from 'inversify';
import { HOST_OPERATIONS, LOGGER, NODE_CONTEXT, STORAGE_PROVIDER, defineDriver } from '@stowage/core';
import { EfsProvider } from './efs-provider.js';
import { EFS_SETTINGS, checkEfsSettings, type EfsSettings } from './efs-settings.js';

/**
 * The shared backing's driver definition (`backing=shared` or `backing=efs`): volumes on an Amazon EFS file system
 * found by ID or by its Name tag. Settings come from `drivers.efs.settings` or `STOWAGE_EFS_<SETTING>`; region,
 * endpoint and credentials otherwise from the AWS SDK's own chains (`AWS_REGION`, `AWS_ENDPOINT_URL`, ...).
 */
export const driver = defineDriver<EfsSettings>({
  name: 'efs',
  description: 'Shared volumes on Amazon EFS, mounted by every node at once (scope global)',
  settings: EFS_SETTINGS,
  module: (settings) => {
    checkEfsSettings(settings);
    return new ContainerModule(({ bind }) => {
      bind(STORAGE_PROVIDER)
        .toDynamicValue((ctx) => {
          const mountRoot = settings.mountRoot ?? join(ctx.get(NODE_CONTEXT).stateDir, 'drivers', 'efs', 'mounts');
          return new EfsProvider(
            { ...settings, mountRoot },
            { host: ctx.get(HOST_OPERATIONS), logger: ctx.get(LOGGER).child({ backing: 'efs' }) },
          );
        })
        .inSingletonScope();
    });
  },
});
