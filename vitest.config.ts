import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['test/reliability/**', 'node_modules/**'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    globalSetup: ['./test/support/global-setup.ts'],
    testTimeout: 30_000,
    // Hooks start whole federations: on a loaded machine that takes minutes, which is no failure.
    hookTimeout: 300_000,
    pool: 'forks',
    // Two test files at a time even on two cores (vitest's default there is one): most of a test's
    // time is spent waiting on the servers, browsers and processes it started.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // Under CI a failed test is tried once more, and the summary lists every test that passed only
    // then: the suite starts hundreds of real servers on two shared cores, and one stalled moment
    // must not sink a run. A test that fails twice fails the run.
    retry: process.env.CI ? 1 : 0,
    // expect.poll waits for what a browser or a peer does next: a loaded machine is slow, which is no failure either.
    expect: { poll: { timeout: 30_000 } },
  },
});
