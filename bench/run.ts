/**
 * `npm run bench [-- --quick]`: figures that matter as ratios against a baseline measured in
 * the same run, on this (shared, noisy) machine. Writes bench/results/latest.json, or the file
 * named by `--out <path>`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Agreement, PolicyIndex, type AccessRequest } from '../src/agreements/index.ts';
import { AuditLog, auditPages, chainEntries, verifyChain } from '../src/audit/index.ts';
import { contentDigest, generateSigningKey, signBytes, verifyBytes } from '../src/crypto/index.ts';
import { sampleSubjects } from '../src/demo/registries.ts';
import { demoFederation, freePortRun, startFederation, type RunningFederation } from '../src/federation/index.ts';
import { nodeReport } from '../src/governance/index.ts';
import { openStore, type Store } from '../src/store/index.ts';
import { closedLoop, combine, cpuMs, round, warmUntilSteady, type LoadResult } from './load.ts';
import { replicasBenchmark } from './scale.ts';
import { assertCompiled, freePortBase, timeDemoStart } from './startup.ts';

const quick = process.argv.includes('--quick');
/** `--exchange-only`: the exchange scenarios alone (for comparing levers quickly). */
const exchangeOnly = process.argv.includes('--exchange-only');
/** `--scale-only`: two replicas against one on PostgreSQL alone. */
const scaleOnly = process.argv.includes('--scale-only');
/** `--governance-only`: the governance dashboards' queries over a large SQLite store alone. */
const governanceOnly = process.argv.includes('--governance-only');
/** `--governance-cases <n>`: another number of cases for that scenario (1M in the full bench, 200k in the quick one). */
const governanceCasesIndex = process.argv.indexOf('--governance-cases');
const sizes = quick
  ? { seconds: 2.5, warmupSliceMs: 1_000, warmupMaxMs: 6_000, warmupMinRequests: 0, rounds: 3, roundWarmupMs: 500, concurrency: 16, policy: [1_000, 10_000, 100_000], decisions: 200_000, appends: 5_000, verify: 100_000, tracker: 1_000_000, caseSeconds: 3, governanceCases: 200_000 }
  : { seconds: 10, warmupSliceMs: 2_000, warmupMaxMs: 90_000, warmupMinRequests: 20_000, rounds: 10, roundWarmupMs: 500, concurrency: 16, policy: [1_000, 10_000, 100_000], decisions: 2_000_000, appends: 50_000, verify: 1_000_000, tracker: 10_000_000, caseSeconds: 10, governanceCases: 1_000_000 };
if (governanceCasesIndex > 0) sizes.governanceCases = Number(process.argv[governanceCasesIndex + 1]);
const pgUrl = process.env.TONGBAN_BENCH_DATABASE_URL ?? process.env.TONGBAN_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const results: Record<string, Record<string, unknown>> = { meta: {}, start: {}, exchange: {}, policy: {}, audit: {}, memory: {}, cases: {}, scale: {}, governance: {} };
const outIndex = process.argv.indexOf('--out');
const outPath = outIndex > 0 ? process.argv[outIndex + 1] : undefined;
const work = mkdtempSync(join(tmpdir(), 'tongban-bench-'));
/**
 * The servers' log lines (start-up, warnings, errors: a few dozen lines a run) go to
 * <results folder>/bench-server-logs/<federation>.log, so a scenario that failed can be read after
 * the run; the federations' own folders are deleted.
 */
const serverLogDir = join(outPath ? dirname(outPath) : join(import.meta.dirname, 'results'), 'bench-server-logs');
function serverLog(federation: string): (line: string) => void {
  mkdirSync(serverLogDir, { recursive: true });
  const stream = createWriteStream(join(serverLogDir, `${federation}.log`), { flags: 'w' });
  return (line) => void stream.write(line + '\n');
}
const log = (m: string) => process.stderr.write(m + '\n');

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

/** The benchmarks' federation: the demo's four nodes with small registries. */
const SMALL_NODES = [
  { division: '522732', people: 500, businesses: 20 },
  { division: '330523', people: 500, businesses: 20 },
  { division: '320400', people: 500, businesses: 20, algorithm: 'SM2' as const },
  { division: '310118', people: 500, businesses: 20 },
];

