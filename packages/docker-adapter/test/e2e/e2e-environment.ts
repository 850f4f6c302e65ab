import {
  type CommandResult,
  DockerEngine,
  importBusyboxImage,
  PluginProcess,
  waitUntil,
} from '@stowage/testkit/docker';
import { CLI } from '../support/stowage-cli.js';
import { TeardownSteps } from './teardown-steps.js';

/** The driver name Docker gives the plugin from its socket file name. */
export const DRIVER = 'stowage';

/** One test file's world: a private engine, the busybox image in it, and the plugin from the built packages. */
export interface E2eEnvironment {
  readonly engine: DockerEngine;
  readonly plugin: PluginProcess;
  readonly image: string;
  /** `docker <args>` against the private engine; never rejects on a non-zero exit. */
  docker(args: readonly string[]): Promise<CommandResult>;
  /** `docker <args>`, rejecting unless it exits 0; resolves with stdout. */
  dockerOk(args: readonly string[]): Promise<string>;
  /**
   * Disposes of the plugin and starts a new one on the same socket, with a state directory of its own and `env`:
   * the same engine then talks to a plugin playing another node of a cluster (another EC2 instance id).
   */
  replacePlugin(label: string, options?: { env?: Record<string, string> }): Promise<PluginProcess>;
  /**
   * Removes everything the tests made, even after a failure: services (and their tasks), containers, the
   * plugin's volumes while the plugin still runs, then the engine (leaving the swarm) and the plugin.
   */
  stop(): Promise<void>;
}

/**
 * `env`: more `STOWAGE_*` variables for the plugin, such as a third-party driver to load. The plugin asks this
 * file's engine (never a system one) which containers exist; `liveRestore` starts that engine with live-restore.
 */
export async function startE2eEnvironment(
  label: string,
  options: { env?: Record<string, string>; liveRestore?: boolean } = {},
): Promise<E2eEnvironment> {
  const engine = await DockerEngine.start({ label, liveRestore: options.liveRestore });
  const withEngine = (env: Record<string, string> = {}) => ({ STOWAGE_DOCKER_API: engine.socket, ...env });
  let plugin: PluginProcess | undefined;
  try {
    const image = await importBusyboxImage(engine);
    plugin = await PluginProcess.start({ cli: CLI, label, env: withEngine(options.env) });
    let current = plugin;
    return {
      engine,
      get plugin() {
        return current;
      },
      image,
      docker: (args) => engine.docker(args),
      dockerOk: (args) => engine.dockerOk(args),
      async replacePlugin(nextLabel, nextOptions = {}) {
        await current.dispose();
        current = await PluginProcess.start({ cli: CLI, label: nextLabel, env: withEngine(nextOptions.env) });
        return current;
      },
      stop: () => stopEnvironment(engine, current),
    };
  } catch (error) {
    await engine.stop().catch(() => undefined);
    await plugin?.dispose().catch(() => undefined);
    throw error;
  }
}

async function stopEnvironment(engine: DockerEngine, plugin: PluginProcess): Promise<void> {
  const teardown = new TeardownSteps();
  const step = (what: string, action: () => Promise<unknown>): Promise<void> => teardown.run(what, action);
  const lines = (text: string): string[] =>
    text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);

  if (engine.running) {
    await step('removing services', async () => {
      const info = await engine.docker(['info', '--format', '{{.Swarm.LocalNodeState}}']);
      if (info.stdout.trim() !== 'active') return;
      const services = lines(await engine.dockerOk(['service', 'ls', '-q']));
      if (services.length > 0) await engine.dockerOk(['service', 'rm', ...services]);
      // Swarm stops and removes task containers asynchronously; their volumes are unmounted only once they stop,
      // and removing them here as well would race swarm's own removal.
      await waitUntil(
        'service tasks to be removed',
        async () => {
          const left = lines(await engine.dockerOk(['ps', '-aq', '--filter', 'label=com.docker.swarm.service.id']));
          return left.length === 0 ? true : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      );
    });
    await step('removing containers', async () => {
      const containers = lines(await engine.dockerOk(['ps', '-aq']));
      if (containers.length > 0) await engine.dockerOk(['rm', '-f', ...containers]);
    });
    if (plugin.running) {
      await step('removing volumes', async () => {
        const volumes = lines(await engine.dockerOk(['volume', 'ls', '-q', '--filter', `driver=${DRIVER}`]));
        for (const volume of volumes) await engine.dockerOk(['volume', 'rm', '-f', volume]);
      });
    }
  }
  await step('stopping the engine', () => engine.stop());
  await step('stopping the plugin', () => plugin.dispose());
  teardown.finish('e2e teardown', `\n(logs: ${engine.logFile}, ${plugin.logFile})`);
}
