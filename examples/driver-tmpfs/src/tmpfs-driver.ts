import { defineDriver, defineOptions } from '@stowage/core';
import { TMPFS_OPTIONS } from './tmpfs-options.js';
import { TmpfsProvider } from './tmpfs-provider.js';

/** The tmpfs driver: what the plugin loads from `STOWAGE_TMPFS_MODULE` to serve `--opt backing=tmpfs` volumes. */
export const driver = defineDriver({
  name: 'tmpfs',
  description: 'Size-limited RAM scratch volumes on this host, emptied by every Unmount (scope local)',
  settings: defineOptions({
    root: {
      type: 'string',
      description: 'absolute directory of the volume records and mount points; <stateDir>/drivers/tmpfs by default',
      pattern: /\/.*/,
      patternHint: 'an absolute path',
    },
  }),
  options: TMPFS_OPTIONS,
  create: ({ settings, host, logger, driverDir }) =>
    new TmpfsProvider({ root: settings.root ?? driverDir }, host, logger),
});
