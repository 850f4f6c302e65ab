import { defineDriver, defineOptions } from '@stowage/core';
import { LOOPFS_OPTIONS } from './loopfs-options.js';
import { LoopfsProvider } from './loopfs-provider.js';

/**
 * The loopfs driver: what the plugin loads from `STOWAGE_LOOPFS_MODULE` (or `drivers.loopfs.module`) to serve
 * `--opt backing=loopfs` volumes.
 */
export const driver = defineDriver({
  name: 'loopfs',
  description: 'Size-limited ext4 volumes in loop-mounted sparse files on this host (scope local)',
  settings: defineOptions({
    root: {
      type: 'string',
      description: 'absolute directory holding the volume images; <stateDir>/drivers/loopfs by default',
      pattern: /\/.*/,
      patternHint: 'an absolute path',
    },
  }),
  options: LOOPFS_OPTIONS,
  create: ({ settings, host, logger, driverDir }) =>
    new LoopfsProvider({ root: settings.root ?? driverDir }, host, logger),
});
