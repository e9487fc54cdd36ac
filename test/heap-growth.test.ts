import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverNodeFlags } from '../src/federation/servers.ts';

/**
 * bin/heap.js, which bin/tongban.js runs first: the old generation grows to 1.5× what the last
 * full collection left, not V8's up to 4×. A child keeps a live set of about 50 MB and churns
 * objects that outlive the young generation; its peak heap is compared with and without the limit.
 */
const HEAP = new URL('../bin/heap.js', import.meta.url).href;
const FIXTURE_SOURCE = `const limit = process.argv[2];
if (limit === 'limit') console.error((await import(${JSON.stringify(HEAP)})).limitHeapGrowth() ? 'set' : 'kept');
const live = Array.from({ length: 100 }, () => Array.from({ length: 12500 }, (_, i) => ({ i })));
let keep = [];
let peak = 0;
for (let round = 0; round < 1500; round++) {
  for (let i = 0; i < 2000; i++) keep.push({ a: i, b: 'x'.repeat(20) });
  if (keep.length > 200000) keep = [];
  peak = Math.max(peak, process.memoryUsage().heapTotal);
}
console.log(JSON.stringify({ peakMb: peak / 1048576, live: live.length }));
`;
let dir = '';
let fixture = '';

async function peakMb(args: string[]): Promise<{ peakMb: number; stderr: string }> {
  const child = spawn(process.execPath, ['--max-semi-space-size=2', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  expect(code, stderr).toBe(0);
  return { peakMb: (JSON.parse(out) as { peakMb: number }).peakMb, stderr: stderr.trim() };
}

describe('heap growth limit (bin/heap.js)', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tongban-heap-'));
    fixture = join(dir, 'churn.mjs');
    writeFileSync(fixture, FIXTURE_SOURCE);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps the old generation of a churning process well below what V8 lets it reach by default', async () => {
    const unlimited = await peakMb([fixture]);
    const limited = await peakMb([fixture, 'limit']);
    expect(limited.stderr).toBe('set');
    // Measured: about 130 MB against 310 MB.
    expect(limited.peakMb, `default ${unlimited.peakMb} MB, limited ${limited.peakMb} MB`).toBeLessThan(unlimited.peakMb * 0.7);
  }, 60_000);

  it("keeps the operator's own --heap-growing-percent", async () => {
    const own = await peakMb(['--heap-growing-percent=300', fixture, 'limit']);
    expect(own.stderr).toBe('kept');
  }, 60_000);

  it("passes an operator's own --heap-growing-percent on to the servers a federation starts", () => {
    expect(serverNodeFlags({}, ['--heap-growing-percent=80'])).toEqual(['--max-semi-space-size=2', '--heap-growing-percent=80']);
    // Without one, each server's bin/tongban.js sets the default itself.
    expect(serverNodeFlags({}, ['--inspect'])).toEqual(['--max-semi-space-size=2']);
    expect(serverNodeFlags({ NODE_OPTIONS: '--max-semi-space-size=8' }, [])).toEqual([]);
  });
});
