import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entryHash, type AuditEntry } from '../src/audit/index.ts';
import { loadConfig } from '../src/config/index.ts';
import { signJws } from '../src/crypto/index.ts';
import { CHECKPOINT_TYP } from '../src/node/jobs.ts';
import { openStore } from '../src/store/index.ts';
import { startTestFederation, type Backend, type TestFederation } from './support/federation.ts';
import { describePostgres } from './support/postgres.ts';

const run = promisify(execFile);
const BIN = new URL('../bin/tongban.js', import.meta.url).pathname;
const SANDU = '522732';

/**
 * Audit checkpoints between a node and the hub: the final checkpoint of a graceful stop, the
 * hub's refusal of a rewritten or truncated chain (409 and an incident), paging of what it
 * witnessed. A hub and one node on real HTTP; the timer is set far out so only the rules under
 * test post checkpoints.
 */
function checkpointContract(backend: Backend): void {
  let t: TestFederation;
  const hub = (path: string, token?: string) =>
    fetch(new URL(path, t.f.hub.endpoint), token ? { headers: { authorization: `Bearer ${token}` } } : {}).then(async (r) => ({ status: r.status, json: (await r.json()) as any }));
  const sandu = () => t.f.nodes.get(SANDU)!;
  const configPath = () => sandu().configPath;
  const allCheckpoints = async () => {
    const all: Array<{ seq: number; hash: string }> = [];
    for (let after: number | null = 0; after !== null; ) {
      const { json } = await hub(`/v1/audit/checkpoints/${SANDU}?after=${after}&limit=1000`);
      all.push(...json.checkpoints);
      after = json.next;
    }
    return all;
  };
  const incidents = async () => (await hub(`/v1/audit/incidents?division=${SANDU}`, t.f.adminToken())).json.incidents as any[];
  const verify = () =>
    run(process.execPath, [BIN, 'audit', 'verify', '--json', '--config', configPath()]).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
  /** Raw SQL on the node's database behind its back, as an intruder with file access would. */
  const tamper = async (sql: string) => {
    const url = loadConfig(configPath(), {}).database.url;
    if (backend === 'sqlite') {
      const db = new BetterSqlite3(url);
      try {
        db.exec(sql);
      } finally {
        db.close();
      }
      return;
    }
    const parsed = new URL(url);
    const schema = parsed.searchParams.get('schema')!;
    parsed.searchParams.delete('schema');
    const client = new pg.Client({ connectionString: parsed.toString(), options: `-c search_path=${schema}` });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  const readEntries = async (): Promise<AuditEntry[]> => {
    const store = await openStore({ url: loadConfig(configPath(), {}).database.url });
    try {
      return await store.audit.range(1, 100_000);
    } finally {
      await store.close();
    }
  };
  const postCheckpoint = async (claim: { seq: number; hash: string }) => {
    const key = t.key(SANDU);
    const jws = await signJws(key, new TextEncoder().encode(JSON.stringify({ division: SANDU, ...claim, at: new Date().toISOString() })), { typ: CHECKPOINT_TYP });
    return t.raw({ from: SANDU, to: t.f.config.hub.division, path: '/v1/audit/checkpoints', body: { jws } });
  };
  const waitFor = async <T,>(probe: () => Promise<T | undefined>): Promise<T | undefined> => {
    for (let i = 0; i < 100; i++) {
      const value = await probe();
      if (value !== undefined) return value;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return undefined;
  };

  beforeAll(async () => {
    t = await startTestFederation(backend, {
      nodes: [{ division: SANDU, people: 10, businesses: 1 }],
      agreements: [],
      audit: { checkpointSeconds: 3600 },
    });
  }, 120_000);
  afterAll(async () => {
    await t?.stop();
  });

  it('a graceful stop posts a final checkpoint equal to the head; a tail truncated afterwards is reported by audit verify', async () => {
    const runtime = sandu().runtime!;
    for (let i = 0; i < 6; i++) await runtime.audit.append({ kind: 'test.event', outcome: 'allowed', detail: { i } });
    const head = (await runtime.store.audit.head())!;
    expect(head.seq).toBeGreaterThanOrEqual(6);
    await sandu().stop();

    const witnessed = await allCheckpoints();
    expect(witnessed.at(-1)).toMatchObject({ seq: head.seq, hash: head.hash });
    const clean = await verify();
    expect(clean.code).toBe(0);

    // The tail after the last entry is cut while the node is down: the hub's final checkpoint covers it.
    await tamper(`DELETE FROM audit_log WHERE seq > ${head.seq - 2}`);
    const broken = await verify();
    expect(broken.code).toBe(1);
    expect(JSON.parse(broken.stdout)).toMatchObject({ ok: false, reason: 'truncated', seq: head.seq - 1 });
    expect(broken.stderr).toContain(`entry ${head.seq - 1}`);
  });

  it('a truncated chain restarted re-checkpoints a lower head: the hub answers 409 CHECKPOINT_BACKWARDS and records an incident', async () => {
    const before = (await allCheckpoints()).at(-1)!;
    await sandu().start();
    const incident = await waitFor(async () => (await incidents()).find((i) => i.kind === 'backwards'));
    expect(incident).toMatchObject({ division: SANDU, kind: 'backwards', claimedSeq: before.seq - 2, witnessedSeq: before.seq, witnessedHash: before.hash });
    expect(t.logs.some((line) => line.includes('CHECKPOINT_BACKWARDS'))).toBe(true);
    // The hub's own audit log records the refusal.
    const { json } = await fetch(new URL('/v1/operator/audit?limit=1000', t.f.hub.endpoint), { headers: { authorization: `Bearer ${t.f.operatorToken(t.f.config.hub.division)}` } }).then(async (r) => ({ json: (await r.json()) as any }));
    expect(json.entries.some((e: any) => e.kind === 'audit.checkpoint' && e.outcome === 'refused' && e.code === 'CHECKPOINT_BACKWARDS' && e.requester === SANDU)).toBe(true);
    // Nothing was stored for the refused claim.
    expect((await allCheckpoints()).at(-1)).toEqual(before);
  });

  it('a tail rewritten with a re-hash and re-checkpointed is refused with 409 CHECKPOINT_CONFLICT and recorded as an incident, once', async () => {
    const runtime = sandu().runtime!;
    // Grow the chain past the hub's witnessed head and have it witnessed (a graceful stop).
    for (let i = 0; i < 4; i++) await runtime.audit.append({ kind: 'test.event', outcome: 'allowed', detail: { i } });
    await sandu().stop();
    const witnessed = (await allCheckpoints()).at(-1)!;
    const entries = await readEntries();
    expect(entries.at(-1)!.seq).toBe(witnessed.seq);

    // Rewrite the last entry and re-hash it, so the chain itself stays consistent.
    const last = entries.at(-1)!;
    const hash = entryHash({ ...last, hash: undefined, purpose: 'rewritten' } as Omit<AuditEntry, 'hash'>);
    await tamper(`UPDATE audit_log SET purpose = 'rewritten', hash = '${hash}' WHERE seq = ${last.seq}`);

    await sandu().start();
    const incident = await waitFor(async () => (await incidents()).find((i) => i.kind === 'conflict'));
    expect(incident).toMatchObject({ kind: 'conflict', claimedSeq: witnessed.seq, claimedHash: hash, witnessedSeq: witnessed.seq, witnessedHash: witnessed.hash });
    expect(incident.jws).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);

    // The same claim posted again: 409 again, the incident is not duplicated.
    const again = await postCheckpoint({ seq: witnessed.seq, hash });
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ code: 'CHECKPOINT_CONFLICT', status: 409 });
    expect(again.headers.get('content-type')).toContain('application/problem+json');
    expect((await incidents()).filter((i) => i.kind === 'conflict')).toHaveLength(1);

    const broken = await verify();
    expect(JSON.parse(broken.stdout)).toMatchObject({ ok: false, reason: 'checkpoint' });
  });

  it('a checkpoint below the highest witnessed one is refused as backwards, even one the hub witnessed before', async () => {
    const witnessed = await allCheckpoints();
    expect(witnessed.length).toBeGreaterThanOrEqual(2);
    const older = witnessed.at(-2)!;
    const response = await postCheckpoint(older);
    expect(response.status).toBe(409);
    expect(response.json.code).toBe('CHECKPOINT_BACKWARDS');
    // The highest one again is a harmless resend.
    const latest = witnessed.at(-1)!;
    const resend = await postCheckpoint(latest);
    expect(resend.status).toBe(200);
    expect(resend.json).toEqual({ division: SANDU, seq: latest.seq, stored: false });
  });

  it('the witnessed checkpoints come a page at a time, all of them, disjoint, with a maximum page size', async () => {
    const store = t.f.hub.runtime!.store;
    const division = '330523';
    for (let seq = 1; seq <= 25; seq++) {
      await store.checkpoints.add({ division, seq, hash: seq.toString(16).padStart(64, '0'), at: new Date().toISOString(), jws: 'a.b.c' });
    }
    const seen: number[] = [];
    let pages = 0;
    for (let after: number | null = 0; after !== null; pages++) {
      const { status, json } = await hub(`/v1/audit/checkpoints/${division}?after=${after}&limit=10`);
      expect(status).toBe(200);
      expect(json.checkpoints.length).toBeLessThanOrEqual(10);
      seen.push(...json.checkpoints.map((c: { seq: number }) => c.seq));
      after = json.next;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));

    const first = await hub(`/v1/audit/checkpoints/${division}`);
    expect(first.json.checkpoints).toHaveLength(25);
    expect(first.json.next).toBeNull();
    const tooMany = await hub(`/v1/audit/checkpoints/${division}?limit=1001`);
    expect(tooMany.status).toBe(400);
    expect(tooMany.json.code).toBe('VALIDATION_FAILED');
    // Incidents are for the hub administrator only.
    expect((await hub('/v1/audit/incidents')).status).toBe(401);
  });
}

describe('[sqlite] audit checkpoints', () => checkpointContract('sqlite'));
describePostgres('audit checkpoints', () => checkpointContract('postgres'));
