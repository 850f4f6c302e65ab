import { ContainerModule } from 'inversify';
import { LOGGER, STORAGE_PROVIDER, defineDriver } from '@stowage/core';
import { DEFAULT_LOCAL_ROOT, LocalProvider, type LocalProviderSettings } from './local-provider.js';

/**
 * The local backing's driver definition: directory volumes under `root` on this host. Loaded by default, so the
 * plugin serves local volumes with no cloud and no config; `STOWAGE_LOCAL_ROOT` moves the volumes elsewhere.
 */
export const driver = defineDriver<LocalProviderSettings>({
  name: 'local',
  description: 'Directory volumes on this host (scope local)',
  settings: [
    {
      name: 'root',
      type: 'string',
      description: 'absolute directory holding one subdirectory per volume',
      default: DEFAULT_LOCAL_ROOT,
      pattern: /\/.*/,
      patternHint: 'an absolute path',
    },
  ],
  module: (settings) =>
    new ContainerModule(({ bind }) => {
      bind(STORAGE_PROVIDER)
        .toDynamicValue((ctx) => new LocalProvider(settings, ctx.get(LOGGER).child({ backing: 'local' })))
        .inSingletonScope();
    }),
});
