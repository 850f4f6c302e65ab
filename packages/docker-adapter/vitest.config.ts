import { defineConfig } from 'vitest/config';
import { tierProjects } from '../../vitest.tiers.js';

export default defineConfig({
  test: {
    projects: tierProjects({
      // Some unit files start the built CLI as processes; the timeout only catches a hang, so it is generous enough
      // for a machine under load (a loaded 2-core VM took 20 s for four `--help` runs).
      unit: { testTimeout: 60_000 },
      model: { testTimeout: 120_000 },
      // The model-based test over the cloud backings: moto, loop devices (EBS) and bind mounts (EFS).
      cloud: { maxConcurrency: 3, testTimeout: 180_000, hookTimeout: 120_000 },
      // Starts the built plugin (dist/) many times on sockets of its own: moto and loop devices, no Docker, no
      // machine-wide socket.
      crash: { maxConcurrency: 3, testTimeout: 180_000, hookTimeout: 120_000 },
      e2e: {
        // Every e2e file starts its own Docker engine, but the plugin socket (/run/docker/plugins/stowage.sock) and
        // swarm's ports are machine-wide: one file at a time.
        fileParallelism: false,
        testTimeout: 180_000,
        hookTimeout: 300_000,
      },
    }),
  },
});
