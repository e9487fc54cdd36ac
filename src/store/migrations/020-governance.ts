import { sql, type Kysely } from 'kysely';

/**
 * The governance dashboards (docs/governance.md) count in SQL, never by loading rows:
 * - cases gain `mode` and `competent` (the competent divisions, sorted, joined by ','), copied from
 *   the case's body on every write, so workload balance, trips saved and cases per state are one
 *   GROUP BY over a covering index (accepting node, competent nodes, mode, state) instead of a parse
 *   of every body, and distinct applicants one walk of (accepting node, applicant, …);
 * - the audit log gets a covering index for refusals, signature failures and data-quality
 *   findings (outcome, code, kind, then the partner columns and the service);
 * - the hub keeps its probes of each node's /health (availability and latency), pruned by age.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('cases').addColumn('mode', 'varchar(10)').execute();
  await db.schema.alterTable('cases').addColumn('competent', 'varchar(100)').execute();
  // Cases already stored: their mode and competent nodes are in the body. A page at a time, by id.
  let after = '';
  for (;;) {
    const rows = await sql<{ id: string; body: string }>`SELECT id, body FROM cases WHERE id > ${after} ORDER BY id LIMIT 500`.execute(db);
    if (rows.rows.length === 0) break;
    for (const row of rows.rows) {
      const body = JSON.parse(row.body) as { mode?: unknown; competentNodes?: unknown };
      const competent = Array.isArray(body.competentNodes) ? competentKey(body.competentNodes.filter((d): d is string => typeof d === 'string')) : null;
      await sql`UPDATE cases SET mode = ${typeof body.mode === 'string' ? body.mode : null}, competent = ${competent} WHERE id = ${row.id}`.execute(db);
    }
    after = rows.rows[rows.rows.length - 1]!.id;
  }
  // Covering: the workload balance, trips saved and cases per state are one scan of this index.
  await db.schema.createIndex('cases_governance').on('cases').columns(['accepting_node', 'competent', 'mode', 'state']).execute();
  // Distinct applicants of the cases a node accepted, walked in applicant order (no sort, no temporary B-tree).
  await db.schema.createIndex('cases_governance_applicants').on('cases').columns(['accepting_node', 'applicant_id', 'competent', 'state']).execute();
  await db.schema.createIndex('audit_log_governance').on('audit_log').columns(['outcome', 'code', 'kind', 'requester', 'provider', 'service']).execute();
  await db.schema
    .createTable('health_probes')
    .addColumn('division', 'varchar(6)', (c) => c.notNull())
    // Milliseconds since the epoch.
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('ok', 'integer', (c) => c.notNull())
    .addColumn('status', 'integer')
    .addColumn('latency_ms', 'integer')
    .addPrimaryKeyConstraint('health_probes_pk', ['division', 'at'])
    .execute();
  await db.schema.createIndex('health_probes_at').on('health_probes').column('at').execute();
}

/** The stored form of a case's competent nodes: sorted, joined by ','. */
export function competentKey(nodes: readonly string[]): string {
  return [...new Set(nodes)].sort().join(',');
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('health_probes').execute();
  await db.schema.dropIndex('audit_log_governance').execute();
  await db.schema.dropIndex('cases_governance_applicants').execute();
  await db.schema.dropIndex('cases_governance').execute();
  await db.schema.alterTable('cases').dropColumn('competent').execute();
  await db.schema.alterTable('cases').dropColumn('mode').execute();
}
