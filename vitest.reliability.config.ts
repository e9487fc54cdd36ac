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
    // As in vitest.config.ts: under CI a failed test is tried once more and the summary names it
    // (PASSED ON RETRY); failing twice fails the run. These tests kill and restart real processes
    // on two shared cores, where one stalled moment is no defect.
    retry: process.env.CI ? 1 : 0,
  },
});
