import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // mkfs and loop mounts take a few hundred milliseconds each; the conformance suite makes dozens.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
