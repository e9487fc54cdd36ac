import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { RunningFront } from '../front/front.ts';
import type { NodeRuntime } from '../node/index.ts';
import type { listenNode } from '../server/index.ts';

/** One server of a federation, started in this process or as a child process. */
export interface ManagedServer {
  readonly division: string;
  readonly configPath: string;
  /** The URL it answers at (after the first start, stable across restarts). */
  readonly endpoint: string;
  start(): Promise<void>;
  /** Graceful stop (SIGTERM for a process). */
  stop(): Promise<void>;
  /** Hard kill (SIGKILL) — a process only; in-process servers stop gracefully. */
  kill(): Promise<void>;
  readonly running: boolean;
  /** In-process servers only: the node's runtime, for tests that look inside. */
  readonly runtime?: NodeRuntime | undefined;
  /** Child processes only: the OS process id (for memory readings and kill -9); a replicated server's first replica's. */
  readonly pid?: number | undefined;
  /** A replicated server only: its replicas, each a `tongban serve` process. */
  readonly replicas?: readonly ManagedServer[];
}

/**
 * In-process servers send their JSON log lines to `log` too (when given), at `logLevel` (else each
 * config's server.logLevel); `clock` is their clock (the demo seed runs a federation on a simulated one).
 */
export function inProcessServer(
  division: string,
  configPath: string,
  port: number,
  host: string,
  log?: (m: string) => void,
  logLevel?: 'silent' | 'error' | 'warn' | 'info' | 'debug',
  clock?: () => Date,
): ManagedServer {
  let handle: Awaited<ReturnType<typeof listenNode>> | undefined;
  let current: NodeRuntime | undefined;
  let endpoint = '';
  let currentPort = port;
  return {
    division,
    configPath,
    get endpoint() {
      return endpoint;
    },
    get running() {
      return handle !== undefined;
    },
    get runtime() {
      return current;
    },
    async start() {
      if (handle) return;
      // Loaded here: a process that only starts server processes (`tongban demo`) never needs them.
      const [{ openNode }, { listenNode }] = await Promise.all([import('../node/index.ts'), import('../server/index.ts')]);
      const runtime = await openNode(configPath, { env: {}, ...(log ? { log } : {}), ...(clock ? { clock } : {}) });
      try {
        const logStream = log ? { write: (line: string) => log(line.trimEnd()) } : undefined;
        handle = await listenNode(runtime, { port: currentPort, host, ...(logLevel ? { logLevel } : {}), ...(logStream ? { logStream } : {}) });
      } catch (error) {
        await runtime.close();
        throw error;
      }
      current = runtime;
      endpoint = handle.endpoint;
      currentPort = Number(new URL(endpoint).port);
    },
    async stop() {
      const h = handle;
      handle = undefined;
      current = undefined;
      await h?.close();
    },
    async kill() {
      await this.stop();
    },
  };
}

const BIN = fileURLToPath(new URL('../../bin/tongban.js', import.meta.url));

/** Set in a server's environment: stop when the parent's end of stdin closes (the parent died). */
export const EXIT_WITH_PARENT_ENV = 'TONGBAN_EXIT_WITH_PARENT';

/** Every server process this process started and has not seen exit, for a stop on a signal mid-start. */
const liveChildren = new Set<ChildProcess>();

/** Stops every server process this process started (SIGTERM, then SIGKILL after 10 s). */
export async function stopChildProcesses(): Promise<void> {
  await Promise.all(
    [...liveChildren].map(
      (proc) =>
        new Promise<void>((resolve) => {
          if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
          proc.once('exit', () => resolve());
          proc.kill('SIGTERM');
          setTimeout(() => proc.kill('SIGKILL'), 10_000).unref();
        }),
    ),
  );
}

