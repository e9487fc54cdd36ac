import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { postgresUrl } from '../support/postgres.ts';

/**
 * `npm run bench -- --quick`, as the README and docs/benchmarks.md show it, runs to the end and
 * records every figure issue 10 names; `npm run bench -- --quick --exchange-only`, as
 * docs/benchmarks.md shows it, runs the exchange scenarios alone. Nothing here asserts a speed: figures are read in the
 * results, never compared with a threshold in a test. The results go to
 * test-results/bench-quick.json (`--out`; ignored by git, kept with CI's other test results),
 * so neither the tracked tree nor a developer's bench/results/latest.json changes.
 */
const REPO = fileURLToPath(new URL('../..', import.meta.url));

const NAMED = [
  'exchange.signed_rps',
  'exchange.bridge_vs_signed',
  'exchange.hub_vs_bridge',
  'exchange.bridge_pg_vs_sqlite',
  'memory.idle_mb',
  'scale.replicas_2_vs_1',
  'memory.loaded_mb',
  'start.seconds',
  // Issue 14: the governance dashboards over 1M cases (200k quick) on SQLite, and their baseline.
  'governance.slowest_ms',
  'governance.case_flows_vs_full_scan',
] as const;

describe('npm run bench', () => {
  it('--quick runs to the end and records every figure of issue 10 as a number', async () => {
    const out = join(REPO, 'test-results', 'bench-quick.json');
    rmSync(out, { force: true });
    const env: NodeJS.ProcessEnv = { ...process.env, TONGBAN_DEBUG: '' };
    delete env.DATABASE_URL;
    // The bench's PostgreSQL federation runs in TONGBAN_TEST_DATABASE_URL's database when it is set (CI sets it).
    const proc = spawn('npm', ['run', 'bench', '--', '--quick', '--out', out], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    proc.stdout.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => proc.once('exit', (c) => resolve(c)));
    expect(code, output.slice(-3000)).toBe(0);
    expect(output).toContain(`written to ${out}`);

    const results = JSON.parse(readFileSync(out, 'utf8')) as Record<string, Record<string, unknown>>;
    const value = (key: string) => {
      const [section, name] = key.split('.') as [string, string];
      return results[section]?.[name];
    };
    // Without PostgreSQL (a developer's machine) the bench says it skipped the bridge on it; CI has it.
    const pgRequired = postgresUrl !== undefined || process.env.CI === 'true';
    for (const key of NAMED) {
      if ((key === 'exchange.bridge_pg_vs_sqlite' || key === 'scale.replicas_2_vs_1') && !pgRequired) {
        expect(value(key), key).toSatisfy((v: unknown) => typeof v === 'number' || (typeof v === 'string' && v.startsWith('skipped:')));
        continue;
      }
      expect(typeof value(key), `${key} = ${JSON.stringify(value(key))}`).toBe('number');
      expect(Number.isFinite(value(key)) && (value(key) as number) > 0, key).toBe(true);
    }
    // The reuse start is measured after a first start that created the demo, in the bench's own folder.
    expect(typeof results.start!.first_seconds).toBe('number');
    // No exchange scenario failed: the ratios compare working paths.
    for (const scenario of ['bare', 'signed', 'bridge', 'hub', ...(pgRequired ? ['bridge_pg'] : [])]) {
      expect(results.exchange![`${scenario}_errors`], `${scenario}: ${JSON.stringify(results.exchange!.failures ?? {})}`).toBe(0);
    }
    // Issue 15: two replicas of one node against one, on PostgreSQL, with no request refused.
    if (pgRequired) expect(results.scale!.errors, JSON.stringify(results.scale!.failures ?? {})).toBe(0);
  }, 600_000);

  it('--quick --exchange-only (as docs/benchmarks.md shows it) runs the exchange scenarios alone', async () => {
    const out = join(REPO, 'test-results', 'bench-exchange-only.json');
    rmSync(out, { force: true });
    const env: NodeJS.ProcessEnv = { ...process.env, TONGBAN_DEBUG: '' };
    delete env.DATABASE_URL;
    const proc = spawn('npm', ['run', 'bench', '--', '--quick', '--exchange-only', '--out', out], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    proc.stdout.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => proc.once('exit', (c) => resolve(c)));
    expect(code, output.slice(-3000)).toBe(0);
    expect(output).toContain(`written to ${out}`);
    const results = JSON.parse(readFileSync(out, 'utf8')) as Record<string, Record<string, unknown>>;
    for (const key of ['signed_rps', 'bridge_vs_signed', 'hub_vs_bridge', 'signed_cold_rps', 'bridge_cold_rps', 'bridge_warmup_s']) {
      expect(Number.isFinite(results.exchange?.[key]) && (results.exchange![key] as number) > 0, `exchange.${key} = ${JSON.stringify(results.exchange?.[key])}`).toBe(true);
    }
    // Each side's share of a bridge exchange: the requester (Anji) and the provider (Sandu) did the work.
    const byProcess = results.exchange?.bridge_cpu_ms_by_process as Record<string, number>;
    expect(byProcess['330523']! > 0 && byProcess['522732']! > 0, JSON.stringify(byProcess)).toBe(true);
    // The loaded memory is the larger peak of the bridge's two ends, both sampled.
    const peaks = results.memory?.loaded_mb_by_node as Record<string, number>;
    expect(peaks['330523']! > 0 && peaks['522732']! > 0 && results.memory?.loaded_mb === Math.max(peaks['330523']!, peaks['522732']!), JSON.stringify(results.memory)).toBe(true);
    // Alone: no start-up, policy or audit figures.
    expect(results.start?.seconds).toBeUndefined();
    expect(results.audit?.tracker_entries).toBeUndefined();
  }, 600_000);

  it('--quick --governance-only --governance-cases (as docs/benchmarks.md names them) runs the governance scenario alone', async () => {
    const out = join(REPO, 'test-results', 'bench-governance-only.json');
    rmSync(out, { force: true });
    const proc = spawn('npm', ['run', 'bench', '--', '--quick', '--governance-only', '--governance-cases', '20000', '--out', out], { cwd: REPO, env: { ...process.env, TONGBAN_DEBUG: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    proc.stdout.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => proc.once('exit', (c) => resolve(c)));
    expect(code, output.slice(-3000)).toBe(0);
    const results = JSON.parse(readFileSync(out, 'utf8')) as Record<string, Record<string, unknown>>;
    expect(results.governance?.cases).toBe(20_000);
    for (const key of ['slowest_ms', 'case_flows_vs_full_scan', 'audit_findings_vs_full_scan']) {
      expect(Number.isFinite(results.governance?.[key]) && (results.governance![key] as number) > 0, `governance.${key} = ${JSON.stringify(results.governance?.[key])}`).toBe(true);
    }
    expect(results.exchange?.signed_rps).toBeUndefined();
  }, 300_000);

  it.skipIf(!postgresUrl && process.env.CI !== 'true')('--quick --scale-only (as docs/benchmarks.md shows it) runs two replicas against one on PostgreSQL alone', async () => {
    const out = join(REPO, 'test-results', 'bench-scale-only.json');
    rmSync(out, { force: true });
    const proc = spawn('npm', ['run', 'bench', '--', '--quick', '--scale-only', '--out', out], { cwd: REPO, env: { ...process.env, TONGBAN_DEBUG: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    proc.stdout.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => proc.once('exit', (c) => resolve(c)));
    expect(code, output.slice(-3000)).toBe(0);
    const scale = (JSON.parse(readFileSync(out, 'utf8')) as Record<string, Record<string, unknown>>).scale!;
    for (const key of ['replicas_1_rps', 'replicas_2_rps', 'replicas_2_vs_1', 'replicas_1_machine_busy', 'replicas_2_machine_busy']) {
      expect(Number.isFinite(scale[key]) && (scale[key] as number) > 0, `scale.${key} = ${JSON.stringify(scale[key])}`).toBe(true);
    }
    expect(scale.errors, JSON.stringify(scale.failures ?? {})).toBe(0);
    expect((scale.replicas_2_cpu_ms as { replicas: number }).replicas).toBeGreaterThan(0);
  }, 300_000);
});