async function exchangeBenchmarks(): Promise<void> {
  const portBase = await freePortRun(5);
  log(`exchange: starting a federation on ports ${portBase}…`);
  const f = await startFederation(demoFederation({ dir: join(work, 'federation'), portBase, nodes: SMALL_NODES }), { mode: 'process', log: serverLog('exchange') });
  const bare: ChildProcess[] = [];
  const cleanups: Array<() => Promise<void>> = [];
  try {
    const subject = sampleSubjects(f.registryPath('522732'), 1).people[0]!.idNumber;
    const failures = new Map<string, number>();
    const failed = (reason: string) => failures.set(reason, (failures.get(reason) ?? 0) + 1);
    const operatorCall = (from: string, body: object) => {
      const url = new URL('/v1/operator/exchange', f.nodes.get(from)!.endpoint).toString();
      const headers = { 'content-type': 'application/json', authorization: `Bearer ${f.operatorToken(from)}` };
      const text = JSON.stringify(body);
      return async () => {
        // A failure is counted with its reason (status and problem code, or the network error), so
        // that a run with errors says why.
        try {
          const r = await fetch(url, { method: 'POST', headers, body: text });
          const answer = await r.text();
          if (!r.ok) failed(`${from}: ${r.status} ${/"code":"(\w+)"/.exec(answer)?.[1] ?? ''}`.trim());
          return r.ok;
        } catch (error) {
          failed(`${from}: ${(error as { cause?: { code?: string } }).cause?.code ?? (error instanceof Error ? error.message : String(error))}`);
          return false;
        }
      };
    };
    const request = { provider: '522732', service: 'household.residence-proof', subject: { type: 'idNumber', value: subject }, purpose: '户籍类证明开具', fields: ['name', 'householdAddress'] };

    // (a) baseline: the same topology and payload, bare.
    const bPort = await freePortRun(4);
    const start = (args: string[], script = 'bare-relay.mjs', env: Record<string, string> = {}) =>
      new Promise<void>((resolve) => {
        const file = join(import.meta.dirname, script);
        const argv = script.endsWith('.ts') ? ['--import', 'tsx', file, ...args] : [file, ...args];
        const proc = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
        bare.push(proc);
        proc.stdout!.once('data', () => resolve());
      });
    await start(['provider', String(bPort)]);
    await start(['relay', String(bPort + 1), `http://127.0.0.1:${bPort}/`]);
    // (a') the signed baseline: the same relay with the governed exchange's digests, signatures and checks.
    const signedKeys = JSON.stringify({
      relay: (await generateSigningKey('Ed25519', '330523')).privateJwk,
      provider: (await generateSigningKey('Ed25519', '522732')).privateJwk,
    });
    await start(['provider', String(bPort + 2)], 'signed-relay.ts', { BENCH_KEYS: signedKeys });
    await start(['relay', String(bPort + 3), `http://127.0.0.1:${bPort + 2}/v1/exchange`], 'signed-relay.ts', { BENCH_KEYS: signedKeys });
    const bareBody = JSON.stringify({ ...request, agreementId: 'x', itemCode: 'N034', caseId: 'bench', operator: { id: 'bench', role: 'clerk' } });
    const post = (url: string, headers: Record<string, string>, text: string) => async () =>
      await fetch(url, { method: 'POST', headers, body: text }).then(async (r) => (await r.arrayBuffer(), r.ok));
    const plain = { 'content-type': 'application/json' };

    // (b) the crypto floor: the signatures and digests one governed exchange needs, alone.
    const requester = await generateSigningKey('Ed25519', '330523');
    const provider = await generateSigningKey('Ed25519', '522732');
    const body = new TextEncoder().encode(bareBody.padEnd(1024, ' '));
    const floor = async () => {
      contentDigest(body);
      const s1 = await signBytes(requester, body);
      const ok1 = await verifyBytes(requester.publicJwk, body, s1);
      contentDigest(body);
      const s2 = await signBytes(provider, body);
      return ok1 && (await verifyBytes(provider.publicJwk, body, s2));
    };

    const sandu = f.nodes.get('522732')!;
    assertCompiled(sandu.pid!);
    results.memory.idle_mb = round(rssMb(sandu.pid!), 1);
    const pg = await startPostgresFederation(await freePortRun(5), SMALL_NODES);
    if (pg) cleanups.push(pg.stop);
    const scenarios: Record<string, () => Promise<boolean>> = {
      bare: post(`http://127.0.0.1:${bPort + 1}/`, plain, bareBody),
      signed: post(`http://127.0.0.1:${bPort + 3}/`, plain, bareBody),
      floor,
      bridge: operatorCall('330523', request),
      hub: operatorCall('310118', request),
      ...(pg ? { bridge_pg: pg.operatorCall('330523', request) } : {}),
    };
    // The server processes each scenario runs on: their CPU time per request is a cost figure
    // that a busy machine disturbs far less than throughput (the load generator is not counted;
    // for bridge_pg neither is the PostgreSQL server).
    const serverPids = (fed: { hub: { pid?: number | undefined }; nodes: ReadonlyMap<string, { pid?: number | undefined }> }) =>
      [fed.hub.pid, ...[...fed.nodes.values()].map((n) => n.pid)].filter((pid): pid is number => pid !== undefined);
    const pidsOf: Record<string, number[] | 'self'> = {
      bare: bare.slice(0, 2).map((p) => p.pid!),
      signed: bare.slice(2, 4).map((p) => p.pid!),
      floor: 'self',
      bridge: serverPids(f),
      hub: serverPids(f),
      ...(pg ? { bridge_pg: pg.pids } : {}),
    };
    const cpuNow = (name: string) => {
      const pids = pidsOf[name]!;
      if (pids === 'self') {
        const usage = process.cpuUsage();
        return (usage.user + usage.system) / 1000;
      }
      return pids.reduce((sum, pid) => sum + cpuMs(pid), 0);
    };
    const cpuPerRequest: Record<string, { ms: number; completed: number }> = {};
    // Each server process's share, for the federations' scenarios: which side a cost is on.
    const labelsOf = (fed: RunningFederation) => new Map<number, string>([[fed.hub.pid!, 'hub'], ...[...fed.nodes].map(([division, n]) => [n.pid!, division] as [number, string])]);
    const labels = new Map([...labelsOf(f), ...(pg ? labelsOf(pg.federation) : [])]);
    const cpuByProcess = (name: string): Record<string, number> => {
      const pids = pidsOf[name]!;
      return pids === 'self' || !['bridge', 'hub', 'bridge_pg'].includes(name) ? {} : Object.fromEntries(pids.map((pid) => [labels.get(pid) ?? String(pid), cpuMs(pid)]));
    };
    const cpuByProcessSpent: Record<string, Record<string, number>> = {};
    // Scenarios take turns in short rounds, so a burst of load from elsewhere on this shared
    // machine lands on all of them instead of skewing one ratio. The cores' own speed drifts too:
    // a fixed hashing loop on the idle machine ran 20-40 % faster in some 10-30 s stretches than
    // in others (docs/benchmarks.md), so a round is short against such a stretch (1 s full).
    const rounds = sizes.rounds;
    const perRound = { concurrency: sizes.concurrency, durationMs: (sizes.seconds * 1000) / rounds };
    const parts: Record<string, LoadResult[]> = {};
    let peak = 0;
    // Both ends of the bridge: the requester (Anji) holds more per exchange than the provider.
    const anji = f.nodes.get('330523')!;
    const peakByNode: Record<string, number> = { '522732': 0, '330523': 0 };
    const samplePeak = (name: string) =>
      name === 'bridge'
        ? setInterval(() => {
            peakByNode['522732'] = Math.max(peakByNode['522732']!, rssMb(sandu.pid!));
            peakByNode['330523'] = Math.max(peakByNode['330523']!, rssMb(anji.pid!));
            peak = Math.max(peak, peakByNode['522732']!, peakByNode['330523']!);
          }, 200)
        : undefined;
    // Every scenario is first run until its throughput stops rising (bench/load.ts): the figures
    // are of warm servers, as in production. What the first slice read is kept as `<name>_cold_rps`.
    for (const [name, task] of Object.entries(scenarios)) {
      log(`exchange: ${name} (warming up)…`);
      const sampler = samplePeak(name);
      const warm = await warmUntilSteady(task, { concurrency: sizes.concurrency, sliceMs: sizes.warmupSliceMs, maxMs: sizes.warmupMaxMs, minRequests: sizes.warmupMinRequests });
      clearInterval(sampler);
      results.exchange[`${name}_cold_rps`] = round(warm.slices[0] ?? 0, 0);
      results.exchange[`${name}_warmup_s`] = round(warm.seconds, 1);
      results.exchange[`${name}_warmup_requests`] = warm.requests;
      log(`exchange: ${name} warmed up in ${round(warm.seconds, 1)} s (${warm.requests} requests), req/s by slice: ${warm.slices.map((r) => round(r, 0)).join(', ')}`);
    }
    for (let i = 0; i < rounds; i++) {
      for (const [name, task] of Object.entries(scenarios)) {
        log(`exchange: ${name} (round ${i + 1}/${rounds})…`);
        const sampler = samplePeak(name);
        // Its servers sat idle while the other scenarios ran; after idle they run slower for up to
        // a second (sockets reopened, heap grown back), which a short round would charge to
        // whichever path has the most code. Half a second of load first, not counted, so every
        // round reads servers under sustained load (docs/benchmarks.md, "How rounds are read").
        await closedLoop(task, { concurrency: sizes.concurrency, durationMs: sizes.roundWarmupMs, warmupMs: 0 });
        const cpu0 = cpuNow(name);
        const byProcess0 = cpuByProcess(name);
        const part = await closedLoop(task, { ...perRound, warmupMs: 0 });
        (parts[name] ??= []).push(part);
        const spent = (cpuPerRequest[name] ??= { ms: 0, completed: 0 });
        spent.ms += cpuNow(name) - cpu0;
        const byProcess = (cpuByProcessSpent[name] ??= {});
        for (const [label, ms] of Object.entries(cpuByProcess(name))) byProcess[label] = (byProcess[label] ?? 0) + ms - byProcess0[label]!;
        // Failed calls cost CPU as well; closedLoop's figures count only answers.
        spent.completed += part.completed + part.errors;
        clearInterval(sampler);
      }
    }
    results.memory.loaded_mb = round(peak, 1);
    results.memory.loaded_mb_by_node = Object.fromEntries(Object.entries(peakByNode).map(([division, mb]) => [division, round(mb, 1)]));
    // Why operator calls failed (bridge and hub scenarios), when any did: "<from node>: <status> <code>" → count.
    if (failures.size > 0) results.exchange.failures = Object.fromEntries(failures);
    const measured: Record<string, LoadResult> = Object.fromEntries(Object.entries(parts).map(([name, r]) => [name, combine(r)]));

    for (const [name, r] of Object.entries(measured)) {
      results.exchange[`${name}_rps`] = round(r.rps, 0);
      results.exchange[`${name}_p50_ms`] = round(r.p50_ms);
      results.exchange[`${name}_p99_ms`] = round(r.p99_ms);
      results.exchange[`${name}_errors`] = r.errors;
      const cpu = cpuPerRequest[name];
      if (cpu && cpu.completed > 0) results.exchange[`${name}_cpu_ms`] = round(cpu.ms / cpu.completed, 3);
      const byProcess = cpuByProcessSpent[name];
      if (cpu && cpu.completed > 0 && byProcess && Object.keys(byProcess).length > 0) {
        results.exchange[`${name}_cpu_ms_by_process`] = Object.fromEntries(Object.entries(byProcess).map(([label, ms]) => [label, round(ms / cpu.completed, 3)]));
      }
    }
    results.exchange.bridge_vs_bare = round(measured.bridge!.rps / measured.bare!.rps, 3);
    results.exchange.hub_vs_bare = round(measured.hub!.rps / measured.bare!.rps, 3);
    results.exchange.bridge_vs_floor = round(measured.bridge!.rps / measured.floor!.rps, 3);
    results.exchange.bridge_vs_signed = round(measured.bridge!.rps / measured.signed!.rps, 3);
    results.exchange.hub_vs_bridge = round(measured.hub!.rps / measured.bridge!.rps, 3);
    // The same comparisons as cost (CPU per request of the servers involved): higher is better, like the rps ratios.
    const cpuRatio = (a: string, b: string) => round((results.exchange[`${b}_cpu_ms`] as number) / (results.exchange[`${a}_cpu_ms`] as number), 3);
    results.exchange.bridge_vs_signed_cpu = cpuRatio('bridge', 'signed');
    results.exchange.hub_vs_bridge_cpu = cpuRatio('hub', 'bridge');
    if (measured.bridge_pg) results.exchange.bridge_pg_vs_sqlite_cpu = cpuRatio('bridge_pg', 'bridge');
    if (measured.bridge_pg) results.exchange.bridge_pg_vs_sqlite = round(measured.bridge_pg.rps / measured.bridge!.rps, 3);
    else results.exchange.bridge_pg_vs_sqlite = `skipped: PostgreSQL at ${redacted(pgUrl)} is not reachable`;
    results.memory.loaded_vs_idle = round((results.memory.loaded_mb as number) / (results.memory.idle_mb as number), 2);

    if (!exchangeOnly) await caseBenchmark(f);
  } finally {
    for (const proc of bare) proc.kill();
    for (const cleanup of cleanups) await cleanup();
    await f.stop();
  }
}

