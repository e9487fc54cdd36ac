import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePortRun } from '../free-ports.ts';
import { demoFederation, startFederation, type FederationConfigInput, type RunningFederation } from '../../src/federation/index.ts';

/** A federation of real OS processes on a random port range, as operators run it. */
export async function processFederation(overrides: Partial<FederationConfigInput> = {}): Promise<{ f: RunningFederation; cleanup: () => Promise<void>; logs: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'tongban-rel-'));
  const logs: string[] = [];
  const portBase = await freePortRun(5);
  const f = await startFederation(
    demoFederation({
      dir,
      portBase,
      nodes: [
        { division: '522732', people: 300, businesses: 20 },
        { division: '330523', people: 300, businesses: 20 },
        { division: '320400', people: 300, businesses: 20 },
        { division: '310118', people: 300, businesses: 20 },
      ],
      directory: { refreshSeconds: 1, snapshotTtlSeconds: 600 },
      audit: { checkpointSeconds: 1 },
      ...overrides,
    }),
    { mode: 'process', log: (m) => logs.push(m) },
  );
  return {
    f,
    logs,
    cleanup: async () => {
      await f.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function json(url: string, init: RequestInit & { token?: string; body?: string } = {}): Promise<{ status: number; json: any; type: string }> {
  const { token, ...rest } = init;
  const response = await fetch(url, {
    ...rest,
    headers: { ...(rest.body ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    signal: AbortSignal.timeout(20_000),
  });
  const text = await response.text();
  let parsed: any;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = { unparsable: text };
  }
  return { status: response.status, json: parsed, type: response.headers.get('content-type') ?? '' };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = join(REPO, 'bin/tongban.js');


/** A CLI process (node bin/tongban.js … or npm …) whose output the test can wait on. */
export interface CliProcess {
  readonly proc: ChildProcess;
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves with the output once `pattern` appears in stdout or stderr; rejects if the process exits first. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
}

export function spawnCli(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): CliProcess {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, TONGBAN_DEBUG: '', ...env };
  // The servers' databases are in their configs; an inherited override would merge them.
  delete childEnv.DATABASE_URL;
  const proc = spawn(command, args, { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    for (const l of listeners) l();
  });
  proc.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    for (const l of listeners) l();
  });
  const exited = new Promise<number | string>((resolve) => proc.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return {
    proc,
    pid: proc.pid!,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern, timeoutMs = 90_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pattern.test(out) || pattern.test(err)) {
            cleanup();
            resolve(out + err);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no ${pattern} within ${timeoutMs / 1000} s; stdout: ${out.slice(-2000)} stderr: ${err.slice(-2000)}`));
        }, timeoutMs);
        const onExit = () => {
          check();
          cleanup();
          reject(new Error(`exited before ${pattern}; stdout: ${out.slice(-2000)} stderr: ${err.slice(-2000)}`));
        };
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
          proc.off('exit', onExit);
        };
        listeners.add(check);
        proc.once('exit', onExit);
        check();
      });
    },
  };
}

/** `node bin/tongban.js …` to completion. */
export async function tongban(args: readonly string[], cwd: string, timeoutMs = 60_000): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const p = spawnCli(process.execPath, [BIN, ...args], cwd);
  const timer = setTimeout(() => p.proc.kill('SIGKILL'), timeoutMs);
  const code = await p.exited;
  clearTimeout(timer);
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

/** The server PIDs a federation process prints in its summary ("… pid 1234"). */
export function summaryPids(output: string): number[] {
  return [...output.matchAll(/ pid (\d+)$/gm)].map((m) => Number(m[1]));
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls until `condition` holds (no fixed sleeps); false after `timeoutMs`. */
export async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 30_000, everyMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
}
