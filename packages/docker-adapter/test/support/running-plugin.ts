import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, type StowageConfig, type VolumeEngine } from '@stowage/core';
import { afterEach } from 'vitest';
import { composeFromConfig } from '../../src/composition/compose-from-config.js';
import { startPluginServer } from '../../src/protocol/plugin-server.js';

/** A real plugin: the real engine and local driver on temp directories, serving a real unix socket. */
export interface RunningPlugin {
  readonly dir: string;
  readonly socket: string;
  readonly root: string;
  readonly stateDir: string;
  readonly engine: VolumeEngine;
  /** Stops the server and the engine, keeping the directories, as a plugin stop does. */
  stop(): Promise<void>;
  /** Stops the server and the engine and deletes the temp directory. */
  close(): Promise<void>;
}

/**
 * Starts a plugin the way `stowage serve` does, on a fresh temp directory, or again on the directory of one that
 * was stopped (`dir`).
 */
export async function startRunningPlugin(dir?: string): Promise<RunningPlugin> {
  dir ??= await mkdtemp(join(tmpdir(), 'stowage-plugin-'));
  const root = join(dir, 'volumes');
  const socket = join(dir, 'run', 'stowage.sock');
  const config: StowageConfig = {
    stateDir: join(dir, 'state'),
    logLevel: 'silent',
    drivers: { local: { settings: { root } } },
  };
  const logger = createLogger({ level: 'silent' });
  const stowage = await composeFromConfig(config, { logger, cwd: dir });
  await stowage.engine.start();
  const server = await startPluginServer({ engine: stowage.engine, socket, logger });
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      await server.close();
      await stowage.close();
    })();
    return stopping;
  };
  return {
    dir,
    socket,
    root,
    stateDir: config.stateDir,
    engine: stowage.engine,
    stop,
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Registers an `afterEach` that runs the test's cleanups (last first), stops the plugins it started and deletes
 * their directories; `plugin` starts one (again on `dir`, when given).
 */
export function useRunningPlugins(): {
  plugin(dir?: string): Promise<RunningPlugin>;
  readonly cleanups: Array<() => Promise<void>>;
} {
  const plugins: RunningPlugin[] = [];
  const cleanups: Array<() => Promise<void>> = [];

  async function plugin(dir?: string): Promise<RunningPlugin> {
    const started = await startRunningPlugin(dir);
    plugins.push(started);
    return started;
  }

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    const dirs = new Set(plugins.map((p) => p.dir));
    for (const p of plugins.splice(0)) await p.stop();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });
  return { plugin, cleanups };
}
