import type { BackingSummary } from '@stowage/core';
import type { CommandModule } from 'yargs';
import { withApiOptions } from '../api-options.js';
import { type CliContext, type ConnectionArgs, loadCliConfig, writeLine } from '../cli-context.js';
import { composeFromConfig } from '../../composition/compose-from-config.js';
import { formatTable } from '../format-table.js';
import { commandLogger, openApiClient } from '../open-volume-client.js';

interface BackingsArgs extends ConnectionArgs {
  readonly format: 'table' | 'json';
}

/**
 * `stowage backings`: the configured backings, their scope and which one is the default. Composes without starting
 * the engine, so it works beside a running plugin and touches no backend; with `--api URL`, a remote node's.
 */
export function backingsCommand(context: CliContext): CommandModule<ConnectionArgs, BackingsArgs> {
  return {
    command: 'backings',
    describe: 'List the configured backings, their scope and the default',
    builder: (yargs) =>
      withApiOptions(yargs).option('format', {
        type: 'string',
        choices: ['table', 'json'] as const,
        default: 'table' as const,
        describe: 'Output format',
      }),
    handler: async (args) => {
      const backings =
        args.api === undefined
          ? await localBackings(context, args)
          : await remoteBackings(context, { ...args, api: args.api });
      if (args.format === 'json') {
        writeLine(context.stdout, JSON.stringify(backings, null, 2));
        return;
      }
      writeLine(
        context.stdout,
        formatTable(
          ['BACKING', 'ALIASES', 'SCOPE', 'DEFAULT'],
          backings.map((b) => [b.name, b.aliases.join(',') || '-', b.scope, b.isDefault ? 'yes' : '']),
        ),
      );
    },
  };
}

async function localBackings(context: CliContext, args: ConnectionArgs): Promise<BackingSummary[]> {
  const config = await loadCliConfig(context, args);
  const stowage = await composeFromConfig(config, { logger: commandLogger(context, config), cwd: context.cwd });
  const backings = stowage.engine.backings();
  await stowage.close();
  return backings;
}

async function remoteBackings(context: CliContext, args: ConnectionArgs & { api: string }): Promise<BackingSummary[]> {
  return (await (await openApiClient(context, args.api, args.tokenFile)).backings()).backings;
}
