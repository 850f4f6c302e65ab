import { defineConfig } from 'vitest/config';
import { tierProjects } from '../../vitest.tiers.js';

// Unit tests only: the end-to-end run (csi-sanity against `stowage csi`, real bind mounts) needs the CLI, so it lives
// in docker-adapter's e2e tier (test/csi), which depends on this package rather than the other way round.
export default defineConfig({
  test: {
    projects: tierProjects({ unit: {} }),
  },
});
