import { defineConfig } from 'vitest/config';
import { tierProjects } from '../../vitest.tiers.js';

export default defineConfig({
  test: {
    projects: tierProjects({
      unit: { testTimeout: 60_000, hookTimeout: 60_000 },
      cloud: {
        // Provider tests share one moto server per file and real loop devices: keep files apart.
        fileParallelism: false,
        // A guard against a hung test only: no test's verdict depends on how fast the machine is (moves and Mounts
        // are retried as swarm retries them), and on one loaded core a move on moto takes a while.
        testTimeout: 240_000,
        hookTimeout: 120_000,
      },
    }),
  },
});
