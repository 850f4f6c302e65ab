import { join } from 'node:path';
import { ContainerModule } from 'inversify';
import { HOST_OPERATIONS, LOGGER, NODE_CONTEXT, STORAGE_PROVIDER, defineDriver } from '@stowage/core';
import { LoopfsProvider } from './loopfs-provider.js';

/** Settings of the loopfs driver (config `drivers.loopfs.settings`, env `STOWAGE_LOOPFS_<SETTING>`). */
export type LoopfsSettings = {
  /** Where images, metadata and mount points live; `<stateDir>/drivers/loopfs` when not set. */
  readonly root?: string;
};

/**
 * The loopfs driver: what the plugin loads from `STOWAGE_LOOPFS_MODULE` (or `drivers.loopfs.module`) to serve
 * `--opt backing=loopfs` volumes.
 */
export const driver = defineDriver<LoopfsSettings>({
  name: 'loopfs',
  description: 'Size-limited ext4 volumes in loop-mounted sparse files on this host (scope local)',
  settings: [
    {
      name: 'root',
      type: 'string',
      description: 'absolute directory holding the volume images; <stateDir>/drivers/loopfs by default',
      pattern: /\/.*/,
      patternHint: 'an absolute path',
    },
  ],
  module: (settings) =>
    new ContainerModule(({ bind }) => {
      bind(STORAGE_PROVIDER)
        .toDynamicValue((ctx) => {
          const root = settings.root ?? join(ctx.get(NODE_CONTEXT).stateDir, 'drivers', 'loopfs');
          return new LoopfsProvider({ root }, ctx.get(HOST_OPERATIONS), ctx.get(LOGGER).child({ backing: 'loopfs' }));
        })
        .inSingletonScope();
    }),
});