/**
 * V8 flags of every server process a federation starts: a young generation of at most 2 MB per
 * semi-space instead of V8's default 16 MB. V8 grows the young generation to its maximum while a
 * server starts (module loading survives scavenges) and keeps it at that size afterwards, so by
 * default about 25 MB of each idle server's memory is an empty nursery; under load a smaller one
 * costs no measurable CPU (docs/benchmarks.md, "Start-up and memory"). An operator's own NODE_OPTIONS setting
 * of the flag wins; `tongban serve` run by hand takes it the same way
 * (NODE_OPTIONS=--max-semi-space-size=2).
 */
export function serverNodeFlags(env: NodeJS.ProcessEnv = process.env, execArgv: readonly string[] = process.execArgv): string[] {
  const youngGeneration = /--max-semi-space-size/.test(env.NODE_OPTIONS ?? '') ? [] : ['--max-semi-space-size=2'];
  // An operator's own old-generation growth (`node --heap-growing-percent=N bin/tongban.js …`)
  // goes on to the servers; without one each server sets bin/heap.js's default itself.
  return [...youngGeneration, ...execArgv.filter((arg) => /^--heap[-_]growing[-_]percent=/.test(arg))];
}

/**
 * A node as an operator runs it: `tongban serve --config …` in its own process; `serveArgs` adds
 * flags (`--port`, for a replica of a node on a port of its own).
 */
export function childProcessServer(division: string, configPath: string, endpoint: string, log?: (m: string) => void, serveArgs: readonly string[] = [], serveEnv: Readonly<Record<string, string>> = {}): ManagedServer {
  let child: ChildProcess | undefined;
  let exited: Promise<void> | undefined;
  // Each server has its own database in its config; an inherited override would merge them.
  const env: NodeJS.ProcessEnv = { ...process.env, ...serveEnv, [EXIT_WITH_PARENT_ENV]: '1' };
  delete env.DATABASE_URL;
  return {
    division,
    configPath,
    endpoint,
    get running() {
      return child !== undefined;
    },
    get pid() {
      return child?.pid;
    },
    async start() {
      if (child) return;
      // stdin stays open as a lifeline: when this process dies, the server sees it close and stops.
      const proc = spawn(process.execPath, [...serverNodeFlags(env), BIN, 'serve', '--config', configPath, ...serveArgs], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      child = proc;
      liveChildren.add(proc);
      const output: string[] = [];
      let listening = false;
      let ready: () => void = () => {};
      const listened = new Promise<void>((resolve) => (ready = resolve));
      exited = new Promise((resolve) => proc.once('exit', () => resolve()));
      const forward = (data: Buffer) => {
        for (const line of data.toString().split('\n')) {
          if (!line.trim()) continue;
          log?.(line);
          output.push(line);
          if (output.length > 20) output.shift();
          // `tongban serve` prints this once it listens and has started its jobs: this process's
          // server answers, not whatever else may hold the port.
          if (!listening && / listening on /.test(line)) {
            listening = true;
            ready();
          }
        }
      };
      proc.stdout?.on('data', forward);
      proc.stderr?.on('data', forward);
      void exited.then(() => {
        liveChildren.delete(proc);
        if (child === proc) child = undefined;
      });
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), 60_000)));
      const outcome = await Promise.race([listened.then(() => 'listening' as const), exited.then(() => 'exited' as const), timeout]);
      clearTimeout(timer);
      if (outcome === 'listening') return;
      if (outcome === 'timeout') {
        await this.kill();
        throw new Error(`the ${division} server (${endpoint}) did not start within 60 s`);
      }
      const reason = output.filter((l) => l.startsWith('tongban:')).at(-1) ?? output.at(-1) ?? `exit code ${proc.exitCode}`;
      throw new Error(`the ${division} server (${endpoint}) failed to start: ${reason.replace(/^tongban: /, '')}`);
    },
    async stop() {
      await signal('SIGTERM');
    },
    async kill() {
      await signal('SIGKILL');
    },
  };

  async function signal(name: NodeJS.Signals): Promise<void> {
    const proc = child;
    if (!proc) return;
    proc.kill(name);
    const timeout = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timeout);
    child = undefined;
  }
}

