import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: ['test/e2e/**', 'test/crash/**', 'test/**/*.moto.test.ts', 'node_modules/**', 'dist/**'],
          sequence: { groupOrder: 0 },
          testTimeout: 20_000,
          hookTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'crash',
          // Starts the built plugin (dist/) many times on sockets of its own, and runs the model-based test over the
          // cloud backings: moto and loop devices, no Docker, no machine-wide socket.
          include: ['test/crash/**/*.test.ts', 'test/model/**/*.moto.test.ts'],
          sequence: { groupOrder: 0 },
          maxConcurrency: 3,
          testTimeout: 180_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.e2e.test.ts'],
          // Every e2e file starts its own Docker engine, but the plugin socket (/run/docker/plugins/stowage.sock)
          // and swarm's ports are machine-wide: one file at a time, after the unit project.
          fileParallelism: false,
          sequence: { groupOrder: 1 },
          testTimeout: 180_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
