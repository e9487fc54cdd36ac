import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleSubjects } from '../../src/demo/registries.ts';
import { DEMO_PASSWORD, portIsFree } from '../../src/federation/index.ts';
import { Browser, signIn, type SignInRefused } from '../support/identity.ts';
import { Agent } from 'undici';
import { alive, BIN, eventually, json, sleep, spawnCli, tongban, type CliProcess } from './support.ts';

/**
 * `tongban federation up <file> --replicas 2`, as docs/deployment.md shows it: every server (the
 * hub and four nodes) runs as two `tongban serve` processes on one PostgreSQL schema behind a
 * round-robin front on its published port. Exchanges over a bridge and through the hub go on
 * while a replica of the provider and one of the hub are killed with -9; both hub replicas
 * publish the same snapshot under each version; Ctrl+C (SIGTERM) stops every process.
 */
const databaseUrl = process.env.TONGBAN_TEST_DATABASE_URL;
if (!databaseUrl) {
  if (process.env.CI === 'true') throw new Error('CI=true but TONGBAN_TEST_DATABASE_URL is not set: the federation-replicas test cannot be skipped in CI.');
  console.warn('[postgres] skipped "federation up --replicas": TONGBAN_TEST_DATABASE_URL is not set.');
}

const HUB = '100000';
const SANDU = '522732';
const ANJI = '330523';
const QINGPU = '310118';
const prefix = `fr${Math.random().toString(36).slice(2, 8)}`;
const work = mkdtempSync(join(tmpdir(), 'tongban-fedrep-'));
let up: CliProcess | undefined;
let summary = '';
let portBase = 0;

/** docs/deployment.md's `federation up` command, with this test's file in place of the example's. */
function documentedCommand(file: string): string[] {
  const doc = readFileSync(new URL('../../docs/deployment.md', import.meta.url), 'utf8');
  const lines = [...doc.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split('\n')).filter((l) => l.startsWith('npx tongban federation up '));
  expect(lines).toHaveLength(1);
  return lines[0]!.split(/\s+/).slice(2).map((w) => (w.endsWith('.json') ? file : w));
}

/** The replicas the summary names for a server: its front's URL, then each replica's URL and pid. */
function replicasOf(division: string): Array<{ url: string; pid: number }> {
  const line = summary.split('\n').find((l) => new RegExp(`^\\s+(hub|node)\\s+${division}\\s`).test(l));
  expect(line, `summary line of ${division}`).toBeDefined();
  return [...line!.matchAll(/(http:\/\/127\.0\.0\.1:\d+) \(pid (\d+)\)/g)].map((m) => ({ url: m[1]!, pid: Number(m[2]) }));
}

const secret = (division: string, file: string) => readFileSync(join(work, 'federation', division === HUB ? 'hub' : division, 'keys', file), 'utf8').trim();
const endpoint = (index: number) => `http://127.0.0.1:${portBase + index}`;

beforeAll(async () => {
  if (!databaseUrl) return;
  // The hub and four nodes on portBase … + 4, their replicas 100 and 200 ports above.
  const allFree = async (b: number) => (await Promise.all([0, 100, 200].flatMap((d) => [0, 1, 2, 3, 4].map((i) => portIsFree('127.0.0.1', b + d + i))))).every(Boolean);
  // Below Linux's ephemeral range (32768 and up): no outgoing connection takes a replica's port before it listens.
  do portBase = 20_000 + Math.floor(Math.random() * 12_000);
  while (!(await allFree(portBase)));
  const base = JSON.parse((await tongban(['federation', 'config'], work)).stdout) as Record<string, unknown> & { nodes: Array<Record<string, unknown>> };
  const file = join(work, 'federation.json');
  writeFileSync(
    file,
    JSON.stringify({
      ...base,
      dir: 'federation',
      portBase,
      databaseUrl,
      schemaPrefix: prefix,
      nodes: base.nodes.map((n) => ({ ...n, people: 200, businesses: 10 })),
      directory: { refreshSeconds: 1, snapshotTtlSeconds: 600 },
    }),
  );
  up = spawnCli(process.execPath, [BIN, ...documentedCommand(file)], work);
  summary = await up.waitFor(/Press Ctrl\+C to stop\./, 240_000);
}, 300_000);

afterAll(async () => {
  if (up && alive(up.pid)) {
    up.proc.kill('SIGTERM');
    await Promise.race([up.exited, sleep(30_000).then(() => up!.proc.kill('SIGKILL'))]);
  }
  if (databaseUrl) {
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    const schemas = await db.query<{ nspname: string }>(`SELECT nspname FROM pg_namespace WHERE nspname LIKE '${prefix}\\_%'`);
    for (const { nspname } of schemas.rows) await db.query(`DROP SCHEMA ${db.escapeIdentifier(nspname)} CASCADE`);
    await db.end();
  }
  rmSync(work, { recursive: true, force: true });
}, 120_000);

