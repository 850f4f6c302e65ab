import type { CommandModule } from 'yargs';
import type { CliContext, ConnectionArgs, GlobalArgs } from '../cli-context.js';
import { withApiOptions } from '../api-options.js';
import { withConnectionOptions } from '../connection-options.js';
import { volumeCreateCommand } from './volume-create.js';
import { volumeInspectCommand } from './volume-inspect.js';
import { volumeLsCommand } from './volume-ls.js';
import { volumeRmCommand } from './volume-rm.js';

/**
 * `stowage volume <command>`: through the plugin when one serves the socket, else through the engine directly; with
 * `--api URL`, through a remote node's /v1 API.
 */
export function volumeCommand(context: CliContext): CommandModule<GlobalArgs, ConnectionArgs> {
  return {
    command: 'volume',
    describe:
      'Manage volumes (through the running plugin if one answers on the socket, else directly; ' +
      "or through a node's HTTP API with --api)",
    builder: (yargs) =>
      withApiOptions(withConnectionOptions(yargs))
        .command(volumeCreateCommand(context))
        .command(volumeLsCommand(context))
        .command(volumeInspectCommand(context))
        .command(volumeRmCommand(context))
        .demandCommand(1, 'give a volume command: create, ls, inspect or rm'),
    handler: () => {
      // Never reached: demandCommand requires a subcommand.
    },
  };
}
