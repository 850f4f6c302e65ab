import type { CommandModule } from 'yargs';
import type { DockerVolume } from '../../protocol/docker-volume.js';
import { type CliContext, type ConnectionArgs, ReportedFailure, writeLine } from '../cli-context.js';
import { withVolumeClient } from '../open-volume-client.js';

interface VolumeInspectArgs extends ConnectionArgs {
  readonly names: string[];
}

/** The shape of `docker volume inspect`, from what the plugin's Get carries (scope and options ride in Status). */
function inspectView(volume: DockerVolume): Record<string, unknown> {
  const { scope, options, ...status } = (volume.Status ?? {}) as Record<string, unknown>;
  return {
    CreatedAt: volume.CreatedAt,
    Driver: 'stowage',
    Mountpoint: volume.Mountpoint,
    Name: volume.Name,
    Options: options ?? {},
    Scope: scope,
    Status: status,
  };
}

/**
 * `stowage volume inspect <name...>`: a JSON array of the volumes found, like docker's; each missing one is
 * reported on stderr and makes the exit status 1.
 */
export function volumeInspectCommand(context: CliContext): CommandModule<ConnectionArgs, VolumeInspectArgs> {
  return {
    command: 'inspect <names..>',
    describe: 'Show volumes in detail, as JSON',
    builder: (yargs) =>
      yargs.positional('names', { type: 'string', array: true, demandOption: true, describe: 'Volume names' }),
    handler: async (args) => {
      const failures: string[] = [];
      const found = await withVolumeClient(context, args, async (client) => {
        const views: Record<string, unknown>[] = [];
        for (const name of args.names) {
          try {
            views.push(inspectView(await client.get(String(name))));
          } catch (error) {
            failures.push((error as Error).message);
          }
        }
        return views;
      });
      writeLine(context.stdout, JSON.stringify(found, null, 2));
      for (const failure of failures) writeLine(context.stderr, `stowage: ${failure}`);
      if (failures.length > 0) throw new ReportedFailure(failures.join('; '));
    },
  };
}
