import { existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';
import { tierProjects } from '../../vitest.tiers.js';

export default defineConfig({
  test: {
    projects: tierProjects({
      // Temp directories on tmpfs where there is one, as the mutation runs have them: the mount table fdatasyncs
      // every change (about 20 ms on a disk) and no test in process can tell a synced write from an unsynced one,
      // so this changes no result, only the time (a third of it).
      unit: { env: existsSync('/dev/shm') ? { TMPDIR: '/dev/shm' } : {} },
      e2e: {},
    }),
  },
});
