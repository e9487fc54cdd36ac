/**
 * `scale.*` of `npm run bench`: throughput of two replicas of one node against one, on
 * PostgreSQL, in the same run. The node (Sandu) of a federation on PostgreSQL is stopped and
 * started again as two `tongban serve --config … --port …` processes on its config, keys and
 * database (docs/deployment.md). The load generator is this process, sending each request to the
 * next replica in turn (a round-robin client; no front, whose own CPU would be counted against the
 * replicas): a counter's mix of one new case (`POST /v1/cases`) to four case reads
 * (`GET /v1/cases/{id}`), staff-authenticated. With one replica it sends everything to the first;
 * the two configurations take turns in short rounds so that other load on this shared machine
 * lands on both.
 *
 * On a two-core machine the replicas share the cores with PostgreSQL and the load generator, so
 * the CPU each of them spent per request is recorded too: it says what limits the ratio.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import { sampleSubjects } from '../src/demo/registries.ts';
import { childProcessServer, type ManagedServer, type RunningFederation } from '../src/federation/index.ts';
import { closedLoop, combine, cpuMs, round, type LoadResult } from './load.ts';

const SANDU = '522732';
const ANJI = '330523';

/** CPU time of every PostgreSQL process on this machine (the server is local here), in ms. */
function postgresCpuMs(): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== 'postgres') continue;
      total += cpuMs(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return total;
}

/** Busy and total CPU time of the whole machine so far (all cores, in clock ticks), from /proc/stat. */
function machineTicks(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  // idle and iowait are the time no process wanted a core.
  return { busy: total - fields[3]! - fields[4]!, total };
}

function selfCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

export interface ReplicasBenchmarkOptions {
  /** Length of each configuration's run, in s (split into rounds). */
  readonly seconds: number;
  readonly concurrency: number;
  readonly rounds: number;
  /** Two free ports for the replicas. */
  readonly ports: readonly [number, number];
  readonly log: (message: string) => void;
}

