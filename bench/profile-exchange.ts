/**
 * A diagnostic for the exchange levers (docs/benchmarks.md), not part of `npm run bench`:
 * `tsx bench/profile-exchange.ts <bridge|hub>... [--seconds N] [--profile DIR]` starts the bench's
 * federation, measures the servers' idle CPU, then runs each load (closed loop, concurrency 16)
 * and prints every server's CPU time per request. With `--profile DIR` each server process also
 * writes a V8 CPU profile of the load (bench/cpu-profile.mjs, loaded with --import) into DIR.
 */
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleSubjects } from '../src/demo/registries.ts';
import { demoFederation, freePortRun, startFederation } from '../src/federation/index.ts';
import { closedLoop, round } from './load.ts';

const args = process.argv.slice(2);
const option = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args.splice(i, 2)[1] : undefined;
};
const seconds = Number(option('--seconds') ?? 5);
const profileDir = option('--profile');
const scenarios = args.length > 0 ? args : ['bridge', 'hub'];
if (profileDir) {
  mkdirSync(profileDir, { recursive: true });
  process.env.TONGBAN_CPU_PROFILE_DIR = profileDir;
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --import ${new URL('./cpu-profile.mjs', import.meta.url).href}`.trim();
}

function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const work = mkdtempSync(join(tmpdir(), 'tongban-profile-'));
const portBase = await freePortRun(5);
const small = [
  { division: '522732', people: 500, businesses: 20 },
  { division: '330523', people: 500, businesses: 20 },
  { division: '320400', people: 500, businesses: 20, algorithm: 'SM2' as const },
  { division: '310118', people: 500, businesses: 20 },
];
const f = await startFederation(demoFederation({ dir: join(work, 'federation'), portBase, nodes: small }), { mode: 'process', log: () => {} });
try {
  const servers = [['hub', f.hub.pid!] as const, ...[...f.nodes].map(([division, n]) => [division, n.pid!] as const)];
  const cpu = () => Object.fromEntries(servers.map(([name, pid]) => [name, cpuMs(pid)]));
  const subject = sampleSubjects(f.registryPath('522732'), 1).people[0]!.idNumber;
  const text = JSON.stringify({ provider: '522732', service: 'household.residence-proof', subject: { type: 'idNumber', value: subject }, purpose: '户籍类证明开具', fields: ['name', 'householdAddress'] });
  const taskOf = (from: string) => {
    const url = new URL('/v1/operator/exchange', f.nodes.get(from)!.endpoint).toString();
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${f.operatorToken(from)}` };
    return async () => await fetch(url, { method: 'POST', headers, body: text }).then(async (r) => (await r.arrayBuffer(), r.ok));
  };
  const idle0 = cpu();
  const t0 = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const idle1 = cpu();
  const idleSeconds = (Date.now() - t0) / 1000;
  console.log(`idle CPU, ms/s: ${servers.map(([name]) => `${name} ${round((idle1[name]! - idle0[name]!) / idleSeconds, 1)}`).join(', ')}`);
  for (const [index, scenario] of scenarios.entries()) {
    const last = index === scenarios.length - 1;
    const task = taskOf(scenario === 'hub' ? '310118' : '330523');
    await closedLoop(task, { concurrency: 16, durationMs: 1000, warmupMs: 500 });
    if (profileDir && last) for (const [, pid] of servers) process.kill(pid, 'SIGUSR2');
    const before = cpu();
    const r = await closedLoop(task, { concurrency: 16, durationMs: seconds * 1000, warmupMs: 0 });
    const after = cpu();
    const per = servers.map(([name]) => [name, (after[name]! - before[name]!) / r.completed] as const);
    const total = per.reduce((n, [, ms]) => n + ms, 0);
    console.log(`${scenario}: ${round(r.rps, 0)} req/s, ${r.errors} errors, server CPU ${round(total, 2)} ms/request: ${per.map(([name, ms]) => `${name} ${round(ms, 2)}`).join(', ')}`);
  }
} finally {
  await f.stop();
}
