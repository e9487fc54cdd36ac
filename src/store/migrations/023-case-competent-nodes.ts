import { sql, type Kysely } from 'kysely';

/**
 * The competent (deciding) nodes of each case, beside its participants: an approver's queue is the
 * cases this node decides (GET /v1/cases?queue=decision), which the participants table cannot tell
 * from the cases it only accepted. Competent nodes are fixed when a case is opened, so cases
 * already stored are filled in from their bodies once.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('case_competent_nodes')
    .addColumn('case_id', 'varchar(60)', (c) => c.notNull())
    .addColumn('node', 'varchar(6)', (c) => c.notNull())
    .addPrimaryKeyConstraint('case_competent_nodes_pk', ['case_id', 'node'])
    .execute();
  await db.schema.createIndex('case_competent_nodes_node').on('case_competent_nodes').columns(['node', 'case_id']).execute();
  // A page at a time: a node may hold many cases.
  let after = '';
  for (;;) {
    const rows = await sql<{ id: string; body: string }>`SELECT id, body FROM cases WHERE id > ${after} ORDER BY id LIMIT 500`.execute(db);
    if (rows.rows.length === 0) break;
    for (const row of rows.rows) {
      const body = JSON.parse(row.body) as { competentNodes?: unknown };
      const nodes = Array.isArray(body.competentNodes) ? body.competentNodes.filter((n): n is string => typeof n === 'string') : [];
      for (const node of new Set(nodes)) await sql`INSERT INTO case_competent_nodes (case_id, node) VALUES (${row.id}, ${node})`.execute(db);
    }
    after = rows.rows.at(-1)!.id;
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('case_competent_nodes').execute();
}
