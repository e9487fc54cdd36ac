import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { afterEach, beforeEach, expect, it } from 'vitest';
import * as m020 from '../src/store/migrations/020-governance.ts';
import { AuditLog, type AuditEvent } from '../src/audit/index.ts';
import { openCase, type Case } from '../src/cases/index.ts';
import { nodeReport } from '../src/governance/index.ts';
import { openStore, type Store } from '../src/store/index.ts';
import type { StoreFixture } from './store-contract.ts';

const SANDU = '522732';
const ANJI = '330523';
const CHANGZHOU = '320400';
const DUYUN = '522701';

let n = 0;
/** A case accepted at `accepting` for `competent`, by a clerk there. */
function kase(accepting: string, competent: string[], applicant: string, state: Case['state'] = 'applied'): Case {
  n += 1;
  const c = openCase(
    {
      id: `C-${accepting}-GOV${String(n).padStart(5, '0')}`,
      itemCode: 'N001',
      itemName: '户籍类证明开具',
      mode: competent.length > 1 ? 'joint' : n % 2 === 0 ? 'proxy' : 'online',
      applicant: { idNumber: applicant, name: '张三' },
      acceptingNode: accepting,
      competentNodes: competent,
      materials: [],
      timeLimit: { unit: 'working', statutoryDays: 20, committedDays: 5 },
    },
    { node: accepting, id: 'clerk', role: 'clerk' },
    '2026-11-30T01:00:00.000Z',
  );
  return { ...c, state };
}

/**
 * The governance aggregates over known data, on both stores: numbers that could be wrong
 * (directions of the balance, joint cases, withdrawn ones, days by province, distinct applicants,
 * partners of refusals from either side, data-quality findings, probes in and out of the window).
 */
