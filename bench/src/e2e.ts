import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PluginProcess as KitPluginProcess, type PluginProcessOptions } from '@stowage/testkit/docker';

// The end-to-end tier's helpers, from the shared test kit: the benchmarks start the same private engine, busybox
// image and plugin process that the e2e tests do.
export {
  DockerEngine,
  importBusyboxImage,
  DEFAULT_PLUGIN_SOCKET,
  pluginRequest,
  freePort,
  waitUntil,
  E2E_LOG_DIR,
  type PluginAnswer,
} from '@stowage/testkit/docker';

/** The built CLI of @stowage/docker-adapter, as `stowage serve` runs it. */
export const CLI_MAIN = join(
  dirname(createRequire(import.meta.url).resolve('@stowage/docker-adapter/package.json')),
  'dist',
  'cli',
  'main.js',
);

/** The plugin process of the test kit, running {@link CLI_MAIN}. */
export type PluginProcess = KitPluginProcess;
export const PluginProcess = {
  start: (options: Omit<PluginProcessOptions, 'cli'>): Promise<PluginProcess> =>
    KitPluginProcess.start({ cli: CLI_MAIN, ...options }),
};
