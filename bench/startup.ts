/**
 * The `start.*` figures of `npm run bench`: how long `npm start`'s command
 * (`node bin/tongban.js demo`) takes from its launch until every server of the demo federation
 * (the hub and four nodes) answers 200 on `/health/ready`. It runs in a folder of its own, never
 * the user's `var/demo`, on free ports: a first start that creates the demo (keys, registries,
 * enrolment, agreements), then, once that one is stopped, a second start that reuses it — the
 * start the issue's "≤ 10 s" is about. Run alone: `node --import tsx bench/startup.ts [runs]`.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePortRun } from '../src/federation/index.ts';

const BIN = fileURLToPath(new URL('../bin/tongban.js', import.meta.url));
/** The demo federation's servers: the hub on the port base, the four nodes on the next ports. */
const SERVERS = 5;

export interface StartTiming {
  /** Seconds from the launch until every server answered 200 on /health/ready. */
  readonly readySeconds: number;
  /** Seconds until the command printed "Federation up" (agreements registered, every directory converged). */
  readonly upSeconds: number;
  /**
   * CPU seconds (user + system) the command and its five servers had used by then: what the
   * start costs whatever else the machine runs (wall time on two cores is at least half of it).
   */
  readonly cpuSeconds: number;
}

/** CPU time (user + system) a process has used so far, in seconds, from /proc (clock ticks of 10 ms). */
function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** A port base with SERVERS free ports after it, away from the demo's default 7700 and below the ephemeral range. */
export function freePortBase(): Promise<number> {
  return freePortRun(SERVERS);
}

/**
 * Runs `node bin/tongban.js demo --dir <dir> --port-base <portBase>` in `cwd`, waits until every
 * server is ready and the command reports the federation up, then stops it (SIGTERM, as Ctrl+C)
 * and waits until it has exited.
 */
export async function timeDemoStart(dir: string, portBase: number, cwd: string, timeoutMs = 180_000): Promise<StartTiming> {
  const env: NodeJS.ProcessEnv = { ...process.env, TONGBAN_DEBUG: '' };
  // Each server has its own database in its config; an inherited override would merge them.
  delete env.DATABASE_URL;
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  // Without the demo seed (`--cases 0`): the seed is a one-off of minutes that would swamp the
  // first-start figure; a seeded demo's reuse start loads nothing more (its stamp only).
  const proc = spawn(process.execPath, [BIN, 'demo', '--dir', dir, '--port-base', String(portBase), '--cases', '0'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let upSeconds: number | undefined;
  let cpuSeconds = 0;
  proc.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (upSeconds === undefined && /Federation up in/.test(stdout)) upSeconds = seconds();
  });
  proc.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  const readyAt: Array<number | undefined> = Array.from({ length: SERVERS }, () => undefined);
  const ready = async (port: number) => {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      return response.status === 200;
    } catch {
      return false;
    }
  };
  try {
    while (readyAt.some((t) => t === undefined) || upSeconds === undefined) {
      if (gone) throw new Error(`the demo exited before every server was ready: ${stdout.slice(-1000)} ${stderr.slice(-2000)}`);
      if (performance.now() - t0 > timeoutMs) throw new Error(`the demo was not up within ${timeoutMs / 1000} s: ${stderr.slice(-2000)}`);
      await Promise.all(
        readyAt.map(async (t, i) => {
          if (t === undefined && (await ready(portBase + i))) readyAt[i] = seconds();
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // The summary lists every server with its process id ("… pid 1234").
    const pids = [proc.pid!, ...[...stdout.matchAll(/ pid (\d+)$/gm)].map((m) => Number(m[1]))];
    cpuSeconds = pids.reduce((sum, pid) => sum + cpuSecondsOf(pid), 0);
  } finally {
    proc.kill('SIGTERM');
    const killer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(killer);
  }
  return { readySeconds: Math.max(...(readyAt as number[])), upSeconds, cpuSeconds };
}

/**
 * The servers whose memory the bench reads must run the compiled build (dist/ through
 * bin/tongban.js, no TypeScript loader): a server process started with tsx carries the
 * transpiler and its caches, which is not what an operator runs.
 */
export function assertCompiled(pid: number): void {
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  const nodeOptions = /(?:^|\0)NODE_OPTIONS=([^\0]*)/.exec(readFileSync(`/proc/${pid}/environ`, 'utf8'))?.[1] ?? '';
  if (!argv.some((a) => a.endsWith('bin/tongban.js')) || argv.some((a) => /tsx/.test(a)) || /tsx/.test(nodeOptions)) {
    throw new Error(`server process ${pid} does not run the compiled build: ${argv.join(' ')} (NODE_OPTIONS=${nodeOptions})`);
  }
}

/**
 * Run alone (`node --import tsx bench/startup.ts [runs]`): a first start that creates a demo in a
 * temporary folder, then `runs` starts (3 unless given) that reuse it, each with its figures.
 */
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const runs = Number(process.argv[2] ?? 3);
  const work = mkdtempSync(join(tmpdir(), 'tongban-start-'));
  const show = (label: string, t: StartTiming) =>
    process.stdout.write(`${label.padEnd(8)} ready ${t.readySeconds.toFixed(2)} s  up ${t.upSeconds.toFixed(2)} s  cpu ${t.cpuSeconds.toFixed(2)} s\n`);
  try {
    const portBase = await freePortBase();
    const dir = join(work, 'demo');
    show('first', await timeDemoStart(dir, portBase, work));
    for (let i = 1; i <= runs; i++) show(`reuse ${i}`, await timeDemoStart(dir, portBase, work));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
