import { spawn } from 'node:child_process';

export const BIN = new URL('../../bin/tongban.js', import.meta.url).pathname;

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real `tongban` CLI (the compiled build) in `cwd`, without debug stacks, with extra env (and `input` on its standard input). */
export function runTongban(args: readonly string[], options: { cwd: string; env?: Record<string, string>; input?: string }): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env: { ...process.env, TONGBAN_DEBUG: '', ...options.env } });
    // Standard input: given (then closed), or left open as before.
    if (options.input !== undefined) child.stdin.end(options.input);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

export interface RunningTongban {
  /** The next stdout line matching `predicate` (lines already printed count), or an error after `timeoutMs`. */
  line(predicate: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Everything, once the process has ended. */
  readonly done: Promise<CliResult>;
  kill(): void;
}

/**
 * Starts the real `tongban` CLI and lets the test read its output while it runs (a command that
 * waits for something the test does, such as `tongban login` waiting for the browser).
 */
export function startTongban(args: readonly string[], options: { cwd: string; env?: Record<string, string> }): RunningTongban {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env: { ...process.env, TONGBAN_DEBUG: '', ...options.env } });
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    for (const wake of waiters) wake();
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let ended = false;
  const done = new Promise<CliResult>((resolve) =>
    child.on('close', (code) => {
      ended = true;
      resolve({ code: code ?? -1, stdout, stderr });
      for (const wake of waiters) wake();
    }),
  );
  return {
    done,
    kill: () => child.kill('SIGKILL'),
    line(predicate, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no such line within ${timeoutMs} ms; stdout: ${stdout}; stderr: ${stderr}`));
        }, timeoutMs);
        function check() {
          const found = stdout.split('\n').find(predicate);
          if (found !== undefined || ended) {
            clearTimeout(timer);
            waiters.delete(check);
            if (found !== undefined) resolve(found);
            else reject(new Error(`the command ended first (stdout: ${stdout}; stderr: ${stderr})`));
          }
        }
        waiters.add(check);
        check();
      });
    },
  };
}
