import { createRequire } from 'node:module';
import { createLogger } from '@stowage/core';
import {
  CSI_MODES,
  type CsiMode,
  CsiRequestMetrics,
  csiSocketPath,
  defaultPluginName,
  startCsiServer,
  validatePluginName,
} from '@stowage/csi-adapter';
import type { CommandModule } from 'yargs';
import { OpsMetrics, type OpsServer } from '@stowage/http-api';
import { composeFromConfig } from '../../composition/compose-from-config.js';
import { claimSocketPath } from '../../protocol/plugin-server.js';
import { type CliContext, type GlobalArgs, loadCliConfig } from '../cli-context.js';
import { HTTP_OPTION, startConfiguredOpsServer } from '../ops-endpoint.js';
import { stopSignal } from '../stop-signal.js';

const { version } = createRequire(import.meta.url)('@stowage/csi-adapter/package.json') as { version: string };

/** Where the plugin listens when neither `--endpoint` nor `CSI_ENDPOINT` (the variable every CO sets) says. */
export const DEFAULT_CSI_ENDPOINT = 'unix:///run/stowage/csi.sock';

interface CsiArgs extends GlobalArgs {
  readonly endpoint?: string;
  readonly mode: CsiMode;
  readonly name?: string;
  readonly nodeId?: string;
  readonly stateDir?: string;
  readonly http?: string;
}

/**
 * `stowage csi`: the configured backings as a CSI plugin in the foreground, configured as `stowage serve` is (same
 * file, same variables), until SIGTERM or SIGINT. As for `serve`, the engine starts (and reconciles this node's
 * mounts) before the socket opens, and on stop published volumes stay mounted and recorded.
 */
export function csiCommand(context: CliContext): CommandModule<GlobalArgs, CsiArgs> {
  return {
    command: 'csi',
    describe: 'Run the CSI plugin (Swarm cluster volumes, Nomad, Kubernetes) in the foreground',
    builder: (yargs) =>
      yargs
        .option('endpoint', {
          type: 'string',
          describe: 'CSI endpoint, a unix socket (env CSI_ENDPOINT)',
          defaultDescription: DEFAULT_CSI_ENDPOINT,
        })
        .option('mode', {
          choices: CSI_MODES,
          default: 'both' as CsiMode,
          describe: 'Services to serve besides Identity: controller, node or both',
        })
        .option('name', {
          type: 'string',
          describe: 'Plugin name reported to the orchestrator (default: stowage.<default backing>)',
        })
        .option('node-id', {
          type: 'string',
          describe: 'Node id reported to the orchestrator',
          defaultDescription: "a backing's (the EC2 instance id), else the hostname",
        })
        .option('state-dir', { type: 'string', describe: 'State directory (env STOWAGE_STATE_DIR)' })
        .option('http', HTTP_OPTION)
        .example('$0 csi --endpoint unix:///run/csi/csi.sock --mode node', 'serve the node part of a CSI plugin')
        .example('$0 csi --http 127.0.0.1:9808', 'and health, readiness and metrics over HTTP on loopback'),
    handler: async (args) => {
      const socket = csiSocketPath(args.endpoint ?? context.env.CSI_ENDPOINT ?? DEFAULT_CSI_ENDPOINT);
      if (args.name !== undefined) validatePluginName(args.name);
      const config = await loadCliConfig(context, { config: args.config, stateDir: args.stateDir, http: args.http });
      const logger = createLogger({ level: config.logLevel });
      const stopped = stopSignal(logger);
      const { http } = config.sections;
      await claimSocketPath(socket, logger);
      // As for `serve`: made before the engine, whose drivers report their cloud calls to it from their first.
      const metrics = http.listen ? new OpsMetrics() : undefined;
      const stowage = await composeFromConfig(config, { logger, cwd: context.cwd, telemetry: metrics?.telemetry });
      metrics?.follow(stowage.engine, stowage.events);
      const csiRequests = metrics ? CsiRequestMetrics.registeredIn(metrics.registry) : undefined;
      let server;
      let ops: OpsServer | undefined;
      try {
        await stowage.engine.start();
        const defaultBacking = stowage.engine.backings().find((b) => b.isDefault)?.name ?? 'stowage';
        server = await startCsiServer({
          engine: stowage.engine,
          socket,
          mode: args.mode,
          pluginName: args.name ?? defaultPluginName(defaultBacking),
          version,
          ...(args.nodeId !== undefined ? { nodeId: args.nodeId } : {}),
          logger,
          observe: csiRequests?.observe,
        });
        ops = await startConfiguredOpsServer(http, { engine: stowage.engine, metrics, logger, events: stowage.events });
      } catch (error) {
        await server?.close();
        await stowage.close();
        throw error;
      }
      logger.info(
        {
          socket,
          mode: args.mode,
          stateDir: config.stateDir,
          backings: stowage.engine.backings(),
          http: ops ? ops.url : 'off',
        },
        `stowage CSI plugin listening on unix://${socket}`,
      );
      const signal = await stopped;
      logger.info({ signal }, 'stopping: closing the socket, then the engine; published volumes stay recorded');
      await ops?.close();
      await server.close();
      await stowage.close();
      logger.info({}, 'stopped');
    },
  };
}