function redacted(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

/**
 * A second federation with every server on PostgreSQL (one schema each, in the database of
 * pgUrl), for the bridge load on the production store. Undefined, with a notice, when
 * PostgreSQL cannot be reached.
 */
async function startPostgresFederation(
  portBase: number,
  nodes: NonNullable<Parameters<typeof demoFederation>[0]>['nodes'],
  name = 'federation-pg',
): Promise<{ federation: RunningFederation; operatorCall: (from: string, body: object) => () => Promise<boolean>; pids: number[]; stop: () => Promise<void> } | undefined> {
  const { default: pgLib } = await import('pg');
  const client = new pgLib.Client({ connectionString: pgUrl, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
  } catch (error) {
    log(`${name}: PostgreSQL at ${redacted(pgUrl)} is not reachable (${error instanceof Error ? error.message : String(error)}); skipping what needs it. Set TONGBAN_TEST_DATABASE_URL to measure it.`);
    await client.end().catch(() => {});
    return undefined;
  }
  const prefix = `bench${randomBytes(3).toString('hex')}`;
  log(`${name}: starting a federation on PostgreSQL (schemas ${prefix}_*)…`);
  const dropSchemas = async () => {
    const schemas = await client.query<{ nspname: string }>(`SELECT nspname FROM pg_namespace WHERE nspname LIKE '${prefix}\\_%'`);
    for (const { nspname } of schemas.rows) await client.query(`DROP SCHEMA ${nspname} CASCADE`);
    await client.end();
  };
  let f: RunningFederation;
  try {
    f = await startFederation(demoFederation({ dir: join(work, name), portBase, nodes, databaseUrl: pgUrl, schemaPrefix: prefix }), { mode: 'process', log: serverLog(name) });
  } catch (error) {
    await dropSchemas();
    throw error;
  }
  return {
    federation: f,
    pids: [f.hub.pid, ...[...f.nodes.values()].map((n) => n.pid)].filter((pid): pid is number => pid !== undefined),
    operatorCall: (from, body) => {
      const url = new URL('/v1/operator/exchange', f.nodes.get(from)!.endpoint).toString();
      const headers = { 'content-type': 'application/json', authorization: `Bearer ${f.operatorToken(from)}` };
      const text = JSON.stringify(body);
      return async () => await fetch(url, { method: 'POST', headers, body: text }).then(async (r) => (await r.arrayBuffer(), r.ok));
    },
    stop: async () => {
      await f.stop();
      await dropSchemas();
    },
  };
}

async function caseBenchmark(f: Awaited<ReturnType<typeof startFederation>>): Promise<void> {
  log('cases: online mode end to end…');
  const tokens: Record<string, string> = {};
  for (const [node, role] of [['522732', 'clerk'], ['330523', 'approver']] as const) {
    const r = await fetch(new URL('/v1/operator/accounts', f.nodes.get(node)!.endpoint), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${f.operatorToken(node)}` },
      body: JSON.stringify({ id: `bench-${role}`, role, name: role }),
    });
    tokens[node] = ((await r.json()) as { token: string }).token;
  }
  const call = async (node: string, method: string, path: string, body?: unknown) => {
    const r = await fetch(new URL(path, f.nodes.get(node)!.endpoint), {
      method,
      headers: { authorization: `Bearer ${tokens[node]}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const json = (await r.json()) as { case?: { id: string; state: string; materials: Array<{ name: string }> } };
    if (!r.ok) throw new Error(JSON.stringify(json));
    return json.case!;
  };
  const until = async (node: string, id: string, state: string) => {
    for (;;) {
      const r = await fetch(new URL(`/v1/cases/${id}`, f.nodes.get(node)!.endpoint), { headers: { authorization: `Bearer ${tokens[node]}` } });
      if (r.ok && ((await r.json()) as { case: { state: string } }).case.state === state) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  const people = sampleSubjects(f.registryPath('522732'), 50).people;
  let n = 0;
  const oneCase = async () => {
    const p = people[n++ % people.length]!;
    const c = await call('522732', 'POST', '/v1/cases', { itemCode: 'N034', mode: 'online', competentNodes: ['330523'], applicant: { idNumber: p.idNumber, name: p.name } });
    await call('522732', 'POST', `/v1/cases/${c.id}/actions/precheck`, { materials: c.materials.map((m) => ({ name: m.name, checked: true })), identityVerified: true });
    await call('522732', 'POST', `/v1/cases/${c.id}/actions/accept`, {});
    await until('330523', c.id, 'accepted');
    await call('330523', 'POST', `/v1/cases/${c.id}/actions/start-review`, {});
    await call('330523', 'POST', `/v1/cases/${c.id}/actions/decide`, { outcome: 'grant', reason: 'bench' });
    await call('330523', 'POST', `/v1/cases/${c.id}/actions/conclude`, { result: { code: 'OK', description: 'bench' } });
    await until('522732', c.id, 'concluded');
    await call('522732', 'POST', `/v1/cases/${c.id}/actions/deliver`, { method: 'online' });
    return true;
  };
  const r = await closedLoop(oneCase, { concurrency: 8, durationMs: sizes.caseSeconds * 1000, warmupMs: 200 });
  results.cases.per_s = round(r.rps, 2);
  results.cases.p50_ms = round(r.p50_ms);
  results.cases.errors = r.errors;
  results.cases.vs_bridge_exchange = round(r.rps / (results.exchange.bridge_rps as number), 4);
}

function policyBenchmark(): void {
  log('policy: building indexes…');
  const nodes = Array.from({ length: 3000 }, (_, i) => String(110000 + i * 7).padStart(6, '0'));
  const pick = () => nodes[Math.floor(Math.random() * nodes.length)]!;
  for (const size of sizes.policy) {
    const index = new PolicyIndex();
    const requests: AccessRequest[] = [];
    for (let i = 0; i < size; i++) {
      const a = pick();
      let b = pick();
      while (b === a) b = pick();
      const agreement = Agreement.parse({
        id: `AGR-${i}`,
        version: 1,
        title: 't',
        parties: [a, b],
        topology: 'bridge',
        validFrom: '2025-01-01T00:00:00.000Z',
        validUntil: '2030-01-01T00:00:00.000Z',
        items: [{ itemCode: 'N034', grants: [{ provider: a, service: 'household.residence-proof', requesters: [b], fields: ['name', 'idNumber', 'householdAddress'], purposes: ['户籍类证明开具'], consentRequired: false }] }],
      });
      index.add(agreement);
      if (requests.length < 10_000) {
        requests.push({ agreementId: agreement.id, requester: b, provider: a, itemCode: 'N034', service: 'household.residence-proof', fields: ['name', 'householdAddress'], purpose: '户籍类证明开具', hasConsent: false });
      }
    }
    const now = new Date('2026-06-01T00:00:00Z');
    let allowed = 0;
    const t0 = performance.now();
    for (let i = 0; i < sizes.decisions; i++) if (index.decide(requests[i % requests.length]!, now).allowed) allowed++;
    const perSecond = sizes.decisions / ((performance.now() - t0) / 1000);
    if (allowed !== sizes.decisions) throw new Error('policy benchmark: a granted request was denied');
    ((results.policy.decisions_per_s ??= {}) as Record<string, number>)[String(size)] = round(perSecond, 0);
  }
  const d = results.policy.decisions_per_s as Record<string, number>;
  results.policy.ratio_100k_vs_1k = round(d['100000']! / d['1000']!, 3);
}

async function auditBenchmarks(): Promise<void> {
  const event = (i: number) => ({ kind: 'exchange.provide', outcome: 'allowed' as const, requestId: `r${i}`, requester: '330523', provider: '522732', agreementId: 'AGR-1', itemCode: 'N034', service: 'household.residence-proof', purpose: '户籍类证明开具', subjectHash: randomBytes(32).toString('hex'), detail: { via: 'bridge' } });
  const measureAppends = async (store: Store, label: string) => {
    log(`audit: appends on ${label}…`);
    const chained = new AuditLog(store);
    const t0 = performance.now();
    const inFlight = 64;
    for (let i = 0; i < sizes.appends; i += inFlight) await Promise.all(Array.from({ length: inFlight }, (_, j) => chained.append(event(i + j))));
    const chainedRate = sizes.appends / ((performance.now() - t0) / 1000);
    // Baseline: the same rows, same batch size, written without reading the head or hashing.
    const head = (await store.audit.head())!;
    const rows = chainEntries(head, Array.from({ length: sizes.appends }, (_, i) => event(i)), new Date().toISOString());
    const t1 = performance.now();
    for (let i = 0; i < rows.length; i += inFlight) {
      const batch = rows.slice(i, i + inFlight);
      await store.transaction((tx) => tx.audit.insert(batch));
    }
    const plainRate = sizes.appends / ((performance.now() - t1) / 1000);
    results.audit[`appends_per_s_${label}`] = round(chainedRate, 0);
    results.audit[`plain_inserts_per_s_${label}`] = round(plainRate, 0);
    results.audit[`chained_vs_plain_${label}`] = round(chainedRate / plainRate, 3);
  };

  const sqlite = await openStore({ url: join(work, 'audit.sqlite') });
  await measureAppends(sqlite, 'sqlite');
  await sqlite.close();
  let pg: Store | undefined;
  try {
    const schema = `bench_${randomBytes(4).toString('hex')}`;
    const url = new URL(pgUrl);
    url.searchParams.set('schema', schema);
    pg = await openStore({ url: url.toString() });
    await measureAppends(pg, 'postgres');
    await pg.close();
    const { default: pgLib } = await import('pg');
    const client = new pgLib.Client({ connectionString: pgUrl });
    await client.connect();
    await client.query(`DROP SCHEMA ${schema} CASCADE`);
    await client.end();
  } catch (error) {
    results.audit.postgres = `skipped: ${error instanceof Error ? error.message : String(error)}`;
  }

  // Verification of a long chain, against reading it alone.
  log(`audit: verify ${sizes.verify} entries…`);
  const verifyPath = join(work, 'verify.sqlite');
  const vstore = await openStore({ url: verifyPath });
  let head: { seq: number; hash: string } | undefined;
  for (let i = 0; i < sizes.verify; i += 10_000) {
    const batch = chainEntries(head, Array.from({ length: Math.min(10_000, sizes.verify - i) }, (_, j) => event(i + j)), new Date().toISOString());
    await vstore.transaction((tx) => tx.audit.insert(batch));
    head = { seq: batch.at(-1)!.seq, hash: batch.at(-1)!.hash };
  }
  let t = performance.now();
  let read = 0;
  for await (const page of auditPages(vstore, 5000)) read += page.length;
  const readSeconds = (performance.now() - t) / 1000;
  t = performance.now();
  const verdict = await verifyChain(auditPages(vstore, 5000), [{ seq: head!.seq, hash: head!.hash }]);
  const verifySeconds = (performance.now() - t) / 1000;
  if (!verdict.ok || read !== sizes.verify) throw new Error('audit benchmark: the chain did not verify');
  await vstore.close();
  results.audit.verify_entries = sizes.verify;
  results.audit.verify_s = round(verifySeconds, 2);
  results.audit.read_only_s = round(readSeconds, 2);
  results.audit.verify_vs_read = round(verifySeconds / readSeconds, 2);

  // The citizen's data tracker: every access to one subject among many entries.
  log(`audit: data tracker over ${sizes.tracker} entries…`);
  const trackerPath = join(work, 'tracker.sqlite');
  const tstore = await openStore({ url: trackerPath });
  await tstore.close();
  const db = new BetterSqlite3(trackerPath);
  const insert = db.prepare(
    `INSERT INTO audit_log (seq, at, kind, outcome, requester, provider, service, subject_hash, detail, prev_hash, hash) VALUES (?, '2026-01-01T00:00:00.000Z', 'exchange.provide', 'allowed', '330523', '522732', 'household.residence-proof', ?, '{}', ?, ?)`,
  );
  const subjects = Array.from({ length: 100_000 }, () => randomBytes(32).toString('hex'));
  const filler = '0'.repeat(64);
  for (let i = 0; i < sizes.tracker; i += 100_000) {
    db.transaction(() => {
      for (let j = i; j < Math.min(i + 100_000, sizes.tracker); j++) insert.run(j + 1, subjects[j % subjects.length], filler, filler);
    })();
  }
  db.close();
  const tracker = await openStore({ url: trackerPath });
  const timeQueries = async (query: (i: number) => Promise<unknown>) => {
    const times: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t0 = performance.now();
      await query(i);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    return times[100]!;
  };
  const bySubject = await timeQueries((i) => tracker.audit.bySubject(subjects[(i * 7919) % subjects.length]!));
  const bySeq = await timeQueries((i) => tracker.audit.range(((i * 7919) % sizes.tracker) + 1, 1));
  await tracker.close();
  results.audit.tracker_entries = sizes.tracker;
  results.audit.tracker_p50_ms = round(bySubject, 3);
  results.audit.tracker_vs_primary_key_lookup = round(bySubject / bySeq, 2);
}

/**
 * `governance.*`: the dashboards over a node's store of `governanceCases` cases (and as many audit
 * entries, one in twenty refused), bulk-inserted into SQLite. Each query is timed (median of 5) as
 * the node runs it (migration 020's indexes), and against the same query forced to scan the table
 * (`NOT INDEXED`) and a plain `COUNT(*)`: the baseline of the same run, reported as ratios.
 */
async function governanceBenchmark(): Promise<void> {
  const n = sizes.governanceCases;
  log(`governance: ${n} cases and ${n} audit entries in SQLite…`);
  const path = join(work, 'governance.sqlite');
  const empty = await openStore({ url: path });
  await empty.close();
  const db = new BetterSqlite3(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  const self = '522732';
  const partners = ['330523', '320400', '310118', '522701', '110105', '440104'];
  const states = ['applied', 'accepted', 'in_review', 'decided', 'concluded', 'delivered', 'rejected', 'withdrawn'];
  // A case body of a realistic size (the table scan of the baseline reads it; the indexed queries do not).
  const body = JSON.stringify({ note: 'x'.repeat(600) });
  const insertCase = db.prepare('INSERT INTO cases (id, version, state, accepting_node, applicant_id, body, updated_at, mode, competent) VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?)');
  const insertAudit = db.prepare(
    "INSERT INTO audit_log (seq, at, kind, outcome, code, requester, provider, service, detail, prev_hash, hash) VALUES (?, '2026-01-01T00:00:00.000Z', ?, ?, ?, ?, ?, 'household.residence-proof', '{}', ?, ?)",
  );
  const filler = '0'.repeat(64);
  const t0 = performance.now();
  for (let i = 0; i < n; i += 100_000) {
    db.transaction(() => {
      for (let j = i; j < Math.min(i + 100_000, n); j++) {
        // Half accepted here for a partner, a third accepted by a partner for us, the rest local; one in ten joint.
        const partner = partners[j % partners.length]!;
        const kind = j % 6;
        const accepting = kind < 3 ? self : kind < 5 ? partner : self;
        const joint = j % 10 === 0;
        const competent = kind === 5 ? self : accepting === self ? (joint ? [partner, partners[(j + 1) % partners.length]!].sort().join(',') : partner) : joint ? [self, partners[(j + 1) % partners.length]!].sort().join(',') : self;
        insertCase.run(`C-${accepting}-${String(j).padStart(10, '0')}`, states[j % states.length], accepting, `ID${j % Math.max(1, Math.floor(n / 3))}`, body, '2026-01-01T00:00:00.000Z', joint ? 'joint' : j % 2 ? 'online' : 'proxy', competent);
        const refused = j % 20 === 0;
        insertAudit.run(j + 1, refused ? 'exchange.provide' : 'exchange.provide', refused ? 'refused' : 'allowed', refused ? (j % 40 === 0 ? 'SIGNATURE_INVALID' : 'PURPOSE_NOT_ALLOWED') : null, partner, self, filler, filler);
      }
    })();
  }
  db.pragma('wal_checkpoint(TRUNCATE)');
  results.governance.fill_s = round((performance.now() - t0) / 1000, 1);
  db.exec('ANALYZE');
  const median = async (run: () => unknown | Promise<unknown>) => {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const start = performance.now();
      await run();
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    return times[2]!;
  };
  // Baselines, in the same process and file: the same GROUP BY scanning the table, and COUNT(*).
  const fullScan = await median(() => db.prepare('SELECT accepting_node, competent, mode, state, COUNT(*) FROM cases NOT INDEXED GROUP BY accepting_node, competent, mode, state').all());
  const countAll = await median(() => db.prepare('SELECT COUNT(*) FROM cases').get());
  const auditScan = await median(() => db.prepare("SELECT kind, code, requester, provider, service, COUNT(*) FROM audit_log NOT INDEXED WHERE outcome IN ('refused', 'error') GROUP BY code, kind, requester, provider, service").all());
  db.close();

  const store = await openStore({ url: path });
  try {
    const queries: Record<string, () => Promise<unknown>> = {
      case_flows: () => store.governance.caseFlows(),
      applicants_served: () => store.governance.applicantsServed(self),
      audit_findings: () => store.governance.auditFindings(),
    };
    const perQuery: Record<string, number> = {};
    for (const [name, run] of Object.entries(queries)) perQuery[name] = round(await median(run), 1);
    // The node's dashboards as the hub and its staff ask for them (each is one node report; the
    // console's sections read the parts): the whole report, queries run concurrently.
    const report = await median(() => nodeReport({ self, store, clock: () => new Date(), learning: async () => [] }));
    // What each dashboard's part of the report costs (cases per state come with the case flows).
    const dashboards: Record<string, number> = {
      balance: round(perQuery.case_flows! + perQuery.applicants_served!, 1),
      trust: perQuery.audit_findings!,
      node_report: round(report, 1),
    };
    const slowest = Object.entries(perQuery).sort((a, b) => b[1] - a[1])[0]!;
    results.governance.cases = n;
    results.governance.audit_entries = n;
    results.governance.query_ms = perQuery;
    results.governance.dashboard_ms = dashboards;
    results.governance.slowest_ms = Math.max(...Object.values(dashboards));
    results.governance.slowest_query = slowest[0];
    results.governance.case_flows_full_scan_ms = round(fullScan, 1);
    results.governance.count_all_ms = round(countAll, 2);
    results.governance.case_flows_vs_full_scan = round(perQuery.case_flows! / fullScan, 3);
    results.governance.audit_findings_full_scan_ms = round(auditScan, 1);
    results.governance.audit_findings_vs_full_scan = round(perQuery.audit_findings! / auditScan, 3);
    results.governance.node_report_vs_full_scan = round(report / fullScan, 2);
  } finally {
    await store.close();
  }
}

/** `scale.*`: two replicas of one node against one, on PostgreSQL (bench/scale.ts). */
async function scaleBenchmark(): Promise<void> {
  const portBase = await freePortBase();
  const pg = await startPostgresFederation(portBase, SMALL_NODES, 'federation-scale');
  if (!pg) {
    results.scale.replicas_2_vs_1 = `skipped: PostgreSQL at ${redacted(pgUrl)} is not reachable`;
    return;
  }
  try {
    const replicaPorts = await freePortBase();
    Object.assign(results.scale, await replicasBenchmark(pg.federation, { seconds: sizes.seconds * 2, concurrency: sizes.concurrency, rounds: quick ? 2 : 4, ports: [replicaPorts, replicaPorts + 1], log }));
  } finally {
    await pg.stop();
  }
}

/** `start.*`: npm start's command, a first start that creates the demo and a second that reuses it (bench/startup.ts). */
async function startBenchmarks(): Promise<void> {
  const portBase = await freePortBase();
  const dir = join(work, 'demo');
  log(`start: npm start's command (tongban demo --dir ${dir}), creating the demo…`);
  const first = await timeDemoStart(dir, portBase, work);
  log('start: again, reusing the demo…');
  const again = await timeDemoStart(dir, portBase, work);
  results.start.seconds = round(again.readySeconds, 2);
  results.start.up_seconds = round(again.upSeconds, 2);
  results.start.first_seconds = round(first.readySeconds, 2);
  results.start.first_up_seconds = round(first.upSeconds, 2);
  results.start.cpu_seconds = round(again.cpuSeconds, 2);
  results.start.first_cpu_seconds = round(first.cpuSeconds, 2);
}

async function main(): Promise<void> {
  results.meta = { quick, sizes, node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGb: round(totalmem() / 2 ** 30, 1), at: new Date().toISOString() };
  const started = performance.now();
  try {
    if (governanceOnly) await governanceBenchmark();
    else if (scaleOnly) await scaleBenchmark();
    else {
      if (!exchangeOnly) await startBenchmarks();
      await exchangeBenchmarks();
      if (!exchangeOnly) {
        await scaleBenchmark();
        policyBenchmark();
        await auditBenchmarks();
        await governanceBenchmark();
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  results.meta.seconds = round((performance.now() - started) / 1000, 1);
  const name = exchangeOnly ? 'exchange.json' : governanceOnly ? 'governance.json' : scaleOnly ? 'scale.json' : 'latest.json';
  const out = outPath ?? join(import.meta.dirname, 'results', name);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
  const rows: string[] = [];
  for (const [section, values] of Object.entries(results)) {
    if (section === 'meta') continue;
    for (const [key, value] of Object.entries(values)) rows.push(`${`${section}.${key}`.padEnd(42)} ${typeof value === 'object' ? JSON.stringify(value) : String(value)}`);
  }
  process.stdout.write(`Tongban benchmarks (${quick ? 'quick' : 'full'}; ${results.meta.cpus} cores, ${results.meta.seconds} s)\n${rows.join('\n')}\nwritten to ${outPath ?? `bench/results/${name}`}\n`);
}

await main();
