/**
 * A diagnostic for one lever at a time, not part of `npm run bench`: the same exchange load on two
 * checkouts of this repository at once, for comparing a change against the code before it on a
 * machine whose cores' speed drifts (docs/benchmarks.md, "How rounds are read").
 * `tsx bench/compare-trees.ts <tree A> <tree B> [--slices N] [--scenario bridge|hub]` starts one
 * federation from each tree (each its own built `dist/`), warms both for 15 s, then loads them in
 * alternating 1 s slices (each after 0.3 s uncounted) and prints each one's server CPU per request,
 * B's over A's, and B's requests over A's. Swap A and B to see the method's own bias.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as RegistriesModule from '../src/demo/registries.ts';
import type * as FederationModule from '../src/federation/index.ts';
import type { RunningFederation } from '../src/federation/index.ts';
import { closedLoop } from './load.ts';

const args = process.argv.slice(2);
const option = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args.splice(i, 2)[1] : undefined;
};
const slices = Number(option('--slices') ?? 12);
const scenario = option('--scenario') ?? 'bridge';
if (args.length !== 2 || !['bridge', 'hub'].includes(scenario)) {
  console.error('usage: tsx bench/compare-trees.ts <tree A> <tree B> [--slices N] [--scenario bridge|hub]');
  process.exit(2);
}

function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

interface Side {
  readonly tree: string;
  readonly federation: RunningFederation;
  readonly pids: number[];
  readonly task: () => Promise<boolean>;
  cpu: number;
  requests: number;
  errors: number;
}

const sides: Side[] = [];
try {
  for (const tree of args.map((t) => resolve(t))) {
    const federationModule = (await import(pathToFileURL(join(tree, 'src/federation/index.ts')).href)) as typeof FederationModule;
    const registries = (await import(pathToFileURL(join(tree, 'src/demo/registries.ts')).href)) as typeof RegistriesModule;
    const work = mkdtempSync(join(tmpdir(), 'tongban-compare-'));
    const portBase = await federationModule.freePortRun(5);
    const nodes = [
      { division: '522732', people: 500, businesses: 20 },
      { division: '330523', people: 500, businesses: 20 },
      { division: '320400', people: 500, businesses: 20, algorithm: 'SM2' as const },
      { division: '310118', people: 500, businesses: 20 },
    ];
    const federation = await federationModule.startFederation(federationModule.demoFederation({ dir: join(work, 'federation'), portBase, nodes }), { mode: 'process', log: () => {} });
    const subject = registries.sampleSubjects(federation.registryPath('522732'), 1).people[0]!.idNumber;
    const text = JSON.stringify({ provider: '522732', service: 'household.residence-proof', subject: { type: 'idNumber', value: subject }, purpose: '户籍类证明开具', fields: ['name', 'householdAddress'] });
    const from = scenario === 'hub' ? '310118' : '330523';
    const url = new URL('/v1/operator/exchange', federation.nodes.get(from)!.endpoint).toString();
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${federation.operatorToken(from)}` };
    const task = async () => await fetch(url, { method: 'POST', headers, body: text }).then(async (r) => (await r.arrayBuffer(), r.ok));
    const pids = [federation.hub.pid, ...[...federation.nodes.values()].map((n) => n.pid)].filter((pid): pid is number => pid !== undefined);
    sides.push({ tree, federation, pids, task, cpu: 0, requests: 0, errors: 0 });
  }
  for (const side of sides) await closedLoop(side.task, { concurrency: 16, durationMs: 15_000, warmupMs: 0 });
  const total = (side: Side) => side.pids.reduce((n, pid) => n + cpuMs(pid), 0);
  for (let slice = 0; slice < slices; slice++) {
    for (const side of slice % 2 ? [...sides].reverse() : sides) {
      await closedLoop(side.task, { concurrency: 16, durationMs: 300, warmupMs: 0 });
      const before = total(side);
      const result = await closedLoop(side.task, { concurrency: 16, durationMs: 1000, warmupMs: 0 });
      side.cpu += total(side) - before;
      side.requests += result.completed;
      side.errors += result.errors;
    }
  }
  const [a, b] = sides as [Side, Side];
  const per = (side: Side) => side.cpu / side.requests;
  for (const side of sides) console.log(`${side.tree}: ${per(side).toFixed(3)} ms server CPU per request, ${side.requests} requests, ${side.errors} errors`);
  console.log(`${scenario}: B/A CPU per request ${(per(b) / per(a)).toFixed(3)}, B/A requests ${(b.requests / a.requests).toFixed(3)}`);
} finally {
  for (const side of sides) await side.federation.stop();
}
