import { setFlagsFromString } from 'node:v8';
import { createLogger } from '@stowage/core';
import type { CommandModule } from 'yargs';
import { composeFromConfig } from '../../composition/compose-from-config.js';
import { DockerEngineApi, dockerConfirmsResend } from '../../docker/docker-containers.js';
import { forgettingReleased, ResentMounts } from '../../docker/resent-mounts.js';
import { HoldsReconciler } from '../../docker/holds-reconciler.js';
import { claimSocketPath, type PluginServer, startPluginServer } from '../../protocol/plugin-server.js';
import { OpsMetrics, type OpsServer } from '@stowage/http-api';
import { PluginRequestMetrics } from '../../protocol/plugin-request-metrics.js';
import { type CliContext, type ConnectionArgs, loadCliConfig } from '../cli-context.js';
import { withConnectionOptions } from '../connection-options.js';
import { HTTP_OPTION, startConfiguredOpsServer } from '../ops-endpoint.js';
import { stopSignal } from '../stop-signal.js';

/**
 * `stowage serve`: runs the plugin in the foreground, logging JSON lines to stdout, until SIGTERM or SIGINT. The
 * engine starts (and reconciles this node's mounts) before the socket opens: Docker retries a missing socket, and
 * answering before reconciliation could report stale mounts. On stop, mounts stay in place and recorded.
 */
export function serveCommand(context: CliContext): CommandModule<ConnectionArgs, ConnectionArgs> {
  return {
    command: 'serve',
    describe: 'Run the Docker volume plugin in the foreground',
    builder: (yargs) =>
      withConnectionOptions(yargs)
        .option('http', HTTP_OPTION)
        .example('$0 serve --socket /run/docker/plugins/stowage.sock', 'serve Docker on its plugin socket')
        .example('$0 serve --http 127.0.0.1:9803', 'and the HTTP ops endpoints on loopback'),
    handler: async (args) => {
      // A daemon with little live data (about 20 MiB of heap at 10,000 volumes): under load V8's default sizing grew
      // the young generation to 32 MiB and the old one to several times the live data, about 190 MiB resident at
      // 10,000 volumes. Sizing for memory keeps throughput and latency (bench/, BENCHMARKS.md) below 130 MiB. The
      // flag only steers heap-sizing heuristics, so setting it now rather than on node's command line is safe, and
      // it then holds however the plugin is started (systemd, the managed plugin, a shell).
      setFlagsFromString('--optimize-for-size');
      const config = await loadCliConfig(context, args);
      const logger = createLogger({ level: config.logLevel });
      // Listened for from the start, so a stop during start-up still shuts down cleanly instead of killing us.
      const stopped = stopSignal(logger);
      const { socket, holds } = config.sections.docker;
      const { http } = config.sections;
      // Checked again when listening; this only spares a second plugin the wait for the state directory's lock.
      await claimSocketPath(socket, logger);
      // Only with the ops server: without it, the socket's path does not even pay for the metrics' increments. Made
      // before the engine, whose drivers report their cloud calls to it from their first.
      const metrics = http.listen ? new OpsMetrics() : undefined;
      const stowage = await composeFromConfig(config, { logger, cwd: context.cwd, telemetry: metrics?.telemetry });
      metrics?.follow(stowage.engine, stowage.events);
      const docker = holds.dockerApi === undefined ? undefined : new DockerEngineApi(holds.dockerApi);
      const resentMounts = docker ? new ResentMounts((name) => dockerConfirmsResend(docker, name)) : undefined;
      const reconciler = docker
        ? new HoldsReconciler(forgettingReleased(stowage.engine, resentMounts), docker, logger, {
            intervalMs: holds.intervalSeconds * 1000,
            graceMs: holds.graceSeconds * 1000,
          })
        : undefined;
      const pluginRequests = metrics ? PluginRequestMetrics.registeredIn(metrics.registry) : undefined;
      let server: PluginServer | undefined;
      let ops: OpsServer | undefined;
      try {
        await stowage.engine.start();
        resentMounts?.remember(stowage.engine.holds());
        server = await startPluginServer({
          engine: stowage.engine,
          socket,
          logger,
          onActivate: reconciler ? () => reconciler.nudge() : undefined,
          resentMounts,
          observe: pluginRequests?.observe,
        });
        ops = await startConfiguredOpsServer(http, {
          engine: stowage.engine,
          metrics,
          logger,
          events: stowage.events,
        });
      } catch (error) {
        await server?.close();
        resentMounts?.close();
        await stowage.close();
        throw error;
      }
      reconciler?.start();
      logger.info(
        {
          socket,
          stateDir: config.stateDir,
          scope: stowage.engine.scope(),
          backings: stowage.engine.backings(),
          dockerApi: holds.dockerApi ?? 'off',
          http: ops ? ops.url : 'off',
        },
        `stowage plugin listening on unix://${socket}`,
      );
      const signal = await stopped;
      logger.info({ signal }, 'stopping: closing the socket, then the engine; mounts stay recorded');
      await reconciler?.stop();
      await ops?.close();
      await server.close();
      resentMounts?.close();
      await stowage.close();
      logger.info({}, 'stopped');
    },
  };
}
