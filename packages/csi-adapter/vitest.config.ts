import { defineConfig } from 'vitest/config';
import { tierProjects } from '../../vitest.tiers.js';

export default defineConfig({
  test: {
    projects: tierProjects({
      unit: {},
      // csi-sanity against `stowage csi` (root: real bind mounts). Its first run builds csi-sanity from the Go module
      // proxy (about 80 s on 2 cores); later runs take it from the cache.
      e2e: { fileParallelism: false, testTimeout: 300_000, hookTimeout: 600_000 },
    }),
  },
});
