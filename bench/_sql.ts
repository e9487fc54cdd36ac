import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleSubjects } from '../src/demo/registries.ts';
import { demoFederation, startFederation } from '../src/federation/index.ts';
import { closedLoop } from './load.ts';
const small = [
  { division: '522732', people: 500, businesses: 20 },
  { division: '330523', people: 500, businesses: 20 },
  { division: '320400', people: 500, businesses: 20, algorithm: 'SM2' as const },
  { division: '310118', people: 500, businesses: 20 },
];
const f = await startFederation(demoFederation({ dir: join(mkdtempSync(join(tmpdir(), 'sql-')), 'f'), portBase: 23000 + Math.floor(Math.random()*5000), nodes: small }), { mode: 'process', log: () => {} });
const subject = sampleSubjects(f.registryPath('522732'), 1).people[0]!.idNumber;
const text = JSON.stringify({ provider: '522732', service: 'household.residence-proof', subject: { type: 'idNumber', value: subject }, purpose: '户籍类证明开具', fields: ['name', 'householdAddress'] });
const from = process.argv[2] ?? '330523';
const url = new URL('/v1/operator/exchange', f.nodes.get(from)!.endpoint).toString();
const headers = { 'content-type': 'application/json', authorization: `Bearer ${f.operatorToken(from)}` };
const task = async () => await fetch(url, { method: 'POST', headers, body: text }).then(async (r) => (await r.arrayBuffer(), r.ok));
await closedLoop(task, { concurrency: 16, durationMs: 3000, warmupMs: 0 });
for (const n of [f.hub, ...f.nodes.values()]) process.kill(n.pid!, 'SIGUSR1');
const r = await closedLoop(task, { concurrency: 16, durationMs: 3000, warmupMs: 0 });
console.log('completed', r.completed + r.warmedUp, 'pids', f.hub.pid, [...f.nodes].map(([d, n]) => `${d}:${n.pid}`).join(' '));
for (const n of [f.hub, ...f.nodes.values()]) process.kill(n.pid!, 'SIGUSR1');
await new Promise((r) => setTimeout(r, 500));
await f.stop();
