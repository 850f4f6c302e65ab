import { existsSync } from 'node:fs';
import { configDefaults, defineConfig } from 'vitest/config';
import { NOT_UNIT, TIER_FILES } from '../../vitest.tiers.js';

// The unit tests as Stryker runs them against each mutant of src/engine (stryker.config.mjs).
export default defineConfig({
  test: {
    include: [...TIER_FILES.unit],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    exclude: [
      ...configDefaults.exclude,
      ...NOT_UNIT,
      // Runs the built table (dist/) in a child process to SIGKILL it: it never loads the mutated src/, so it could
      // kill no mutant and would only make every run of the table's mutants slower. The in-process mount-table
      // tests cover the same code.
      'test/mount-table-crash.test.ts',
    ],
    // State directories on tmpfs where there is one: each change of the mount table is fdatasync'd, about 20 ms
    // on this disk, and a mutant runs its tests once more for every mutant. No test can tell a synced write from
    // an unsynced one in process, so this changes no result, only the time.
    env: existsSync('/dev/shm') ? { TMPDIR: '/dev/shm' } : {},
  },
});