export function governanceContract(fresh: () => StoreFixture): void {
  let fixture: StoreFixture;
  let store: Store;
  const now = new Date('2026-11-30T02:00:00.000Z');

  beforeEach(async () => {
    fixture = fresh();
    store = await openStore({ url: fixture.url, clock: () => now });
  });
  afterEach(async () => {
    await store?.close();
    await fixture.drop();
  });

  const seed = async () => {
    const cases = [
      kase(SANDU, [ANJI], 'A'),
      kase(SANDU, [ANJI], 'A'),
      kase(SANDU, [ANJI], 'B'),
      kase(SANDU, [DUYUN], 'C'),
      kase(SANDU, [ANJI, CHANGZHOU], 'D'),
      kase(SANDU, [ANJI], 'F', 'withdrawn'),
      kase(SANDU, [SANDU], 'E'),
      kase(ANJI, [SANDU], 'G'),
      kase(ANJI, [SANDU], 'H', 'delivered'),
      kase(CHANGZHOU, [SANDU, ANJI], 'I'),
    ];
    for (const c of cases) expect(await store.cases.put(c)).toBe(true);
    const audit = new AuditLog(store, () => now);
    const events: AuditEvent[] = [
      { kind: 'exchange.provide', outcome: 'refused', code: 'AGREEMENT_NOT_FOUND', requester: ANJI, provider: SANDU },
      { kind: 'exchange.provide', outcome: 'refused', code: 'AGREEMENT_NOT_FOUND', requester: ANJI, provider: SANDU },
      { kind: 'exchange.provide', outcome: 'refused', code: 'SIGNATURE_INVALID', requester: CHANGZHOU },
      { kind: 'exchange.request', outcome: 'refused', code: 'FIELD_NOT_ALLOWED', requester: SANDU, provider: ANJI },
      { kind: 'data.quality', outcome: 'refused', code: 'SERVICE_UNAVAILABLE', requester: ANJI, provider: SANDU, service: 'household.residence-proof' },
      { kind: 'exchange.provide', outcome: 'error', code: 'SERVICE_UNAVAILABLE', requester: ANJI, provider: SANDU, service: 'household.residence-proof' },
      { kind: 'case.read', outcome: 'refused', code: 'CASE_NOT_FOUND' },
      { kind: 'identity.login', outcome: 'refused', code: 'LOGIN_FAILED' },
      { kind: 'exchange.provide', outcome: 'allowed', requester: ANJI, provider: SANDU },
    ];
    for (const e of events) await audit.append(e);
    await audit.idle();
  };

  it('counts cases per accepting node, competent nodes, mode and state', async () => {
    await seed();
    const all = await store.governance.caseFlows();
    expect(all.filter((f) => f.state === 'withdrawn')).toEqual([{ accepting: SANDU, competent: ANJI, mode: expect.any(String), state: 'withdrawn', cases: 1 }]);
    const flows = all.filter((f) => f.state !== 'withdrawn');
    const total = (accepting: string, competent: string) => flows.filter((f) => f.accepting === accepting && f.competent === competent).reduce((s, f) => s + f.cases, 0);
    expect(total(SANDU, ANJI)).toBe(3);
    // Competent nodes are stored sorted.
    expect(total(SANDU, `${CHANGZHOU},${ANJI}`)).toBe(1);
    expect(total(SANDU, `${ANJI},${CHANGZHOU}`)).toBe(0);
    expect(total(CHANGZHOU, `${ANJI},${SANDU}`)).toBe(1);
    expect(flows.reduce((s, f) => s + f.cases, 0)).toBe(9);
    expect(await store.governance.applicantsServed(SANDU)).toBe(4);
    expect(await store.governance.casesByState()).toEqual({ applied: 8, withdrawn: 1, delivered: 1 });
  });

  it("computes the node's report: balance both ways per partner, trips and days saved, refusals and signature failures per partner, data quality", async () => {
    await seed();
    const report = await nodeReport({ self: SANDU, store, clock: () => now, learning: async () => [] }, 'nonce-nonce-nonce-1');
    expect(report.node).toBe(SANDU);
    expect(report.nonce).toBe('nonce-nonce-nonce-1');
    expect(report.cases.total).toBe(10);
    expect(report.balance).toEqual([
      { partner: CHANGZHOU, acceptedForPartner: 1, acceptedByPartner: 1 },
      { partner: ANJI, acceptedForPartner: 4, acceptedByPartner: 2 },
      { partner: DUYUN, acceptedForPartner: 1, acceptedByPartner: 0 },
    ]);
    // Trips: 3 to Anji, 1 to Duyun, 2 for the joint case; days: other province 2, same province (52) 1.
    expect(report.savings).toEqual({ trips: 6, days: 11, applicants: 4, tripsPerApplicant: 1.5, daysPerApplicant: 2.75 });
    expect(report.refusals).toEqual([
      { partner: ANJI, code: 'AGREEMENT_NOT_FOUND', count: 2 },
      { partner: CHANGZHOU, code: 'SIGNATURE_INVALID', count: 1 },
      { partner: ANJI, code: 'FIELD_NOT_ALLOWED', count: 1 },
      { partner: ANJI, code: 'SERVICE_UNAVAILABLE', count: 1 },
    ]);
    expect(report.signatureFailures).toEqual([{ partner: CHANGZHOU, code: 'SIGNATURE_INVALID', count: 1 }]);
    expect(report.dataQuality).toEqual([{ service: 'household.residence-proof', count: 1 }]);
    expect(report.audit.seq).toBe(9);
  });

  it('keeps probes per node: availability, latency of the answered ones, the window, pruning', async () => {
    const base = now.getTime();
    await store.governance.addProbe({ division: SANDU, at: base - 3000, ok: true, status: 200, latencyMs: 10 });
    await store.governance.addProbe({ division: SANDU, at: base - 2000, ok: true, status: 200, latencyMs: 30 });
    await store.governance.addProbe({ division: SANDU, at: base - 1000, ok: false, status: null, latencyMs: null });
    await store.governance.addProbe({ division: ANJI, at: base - 100_000, ok: true, status: 200, latencyMs: 5 });
    expect(await store.governance.probeSummary(base - 10_000)).toEqual([{ division: SANDU, probes: 3, ok: 2, meanLatencyMs: 20, maxLatencyMs: 30, lastAt: base - 1000 }]);
    expect(await store.governance.lastProbe(SANDU)).toEqual({ division: SANDU, at: base - 1000, ok: false, status: null, latencyMs: null });
    expect(await store.governance.pruneProbes(base - 10_000)).toBe(1);
    expect(await store.governance.lastProbe(ANJI)).toBeUndefined();
  });

  it('migration 020 fills the mode and competent nodes of cases stored before it', async () => {
    await store.cases.put(kase(SANDU, [ANJI, CHANGZHOU], 'A'));
    await store.cases.put(kase(ANJI, [SANDU], 'B'));
    await store.close();
    // Back to 019 (the columns and indexes gone), then 020 again over the cases already there.
    const url = fixture.url;
    let db: Kysely<unknown>;
    if (!/^postgres/.test(url)) db = new Kysely({ dialect: new SqliteDialect({ database: new BetterSqlite3(url) }) });
    else {
      const parsed = new URL(url);
      const schema = parsed.searchParams.get('schema');
      parsed.searchParams.delete('schema');
      db = new Kysely({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: parsed.toString(), max: 1, ...(schema ? { options: `-c search_path=${schema}` } : {}) }) }) });
    }
    try {
      await m020.down(db);
      await m020.up(db);
    } finally {
      await db.destroy();
    }
    store = await openStore({ url, clock: () => now });
    const flows = await store.governance.caseFlows();
    expect(flows.map((f) => [f.accepting, f.competent, f.mode, f.state, f.cases]).sort()).toEqual([
      [ANJI, SANDU, expect.any(String), 'applied', 1],
      [SANDU, `${CHANGZHOU},${ANJI}`, 'joint', 'applied', 1],
    ]);
  });

  it('an empty node reports zeros, not errors', async () => {
    const report = await nodeReport({ self: SANDU, store, clock: () => now, learning: async () => [] });
    expect(report).toMatchObject({ nonce: null, cases: { total: 0, byState: {} }, balance: [], savings: { trips: 0, days: 0, applicants: 0, tripsPerApplicant: null }, refusals: [], audit: { seq: 0, hash: null } });
  });
}
