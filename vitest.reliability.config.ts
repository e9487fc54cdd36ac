import { defineConfig } from 'vitest/config';

// The slow reliability suite: real processes killed, the hub stopped, PostgreSQL restarted.
// One file at a time, so the federations do not compete for the two cores.
export default defineConfig({
  test: {
    include: ['test/reliability/**/*.test.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    globalSetup: ['./test/support/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
