import type { Reporter, TestModule } from 'vitest/node';

/**
 * Closes every run with the counts CI reads: tests per storage backend (from the
 * `[sqlite]` / `[postgres]` tags in suite names) and one plain `N passed, N failed, N skipped`.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const totals = { passed: 0, failed: 0, skipped: 0 };
    const perStore = { sqlite: { passed: 0, failed: 0, skipped: 0 }, postgres: { passed: 0, failed: 0, skipped: 0 } };
    const flaky: string[] = [];
    const failedNames: string[] = [];
    for (const module of testModules) {
      const file = module.moduleId.replace(process.cwd() + '/', '');
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed' && test.diagnostic()?.flaky) flaky.push(`${file} > ${test.fullName}`);
        if (state === 'failed') failedNames.push(`${file} > ${test.fullName}`);
        const bucket = state === 'passed' ? 'passed' : state === 'failed' ? 'failed' : 'skipped';
        totals[bucket]++;
        for (const store of ['sqlite', 'postgres'] as const) {
          if (test.fullName.includes(`[${store}]`)) perStore[store][bucket]++;
        }
      }
      // A file that failed to load, or whose set-up hook failed (its tests then count as skipped),
      // has no failed test but must still fail the run.
      if (module.state() === 'failed' && ![...module.children.allTests()].some((t) => t.result().state === 'failed')) {
        totals.failed++;
        failedNames.push(`${file} (the file failed outside its tests)`);
      }
    }
    const line = (name: string, c: { passed: number; failed: number; skipped: number }) =>
      `${name}: ${c.passed + c.failed} ran (${c.passed} passed, ${c.failed} failed), ${c.skipped} skipped`;
    console.log('');
    console.log(line('Tests against SQLite', perStore.sqlite));
    console.log(line('Tests against PostgreSQL', perStore.postgres));
    // A retry (CI only, vitest.config.ts) keeps one slow moment from failing the run; it must not
    // hide that it happened.
    for (const name of flaky) console.log(`PASSED ON RETRY: ${name}`);
    // One line per failure, each starting "FAILED: " (and "PASSED ON RETRY: " above), so .ci/run can repeat them next to its total
    // (CI shows only the tail of a long run).
    for (const name of failedNames) console.log(`FAILED: ${name}`);
    // Servers log to files, not into this output; point at them when something failed.
    if (totals.failed > 0) console.log('Server logs of the federations the tests started: test-results/server-logs/');
    console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
  }
}
