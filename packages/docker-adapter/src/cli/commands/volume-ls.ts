import type { CommandModule } from 'yargs';
import { type CliContext, type ConnectionArgs, writeLine } from '../cli-context.js';
import { formatTable } from '../format-table.js';
import { withVolumeClient } from '../open-volume-client.js';

interface VolumeLsArgs extends ConnectionArgs {
  readonly quiet: boolean;
  readonly format: 'table' | 'json';
}

/** `stowage volume ls [--quiet] [--format table|json]`: every backing's volumes, sorted by name. */
export function volumeLsCommand(context: CliContext): CommandModule<ConnectionArgs, VolumeLsArgs> {
  return {
    command: 'ls',
    aliases: ['list'],
    describe: 'List volumes',
    builder: (yargs) =>
      yargs
        .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'Only print volume names' })
        .option('format', {
          type: 'string',
          choices: ['table', 'json'] as const,
          default: 'table' as const,
          describe: 'Output format',
        }),
    handler: async (args) => {
      const volumes = await withVolumeClient(context, args, (client) => client.list());
      volumes.sort((a, b) => a.Name.localeCompare(b.Name));
      if (args.quiet) {
        for (const volume of volumes) writeLine(context.stdout, volume.Name);
      } else if (args.format === 'json') {
        writeLine(context.stdout, JSON.stringify(volumes, null, 2));
      } else {
        writeLine(
          context.stdout,
          formatTable(
            ['VOLUME NAME', 'CREATED', 'MOUNTPOINT'],
            volumes.map((v) => [v.Name, v.CreatedAt ?? '', v.Mountpoint]),
          ),
        );
      }
    },
  };
}
