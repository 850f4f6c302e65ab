// Mutation testing of the engine: how many deliberate bugs in src/engine the unit tests catch.
// Run with `pnpm --filter @stowage/core mutation` (or `pnpm mutation` at the root); not part of `pnpm test` or CI.
// Results and how to read them: BENCHMARKS.md, "Mutation testing of the engine".

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner', './stryker-ignore-narration.mjs'],
  ignorers: ['log-narration'],
  vitest: { configFile: 'vitest.stryker.config.ts' },
  mutate: ['src/engine/**/*.ts'],
  // Each mutant runs only the tests that reach it, which is what makes a run fit on 2 cores.
  coverageAnalysis: 'perTest',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true, reportMutants: true },
  thresholds: { high: 90, low: 85, break: null },
  tempDirName: '.stryker-tmp',
  // Mutants are written into src/ itself and put back after the run (`git checkout src` if a run is killed): the
  // vitest config imports the repository's tier list (../../vitest.tiers.ts), which a sandbox copy cannot reach.
  inPlace: true,
  cleanTempDir: 'always',
};
