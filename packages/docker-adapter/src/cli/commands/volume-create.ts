import type { CommandModule } from 'yargs';
import { type CliContext, type ConnectionArgs, UsageError, writeLine } from '../cli-context.js';
import { withVolumeClient } from '../open-volume-client.js';
import { parseOpts } from '../parse-opts.js';

interface VolumeCreateArgs extends ConnectionArgs {
  readonly name: string;
  readonly opt: string[];
  readonly backing?: string;
}

/** `stowage volume create <name> [--opt k=v ...] [--backing b]`: prints the name once the volume exists. */
export function volumeCreateCommand(context: CliContext): CommandModule<ConnectionArgs, VolumeCreateArgs> {
  return {
    command: 'create <name>',
    describe: 'Create a volume',
    builder: (yargs) =>
      yargs
        .positional('name', { type: 'string', demandOption: true, describe: 'Volume name' })
        .option('opt', {
          alias: 'o',
          type: 'string',
          requiresArg: true,
          describe: 'Create option key=value (repeatable), as for docker volume create --opt',
          // A plain repeated string option, not `array: true`, which would swallow a following positional.
          coerce: (value: unknown) => [value ?? []].flat().map(String),
          default: [],
          defaultDescription: 'none',
        })
        .option('backing', { type: 'string', describe: 'Backing to create the volume on (same as --opt backing=...)' })
        .example('$0 volume create db1', 'on the default backing')
        .example('$0 volume create cache --opt backing=local --opt uid=1000', 'a local volume owned by uid 1000'),
    handler: async (args) => {
      const options = parseOpts(args.opt);
      if (args.backing !== undefined) {
        if (options.backing !== undefined && options.backing !== args.backing) {
          throw new UsageError(`--backing ${args.backing} contradicts --opt backing=${options.backing}`);
        }
        options.backing = args.backing;
      }
      await withVolumeClient(context, args, (client) => client.create(args.name, options));
      writeLine(context.stdout, args.name);
    },
  };
}
