import { defineConfig } from 'vitest/config';
import { tierProjects } from '../../vitest.tiers.js';

export default defineConfig({
  test: {
    projects: tierProjects({
      unit: {},
      cloud: {
        // A move on moto uses real loop devices and mounts: one file at a time. The timeouts guard a hung test only:
        // the move is waited for as swarm waits, however slow the machine.
        fileParallelism: false,
        testTimeout: 240_000,
        hookTimeout: 120_000,
      },
    }),
  },
});
