import { sql, type Kysely } from 'kysely';

/**
 * Case listing and escalation page in SQL (by state and update time), and the outbox keeps its
 * order per (destination, case) instead of per destination, so it records the case of each message.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('cases_state_updated').on('cases').columns(['state', 'updated_at']).execute();
  await db.schema.createIndex('cases_updated').on('cases').columns(['updated_at', 'id']).execute();
  await db.schema.alterTable('outbox').addColumn('case_id', 'varchar(60)').execute();
  // Messages already queued: their case is in the payload (a case's id, or a message's caseId).
  const rows = await sql<{ id: string; payload: string }>`SELECT id, payload FROM outbox WHERE status = 'pending'`.execute(db);
  for (const row of rows.rows) {
    const payload = JSON.parse(row.payload) as { id?: unknown; caseId?: unknown };
    const caseId = typeof payload.caseId === 'string' ? payload.caseId : typeof payload.id === 'string' ? payload.id : null;
    if (caseId) await sql`UPDATE outbox SET case_id = ${caseId} WHERE id = ${row.id}`.execute(db);
  }
  await db.schema.createIndex('outbox_queue').on('outbox').columns(['destination', 'case_id', 'status', 'seq']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('outbox_queue').execute();
  await db.schema.alterTable('outbox').dropColumn('case_id').execute();
  await db.schema.dropIndex('cases_updated').execute();
  await db.schema.dropIndex('cases_state_updated').execute();
}
