import { defineConfig } from 'vitest/config';
import { tierProjects } from '../../vitest.tiers.js';

export default defineConfig({
  test: {
    projects: tierProjects({ unit: {} }),
  },
});
