import { portIsFree } from '../src/federation/index.ts';

// Below Linux's ephemeral range (net.ipv4.ip_local_port_range, 32768–60999 by default): while a
// test has a server stopped, an outgoing connection could otherwise take its port as a local
// port, and the restart (or a stand-in on that port) would fail with EADDRINUSE.
const LOWEST = 10_000;
const HIGHEST = 32_000;

/** The first of `count` consecutive loopback ports that are free now (never the demo's 7700–7704). */
export async function freePortRun(count: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = LOWEST + Math.floor(Math.random() * (HIGHEST - LOWEST - count));
    let ok = true;
    for (let i = 0; i < count && ok; i++) ok = await portIsFree('127.0.0.1', base + i);
    if (ok) return base;
  }
  throw new Error(`no run of ${count} free ports between ${LOWEST} and ${HIGHEST}`);
}
