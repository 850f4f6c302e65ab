import type { Argv } from 'yargs';

/** Adds `--socket` and `--state-dir`, which override the configuration file and the environment. */
export function withConnectionOptions<T>(yargs: Argv<T>) {
  return yargs
    .option('socket', {
      type: 'string',
      describe: 'Unix socket of the plugin (env STOWAGE_SOCKET)',
      defaultDescription: '/run/docker/plugins/stowage.sock',
    })
    .option('state-dir', {
      type: 'string',
      describe: 'State directory: mount table and drivers state (env STOWAGE_STATE_DIR)',
      defaultDescription: '/var/lib/stowage',
    });
}
