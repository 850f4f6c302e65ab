import { resolve } from 'node:path';
import { createLogger, StowageError, type Logger, type StowageConfig } from '@stowage/core';
import { readBearerTokenFile, VolumeApiClient } from '@stowage/http-api';
import { ApiVolumeClient } from '../client/api-volume-client.js';
import { EngineVolumeClient } from '../client/engine-volume-client.js';
import { PluginClient } from '../client/plugin-client.js';
import type { VolumeClient } from '../client/volume-client.js';
import { composeFromConfig } from '../composition/compose-from-config.js';
import { probeSocket } from '../protocol/socket-probe.js';
import { type CliConfig, type CliContext, type ConnectionArgs, loadCliConfig, UsageError } from './cli-context.js';

/**
 * The plugin serving the configured socket when one answers there; else the engine opened in this process. A
 * running plugin holds the state directory, so the two never compete for it.
 */
export async function openVolumeClient(context: CliContext, config: CliConfig): Promise<VolumeClient> {
  const { socket } = config.sections.docker;
  let state;
  try {
    state = await probeSocket(socket);
  } catch (error) {
    // Typically EACCES: a plugin is there, but this user may not talk to it (the socket is 0660).
    throw StowageError.wrap(error, `cannot reach the plugin at ${socket}`);
  }
  if (state === 'live') return new PluginClient({ socket });
  const stowage = await composeFromConfig(config, { logger: commandLogger(context, config), cwd: context.cwd });
  return EngineVolumeClient.open(stowage);
}

/**
 * A one-shot command's logs go to stderr, so stdout stays parseable (`ls --format json`), and only warnings and
 * errors unless the configuration asks for debugging: the engine's start-up lines are noise here.
 */
export function commandLogger(context: CliContext, config: StowageConfig): Logger {
  const verbose = config.logLevel === 'debug' || config.logLevel === 'trace';
  const level =
    verbose || config.logLevel === 'silent' || config.logLevel === 'error' || config.logLevel === 'fatal'
      ? config.logLevel
      : 'warn';
  return createLogger({ level, destination: context.stderr });
}

/**
 * The client of a remote node's /v1 API named by `--api`, with the token of `--token-file` (a path relative to the
 * working directory); this host's configuration plays no part.
 */
export async function openApiClient(context: CliContext, api: string, tokenFile?: string): Promise<VolumeApiClient> {
  const token =
    tokenFile === undefined ? undefined : await readBearerTokenFile(resolve(context.cwd, tokenFile), '--token-file');
  try {
    return new VolumeApiClient({ url: api, ...(token === undefined ? {} : { token }) });
  } catch (error) {
    // A URL it cannot use is a wrong command line, as yargs' own refusals are.
    throw StowageError.is(error) ? new UsageError(`--api: ${error.message}`) : error;
  }
}

/**
 * Runs `action` with a client and always closes it (stopping the embedded engine): the remote API's with `--api`,
 * else {@link openVolumeClient}'s on the configuration.
 */
export async function withVolumeClient<T>(
  context: CliContext,
  args: ConnectionArgs,
  action: (client: VolumeClient) => Promise<T>,
): Promise<T> {
  const client =
    args.api === undefined
      ? await openVolumeClient(context, await loadCliConfig(context, args))
      : new ApiVolumeClient(await openApiClient(context, args.api, args.tokenFile));
  try {
    return await action(client);
  } finally {
    await client.close();
  }
}
