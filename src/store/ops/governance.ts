import { sql } from 'kysely';
import type { StoreOps } from '../store.ts';
import type { OpsContext } from './context.ts';

/**
 * The governance counts (src/governance): each one GROUP BY over an index of migration 020, so a
 * dashboard costs the same whatever the number of cases — no row is loaded, only the groups.
 */
export function governanceOps({ db }: OpsContext): StoreOps['governance'] {
  return {
    async caseFlows() {
      // One scan of cases_governance gives the balance, the trips saved and the cases per state.
      const rows = await db
        .selectFrom('cases')
        .select(['accepting_node', 'competent', 'mode', 'state', (eb) => eb.fn.countAll().as('n')])
        .groupBy(['accepting_node', 'competent', 'mode', 'state'])
        .execute();
      return rows.map((r) => ({ accepting: r.accepting_node, competent: r.competent ?? '', mode: r.mode ?? '', state: r.state, cases: Number(r.n) }));
    },
    async applicantsServed(self: string) {
      // Cases accepted here for another region (the competent nodes are not just this one), withdrawn
      // ones left out. Grouped rather than COUNT(DISTINCT): the groups come in index order, unsorted.
      const row = await sql<{ n: number | string }>`SELECT COUNT(*) AS n FROM (SELECT applicant_id FROM cases WHERE accepting_node = ${self} AND competent <> ${self} AND state <> 'withdrawn' GROUP BY applicant_id) AS served`.execute(db);
      return Number(row.rows[0]?.n ?? 0);
    },
    async casesByState() {
      const rows = await db.selectFrom('cases').select(['state', (eb) => eb.fn.countAll().as('n')]).groupBy('state').execute();
      return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
    },
    async auditFindings() {
      const rows = await db
        .selectFrom('audit_log')
        .select(['kind', 'code', 'requester', 'provider', 'service', (eb) => eb.fn.countAll().as('n')])
        .where('outcome', 'in', ['refused', 'error'])
        .groupBy(['code', 'kind', 'requester', 'provider', 'service'])
        .execute();
      return rows.map((r) => ({ kind: r.kind, code: r.code ?? null, requester: r.requester ?? null, provider: r.provider ?? null, service: r.service ?? null, count: Number(r.n) }));
    },
    async addProbe(probe) {
      await db
        .insertInto('health_probes')
        .values({ division: probe.division, at: probe.at, ok: probe.ok ? 1 : 0, status: probe.status, latency_ms: probe.latencyMs })
        .onConflict((oc) => oc.doNothing())
        .execute();
    },
    async probeSummary(since: number) {
      const rows = await db
        .selectFrom('health_probes')
        .select([
          'division',
          (eb) => eb.fn.countAll().as('probes'),
          (eb) => eb.fn.sum<number | string>('ok').as('ok'),
          // Latency of the answered probes only: a timeout says nothing about speed.
          sql<number | string | null>`AVG(CASE WHEN ok = 1 THEN latency_ms END)`.as('mean'),
          sql<number | string | null>`MAX(CASE WHEN ok = 1 THEN latency_ms END)`.as('max'),
          (eb) => eb.fn.max('at').as('last'),
        ])
        .where('at', '>=', since)
        .groupBy('division')
        .execute();
      return rows.map((r) => ({
        division: r.division,
        probes: Number(r.probes),
        ok: Number(r.ok ?? 0),
        meanLatencyMs: r.mean === null ? null : Math.round(Number(r.mean)),
        maxLatencyMs: r.max === null ? null : Number(r.max),
        lastAt: Number(r.last),
      }));
    },
    async lastProbe(division: string) {
      const row = await db.selectFrom('health_probes').select(['at', 'ok', 'status', 'latency_ms']).where('division', '=', division).orderBy('at', 'desc').limit(1).executeTakeFirst();
      return row ? { division, at: Number(row.at), ok: row.ok === 1, status: row.status, latencyMs: row.latency_ms } : undefined;
    },
    async pruneProbes(before: number) {
      const result = await db.deleteFrom('health_probes').where('at', '<', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