/** Runs the scenario on `f` (every server on PostgreSQL, started as processes); returns the `scale.*` figures. */
export async function replicasBenchmark(f: RunningFederation, options: ReplicasBenchmarkOptions): Promise<Record<string, unknown>> {
  const sandu = f.nodes.get(SANDU)!;
  const created = await fetch(new URL('/v1/operator/accounts', sandu.endpoint), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${f.operatorToken(SANDU)}` },
    body: JSON.stringify({ id: 'bench-scale-clerk', role: 'clerk', name: 'clerk' }),
  });
  const clerk = ((await created.json()) as { token: string }).token;
  if (!clerk) throw new Error(`scale: could not create a clerk at Sandu (${created.status})`);

  // Sandu becomes two replicas on ports of their own; peers keep the URL they know (server.publicUrl).
  await sandu.stop();
  const config = JSON.parse(readFileSync(sandu.configPath, 'utf8')) as { server: Record<string, unknown> };
  config.server.publicUrl = sandu.endpoint;
  writeFileSync(sandu.configPath, JSON.stringify(config, null, 2));
  const replicas: ManagedServer[] = options.ports.map((port) => childProcessServer(SANDU, sandu.configPath, `http://127.0.0.1:${port}`, undefined, ['--port', String(port)]));
  // undici's request API on a keep-alive pool: the load generator's own CPU per request is a
  // third of global fetch's, and what it spends is taken from the replicas on this machine.
  const dispatcher = new Agent({ connections: options.concurrency, pipelining: 1 });
  try {
    await Promise.all(replicas.map((r) => r.start()));
    const people = sampleSubjects(f.registryPath(SANDU), 200).people;
    const headers = { authorization: `Bearer ${clerk}` };
    const json = { ...headers, 'content-type': 'application/json' };
    const caseIds: string[] = [];
    const failures = new Map<string, number>();
    let n = 0;
    const failed = (key: string) => failures.set(key, (failures.get(key) ?? 0) + 1);
    const apply = async (base: string): Promise<boolean> => {
      const p = people[n % people.length]!;
      const r = await request(new URL('/v1/cases', base), { dispatcher, method: 'POST', headers: json, body: JSON.stringify({ itemCode: 'N034', mode: 'online', competentNodes: [ANJI], applicant: { idNumber: p.idNumber, name: p.name } }) });
      const answer = (await r.body.json()) as { case?: { id: string }; code?: string };
      if (r.statusCode !== 201) {
        failed(`POST /v1/cases ${r.statusCode} ${answer.code ?? ''}`);
        return false;
      }
      caseIds.push(answer.case!.id);
      return true;
    };
    // Cases to read from the first request on.
    for (let i = 0; i < 20; i++) await apply(replicas[i % 2]!.endpoint);
    const read = async (base: string): Promise<boolean> => {
      const id = caseIds[Math.floor(Math.random() * caseIds.length)]!;
      const r = await request(new URL(`/v1/cases/${id}`, base), { dispatcher, headers });
      await r.body.dump();
      if (r.statusCode !== 200) failed(`GET /v1/cases/{id} ${r.statusCode}`);
      return r.statusCode === 200;
    };
    const task = (count: number) => {
      let next = 0;
      return () => {
        const base = replicas[next++ % count]!.endpoint;
        return n++ % 5 === 0 ? apply(base) : read(base);
      };
    };

    const parts: Record<'one' | 'two', LoadResult[]> = { one: [], two: [] };
    const cpu = { one: { replicas: 0, postgres: 0, generator: 0, requests: 0, busy: 0, total: 0 }, two: { replicas: 0, postgres: 0, generator: 0, requests: 0, busy: 0, total: 0 } };
    const perRound = { concurrency: options.concurrency, durationMs: (options.seconds * 1000) / options.rounds };
    for (let i = 0; i < options.rounds; i++) {
      for (const [name, count] of [['one', 1], ['two', 2]] as const) {
        options.log(`scale: ${count} replica${count > 1 ? 's' : ''} (round ${i + 1}/${options.rounds})…`);
        const replicaCpu = () => replicas.reduce((sum, r) => sum + cpuMs(r.pid!), 0);
        const before = { replicas: replicaCpu(), postgres: postgresCpuMs(), generator: selfCpuMs(), machine: machineTicks() };
        const part = await closedLoop(task(count), { ...perRound, warmupMs: i === 0 ? 500 : 100 });
        parts[name].push(part);
        const spent = cpu[name];
        spent.replicas += replicaCpu() - before.replicas;
        spent.postgres += postgresCpuMs() - before.postgres;
        spent.generator += selfCpuMs() - before.generator;
        spent.requests += part.completed + part.warmedUp;
        const machine = machineTicks();
        spent.busy += machine.busy - before.machine.busy;
        spent.total += machine.total - before.machine.total;
      }
    }
    const one = combine(parts.one);
    const two = combine(parts.two);
    const perRequest = (c: (typeof cpu)['one']) => ({
      replicas: round(c.replicas / c.requests, 3),
      postgres: round(c.postgres / c.requests, 3),
      load_generator: round(c.generator / c.requests, 3),
    });
    const result: Record<string, unknown> = {
      replicas_1_rps: round(one.rps, 0),
      replicas_2_rps: round(two.rps, 0),
      replicas_2_vs_1: round(two.rps / one.rps, 3),
      replicas_1_p50_ms: round(one.p50_ms),
      replicas_2_p50_ms: round(two.p50_ms),
      errors: one.errors + two.errors,
      // CPU ms per request of the replicas, of PostgreSQL and of the load generator: together
      // they must fit on this machine's cores, which bounds the ratio.
      replicas_1_cpu_ms: perRequest(cpu.one),
      replicas_2_cpu_ms: perRequest(cpu.two),
      // The share of all the machine's cores that was busy (every process) while each configuration ran.
      replicas_1_machine_busy: round(cpu.one.busy / cpu.one.total, 3),
      replicas_2_machine_busy: round(cpu.two.busy / cpu.two.total, 3),
    };
    if (failures.size > 0) result.failures = Object.fromEntries(failures);
    return result;
  } finally {
    await dispatcher.close();
    await Promise.all(replicas.map((r) => r.stop()));
  }
}
