import { DEFAULT_STATE_DIR } from '@stowage/core';
import type { Argv } from 'yargs';
import { DEFAULT_SOCKET } from '../config/docker-config-section.js';

/** Adds `--socket` and `--state-dir`, which override the configuration file and the environment. */
export function withConnectionOptions<T>(yargs: Argv<T>) {
  return yargs
    .option('socket', {
      type: 'string',
      describe: 'Unix socket of the plugin (env STOWAGE_SOCKET)',
      defaultDescription: DEFAULT_SOCKET,
    })
    .option('state-dir', {
      type: 'string',
      describe: 'State directory: mount table and drivers state (env STOWAGE_STATE_DIR)',
      defaultDescription: DEFAULT_STATE_DIR,
    });
}
