import { defineConfig } from 'vitest/config';
import { tierProjects } from '../../vitest.tiers.js';

export default defineConfig({
  test: {
    projects: tierProjects({
      unit: {},
      // mkfs and loop mounts take a few hundred milliseconds each; the conformance suite makes dozens.
      e2e: { testTimeout: 60_000, hookTimeout: 60_000 },
    }),
  },
});
