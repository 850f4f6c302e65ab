import { createLogger, StowageError, type Logger, type StowageConfig } from '@stowage/core';
import { EngineVolumeClient } from '../client/engine-volume-client.js';
import { PluginClient } from '../client/plugin-client.js';
import type { VolumeClient } from '../client/volume-client.js';
import { composeFromConfig } from '../composition/compose-from-config.js';
import { probeSocket } from '../protocol/socket-probe.js';
import type { CliConfig, CliContext } from './cli-context.js';

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

/** Runs `action` with a client and always closes it (stopping the embedded engine). */
export async function withVolumeClient<T>(
  context: CliContext,
  config: CliConfig,
  action: (client: VolumeClient) => Promise<T>,
): Promise<T> {
  const client = await openVolumeClient(context, config);
  try {
    return await action(client);
  } finally {
    await client.close();
  }
}
