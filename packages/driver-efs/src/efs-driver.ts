import { join } from 'node:path';
import { defineDriver } from '@stowage/core';
import { EFS_OPTIONS } from './efs-options.js';
import { EfsProvider } from './efs-provider.js';
import { EFS_SETTINGS } from './efs-settings.js';

/**
 * The shared backing's driver definition (`backing=shared` or `backing=efs`): volumes on an Amazon EFS file system
 * found by ID or by its Name tag. Settings come from `drivers.efs.settings` or `STOWAGE_EFS_<SETTING>`; region,
 * endpoint and credentials otherwise from the AWS SDK's own chains (`AWS_REGION`, `AWS_ENDPOINT_URL`, ...).
 */
export const driver = defineDriver({
  name: 'efs',
  description: 'Shared volumes on Amazon EFS, mounted by every node at once (scope global)',
  settings: EFS_SETTINGS,
  options: EFS_OPTIONS,
  // The provider refuses settings that name no file system, or one twice (checkEfsSettings).
  create: ({ settings, host, logger, driverDir, telemetry }) =>
    new EfsProvider(
      { ...settings, mountRoot: settings.mountRoot ?? join(driverDir, 'mounts') },
      { host, logger, telemetry },
    ),
});
