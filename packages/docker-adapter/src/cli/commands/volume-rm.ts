import type { CommandModule } from 'yargs';
import { type CliContext, type ConnectionArgs, ReportedFailure, writeLine } from '../cli-context.js';
import { withVolumeClient } from '../open-volume-client.js';

interface VolumeRmArgs extends ConnectionArgs {
  readonly names: string[];
}

/**
 * `stowage volume rm <name...>`: prints each name removed; each failure is reported on stderr and makes the exit
 * status 1, the others are still removed (as `docker volume rm` does).
 */
export function volumeRmCommand(context: CliContext): CommandModule<ConnectionArgs, VolumeRmArgs> {
  return {
    command: 'rm <names..>',
    aliases: ['remove'],
    describe: 'Remove volumes and their data',
    builder: (yargs) =>
      yargs.positional('names', { type: 'string', array: true, demandOption: true, describe: 'Volume names' }),
    handler: async (args) => {
      const failures: string[] = [];
      await withVolumeClient(context, args, async (client) => {
        for (const name of args.names.map(String)) {
          try {
            await client.remove(name);
            writeLine(context.stdout, name);
          } catch (error) {
            failures.push((error as Error).message);
            writeLine(context.stderr, `stowage: ${(error as Error).message}`);
          }
        }
      });
      if (failures.length > 0) throw new ReportedFailure(failures.join('; '));
    },
  };
}