export async function waitForHealth(endpoint: string, timeoutMs: number, gaveUp: () => boolean = () => false): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (gaveUp()) throw new Error(`the server for ${endpoint} exited during start-up`);
    try {
      const response = await fetch(new URL('/health', endpoint), { signal: AbortSignal.timeout(1000) });
      if (response.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${endpoint} did not become healthy within ${timeoutMs / 1000} s`);
}

/** Where replica `k` (0-based) of the server published on `port` listens: `port + 100 × (k + 1)`. */
export function replicaPort(port: number, k: number): number {
  return port + 100 * (k + 1);
}

/**
 * Several replicas of one server — each `tongban serve --config <configPath> --port <p>` in its
 * own process, on the one config, keys and PostgreSQL database — behind a round-robin front
 * (`tongban front`'s, in this process) on the server's published address. The config is given
 * `server.publicUrl` (the front's address, which peers verify signatures against) where it names
 * none; the replicas believe the front's X-Forwarded-For through TONGBAN_TRUST_PROXY (the
 * loopback addresses it connects from), which is not written to the config: the same server run
 * alone later believes nobody's. The first replica starts alone (it migrates a new database),
 * the others after it.
 */
export function replicatedServer(division: string, configPath: string, endpoint: string, count: number, log?: (m: string) => void): ManagedServer {
  const published = new URL(endpoint);
  const host = published.hostname.replace(/^\[|\]$/g, '');
  // The front reaches the replicas on the published host: over loopback when that is a loopback
  // or wildcard address, else from that address.
  const loopback = host === 'localhost' || host === '0.0.0.0' || host === '::' || host === '::1' || host.startsWith('127.');
  if (!loopback && isIP(host) === 0) throw new Error(`replicas need the federation's "host" as an IP address (the front's address is what the replicas trust), not ${host}`);
  const serveEnv = { TONGBAN_TRUST_PROXY: loopback ? '127.0.0.1,::1' : host };
  const replicas = Array.from({ length: count }, (_, k) => {
    const port = replicaPort(Number(published.port), k);
    const tag = `[${division}#${k + 1}]`;
    return childProcessServer(division, configPath, `http://${published.host.replace(/:\d+$/, '')}:${port}`, log ? (m) => log(`${tag} ${m.replace(/^\[\d{6}\] /, '')}`) : undefined, ['--port', String(port)], serveEnv);
  });
  let front: RunningFront | undefined;
  const stopFront = async () => {
    const f = front;
    front = undefined;
    await f?.close();
  };
  return {
    division,
    configPath,
    endpoint,
    replicas,
    get running() {
      return front !== undefined;
    },
    get pid() {
      return replicas[0]!.pid;
    },
    async start() {
      if (front) return;
      const config = JSON.parse(readFileSync(configPath, 'utf8')) as { server?: Record<string, unknown> };
      const server = (config.server ??= {});
      if (server.publicUrl === undefined) {
        server.publicUrl = endpoint;
        // Written aside and renamed over it (keeping its mode): a crash never leaves half a config.
        const next = `${configPath}.${process.pid}.tmp`;
        writeFileSync(next, JSON.stringify(config, null, 2) + '\n', { mode: statSync(configPath).mode & 0o777 });
        renameSync(next, configPath);
      }
      // The front takes the published port first: started after the replicas, it could find the
      // port taken meanwhile by one of their outgoing connections (an ephemeral port). Until a
      // replica listens it answers 503 FRONT_NO_REPLICA.
      const { startFront } = await import('../front/front.ts');
      front = await startFront({ backends: replicas.map((r) => r.endpoint), host, port: Number(published.port), ...(log ? { log: (m: string) => log(`[${division}] front: ${m}`) } : {}) });
      try {
        await replicas[0]!.start();
        await Promise.all(replicas.slice(1).map((r) => r.start()));
      } catch (error) {
        await stopFront();
        await Promise.all(replicas.map((r) => r.stop()));
        throw error;
      }
    },
    async stop() {
      await stopFront();
      await Promise.all(replicas.map((r) => r.stop()));
    },
    async kill() {
      await Promise.all(replicas.map((r) => r.kill()));
      await stopFront();
    },
  };
}
