import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';

/** True when nothing listens on host:port (we can bind it ourselves for a moment). */
export function portIsFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', () => resolve(false));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

// Below Linux's ephemeral range (net.ipv4.ip_local_port_range, 32768–60999 by default): while a
// server is stopped (a test's restart, a bench's scenario), an outgoing connection could otherwise
// take its port as a local port, and the restart would fail with EADDRINUSE.
const LOWEST_RUN_PORT = 10_000;
const HIGHEST_RUN_PORT = 32_000;

/** The first of `count` consecutive loopback ports that are free now, for tests and benchmarks (never the demo's 7700–7704). */
export async function freePortRun(count: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = LOWEST_RUN_PORT + Math.floor(Math.random() * (HIGHEST_RUN_PORT - LOWEST_RUN_PORT - count));
    let ok = true;
    for (let i = 0; i < count && ok; i++) ok = await portIsFree('127.0.0.1', base + i);
    if (ok) return base;
  }
  throw new Error(`no run of ${count} free ports between ${LOWEST_RUN_PORT} and ${HIGHEST_RUN_PORT}`);
}

/**
 * Who listens on a TCP port, as "pid 1234: node bin/tongban.js serve …", from /proc (Linux).
 * Undefined where /proc cannot tell (another OS, or a process of another user).
 */
export function portHolder(port: number): string | undefined {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // local_address is HEXIP:HEXPORT; state 0A is LISTEN; column 9 is the socket inode.
      const local = cols[1];
      if (!local || cols[3] !== '0A') continue;
      if (parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port && cols[9] && cols[9] !== '0') inodes.add(cols[9]);
    }
  }
  if (inodes.size === 0) return undefined;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const match = /^socket:\[(\d+)\]$/.exec(target);
      if (match && inodes.has(match[1]!)) {
        let command = '';
        try {
          command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
        } catch {
          // the process ended meanwhile
        }
        return `pid ${pid}${command ? `: ${command}` : ''}`;
      }
    }
  }
  return undefined;
}

/** "port 7701 is in use (pid 1234: node … serve …)" — the sentence every start-up failure uses. */
export function portInUseMessage(port: number): string {
  const holder = portHolder(port);
  return `port ${port} is in use${holder ? ` (${holder})` : ''}`;
}

/** The first free port from `start` on (at most `tries` candidates). */
export async function firstFreePort(host: string, start: number, tries = 100): Promise<number | undefined> {
  for (let port = start; port < start + tries && port <= 65535; port++) {
    if (await portIsFree(host, port)) return port;
  }
  return undefined;
}
