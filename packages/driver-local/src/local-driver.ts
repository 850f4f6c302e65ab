import { defineDriver, defineOptions, type InferOptions } from '@stowage/core';
import { LOCAL_OPTIONS } from './local-options.js';
import { DEFAULT_LOCAL_ROOT, LocalProvider } from './local-provider.js';

/**
 * The local backing's driver definition: directory volumes under `root` on this host. Loaded by default, so the
 * plugin serves local volumes with no cloud and no config; `STOWAGE_LOCAL_ROOT` moves the volumes elsewhere.
 */
export const driver = defineDriver({
  name: 'local',
  description: 'Directory volumes on this host (scope local)',
  settings: defineOptions({
    root: {
      type: 'string',
      description: 'absolute directory holding one subdirectory per volume',
      default: DEFAULT_LOCAL_ROOT,
      pattern: /\/.*/,
      patternHint: 'an absolute path',
    },
  }),
  options: LOCAL_OPTIONS,
  create: ({ settings, logger }) => new LocalProvider(settings, logger),
});

/** The parsed settings of the local backing (config `drivers.local.settings`, env `STOWAGE_LOCAL_ROOT`). */
export type LocalSettings = InferOptions<typeof driver.settings>;
