import { readFileSync } from 'node:fs';

/** CPU time (user + system) a process has used so far, in ms, from /proc (clock ticks of 10 ms); 0 once it is gone. */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}

/** A closed-loop load generator: `concurrency` workers send requests back to back for `durationMs`. */
export interface LoadResult {
  readonly rps: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly completed: number;
  /** Requests sent during the warm-up (not in the figures above). */
  readonly warmedUp: number;
  readonly errors: number;
}

export async function closedLoop(task: () => Promise<boolean>, options: { concurrency: number; durationMs: number; warmupMs?: number }): Promise<LoadResult> {
  const warmupEnd = Date.now() + (options.warmupMs ?? 500);
  let warmedUp = 0;
  while (Date.now() < warmupEnd) {
    await Promise.all(Array.from({ length: options.concurrency }, () => task().catch(() => false)));
    warmedUp += options.concurrency;
  }
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  const end = start + options.durationMs;
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        const ok = await task().catch(() => false);
        if (ok) latencies.push(performance.now() - t0);
        else errors++;
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => (latencies.length === 0 ? 0 : latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!);
  return { rps: latencies.length / seconds, p50_ms: at(0.5), p99_ms: at(0.99), completed: latencies.length, warmedUp, errors };
}

/**
 * Runs the load in slices until throughput stops rising: two slices in a row that are no more than
 * `tolerance` above the best slice before them, once at least `minRequests` were answered (or
 * `maxMs` spent). A server's first thousands of requests run before V8 has optimised its hot
 * paths, so a scenario measured cold reads its warm-up, and one with more code on its path (the
 * governed exchange against the signed relay) warms up longest. V8 optimises by how often code
 * ran, not for how long, so the floor is a number of requests: a slower path (the hub's) gets as
 * many before it is measured as a faster one.
 */
export async function warmUntilSteady(
  task: () => Promise<boolean>,
  options: { concurrency: number; sliceMs: number; maxMs: number; minRequests?: number; tolerance?: number },
): Promise<{ slices: number[]; seconds: number; requests: number }> {
  const tolerance = options.tolerance ?? 0.05;
  const slices: number[] = [];
  let calm = 0;
  let requests = 0;
  const start = performance.now();
  while (performance.now() - start < options.maxMs) {
    const r = await closedLoop(task, { concurrency: options.concurrency, durationMs: options.sliceMs, warmupMs: 0 });
    requests += r.completed + r.errors;
    // Steady once two slices in a row set no record (none above the best before it by more than
    // `tolerance`): two neighbouring slices can agree halfway up the climb.
    const best = Math.max(0, ...slices);
    calm = best > 0 && r.rps <= best * (1 + tolerance) ? calm + 1 : 0;
    slices.push(r.rps);
    if (calm >= 2 && requests >= (options.minRequests ?? 0)) break;
  }
  return { slices, seconds: (performance.now() - start) / 1000, requests };
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Rounds of one scenario as one figure: total completed over total time; the median round's p50 and the worst p99. */
export function combine(rounds: LoadResult[]): LoadResult {
  const completed = rounds.reduce((n, r) => n + r.completed, 0);
  const seconds = rounds.reduce((n, r) => n + r.completed / (r.rps || Infinity), 0);
  const p50s = rounds.map((r) => r.p50_ms).sort((x, y) => x - y);
  return {
    rps: seconds > 0 ? completed / seconds : 0,
    p50_ms: p50s[Math.floor(p50s.length / 2)]!,
    p99_ms: Math.max(...rounds.map((r) => r.p99_ms)),
    completed,
    warmedUp: rounds.reduce((n, r) => n + r.warmedUp, 0),
    errors: rounds.reduce((n, r) => n + r.errors, 0),
  };
}