describe.skipIf(!databaseUrl)('tongban federation up --replicas', () => {
  it('runs every server as two processes behind a front on its port; exchanges survive kill -9 of a provider replica and of a hub replica; the hub replicas publish one snapshot per version; SIGTERM stops them all', async () => {
    const servers = [HUB, SANDU, ANJI, '320400', QINGPU];
    const replicas = Object.fromEntries(servers.map((d) => [d, replicasOf(d)]));
    for (const [i, d] of servers.entries()) {
      expect(replicas[d], d).toHaveLength(2);
      expect(replicas[d]!.map((r) => Number(new URL(r.url).port))).toEqual([portBase + i + 100, portBase + i + 200]);
      for (const r of replicas[d]!) {
        expect(alive(r.pid), `${d} ${r.url}`).toBe(true);
        expect((await fetch(new URL('/health/ready', r.url))).status, r.url).toBe(200);
      }
      expect((await fetch(new URL('/health/ready', endpoint(i)))).status).toBe(200);
    }

    // Each config names its front as the public URL; the trust in the front's X-Forwarded-For is
    // the replicas' environment, not the config, so the server run alone later believes nobody's.
    for (const [i, d] of servers.entries()) {
      const config = JSON.parse(readFileSync(join(work, 'federation', d === HUB ? 'hub' : d, 'tongban.config.json'), 'utf8')) as { server: Record<string, unknown> };
      expect(config.server.publicUrl).toBe(endpoint(i));
      expect(config.server.trustProxy).toBeUndefined();
    }

    const subject = sampleSubjects(join(work, 'federation', SANDU, 'registries.sqlite'), 1).people[0]!.idNumber;
    const exchange = async (from: string, index: number) => {
      const r = await json(new URL('/v1/operator/exchange', endpoint(index)).toString(), {
        method: 'POST',
        token: secret(from, 'operator-token'),
        body: JSON.stringify({ provider: SANDU, service: 'household.residence-proof', subject: { type: 'idNumber', value: subject }, purpose: '户籍类证明开具', fields: ['name', 'householdAddress'] }),
      });
      return `${r.status} ${r.json.code ?? ''}`.trim();
    };
    // Anji (index 2) over the bridge, Qingpu (index 4) through the hub; each call lands on the next replica of every server it crosses.
    const round = async () => [...(await Promise.all([0, 1, 2, 3].map(() => exchange(ANJI, 2)))), ...(await Promise.all([0, 1, 2, 3].map(() => exchange(QINGPU, 4))))];
    const ok = (outcomes: string[]) => outcomes.every((o) => o.startsWith('200'));
    const before = await round();
    expect(ok(before), before.join(', ')).toBe(true);

    // The sign-in lock behind the hub's front: it counts per client address (the front's
    // X-Forwarded-For, trusted through TONGBAN_TRUST_PROXY) and per login in the database, so five
    // wrong passwords from one address lock that address out, whichever hub replica took them,
    // while the same login from another address signs in.
    const browserAt = (address: string) => new Browser(new Agent({ localAddress: address }));
    const attempt = (address: string, password: string) => signIn(endpoint(0), 'clerk@522732', password, { clientId: SANDU, redirectUri: `${endpoint(1)}/v1/auth/callback`, browser: browserAt(address) });
    for (let i = 0; i < 5; i++) expect(((await attempt('127.0.0.2', `wrong-${i}`).catch((e: unknown) => e)) as SignInRefused).status).toBe(401);
    expect(((await attempt('127.0.0.2', DEMO_PASSWORD).catch((e: unknown) => e)) as SignInRefused).status).toBe(429);
    expect((await attempt('127.0.0.3', DEMO_PASSWORD)).accessToken).toBeTruthy();

    // Each version of the snapshot is the same document at either hub replica.
    const snapshots = new Map<number, Set<string>>();
    const readSnapshots = async () => {
      for (const r of replicas[HUB]!.filter((x) => alive(x.pid))) {
        const answer = await fetch(new URL('/v1/directory/snapshot', r.url));
        if (answer.status !== 200) continue;
        const { version, snapshot } = (await answer.json()) as { version: number; snapshot: string };
        (snapshots.get(version) ?? snapshots.set(version, new Set()).get(version)!).add(createHash('sha256').update(snapshot).digest('hex'));
      }
    };
    await readSnapshots();

    // kill -9 of one Sandu replica and one hub replica: the fronts pass over them; nothing asked after fails.
    process.kill(replicas[SANDU]![0]!.pid, 'SIGKILL');
    process.kill(replicas[HUB]![1]!.pid, 'SIGKILL');
    expect(await eventually(() => !alive(replicas[SANDU]![0]!.pid) && !alive(replicas[HUB]![1]!.pid), 10_000)).toBe(true);
    for (let i = 0; i < 3; i++) {
      const after = await round();
      expect(ok(after), after.join(', ')).toBe(true);
    }
    await readSnapshots();
    for (const [version, contents] of snapshots) expect(contents.size, `snapshot version ${version}`).toBe(1);
    expect(snapshots.size).toBeGreaterThan(0);

    // Ctrl+C: every replica and front stops; the command exits 0.
    const pids = servers.flatMap((d) => replicas[d]!.map((r) => r.pid)).filter(alive);
    up!.proc.kill('SIGTERM');
    expect(await up!.exited).toBe(0);
    expect(pids.filter(alive)).toEqual([]);
    for (const i of [0, 1, 2, 3, 4]) await expect(fetch(new URL('/health/live', endpoint(i)))).rejects.toThrow();
  }, 300_000);
});
