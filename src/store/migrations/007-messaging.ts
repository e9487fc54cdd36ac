import { sql, type Kysely } from 'kysely';

/**
 * One node-to-node messaging module for cases and agreements (src/messaging): the outbox orders
 * per (destination, conversation) — `case:<id>`, `agreement:<id>` — instead of per case, and may
 * route a message through the hub; the receiver's record of applied message ids moves from the
 * generic idempotency records (scope `case-inbox`) into its own table. Existing rows are kept.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('outbox').addColumn('conversation', 'varchar(120)').execute();
  await db.schema.alterTable('outbox').addColumn('via', 'varchar(10)').execute();
  await sql`UPDATE outbox SET conversation = 'case:' || case_id WHERE case_id IS NOT NULL`.execute(db);
  await db.schema.dropIndex('outbox_queue').execute();
  await db.schema.alterTable('outbox').dropColumn('case_id').execute();
  await db.schema.createIndex('outbox_queue').on('outbox').columns(['destination', 'conversation', 'status', 'seq']).execute();

  await db.schema
    .createTable('inbox_messages')
    .addColumn('sender', 'varchar(6)', (c) => c.notNull())
    .addColumn('id', 'varchar(80)', (c) => c.notNull())
    .addColumn('kind', 'varchar(40)', (c) => c.notNull())
    .addColumn('conversation', 'varchar(120)')
    // SHA-256 of the message's canonical {id, kind, payload}; null for ids recorded before 007.
    .addColumn('request_hash', 'varchar(64)')
    .addColumn('result', 'varchar(20)', (c) => c.notNull())
    .addColumn('received_at', 'varchar(30)', (c) => c.notNull())
    .addPrimaryKeyConstraint('inbox_messages_pk', ['sender', 'id'])
    .execute();
  const seen = await sql<{ key: string; response: string; created_at: string }>`SELECT key, response, created_at FROM idempotency_records WHERE scope = 'case-inbox'`.execute(db);
  for (const row of seen.rows) {
    const sender = row.key.slice(0, 6);
    const id = row.key.slice(7);
    const result = JSON.parse(row.response) === 'stale' ? 'stale' : 'applied';
    await sql`INSERT INTO inbox_messages (sender, id, kind, conversation, request_hash, result, received_at) VALUES (${sender}, ${id}, ${'case'}, ${null}, ${null}, ${result}, ${row.created_at})`.execute(db);
  }
  await sql`DELETE FROM idempotency_records WHERE scope = 'case-inbox'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  const seen = await sql<{ sender: string; id: string; result: string; received_at: string }>`SELECT sender, id, result, received_at FROM inbox_messages`.execute(db);
  for (const row of seen.rows) {
    await sql`INSERT INTO idempotency_records (scope, key, request_hash, response, created_at) VALUES (${'case-inbox'}, ${`${row.sender}:${row.id}`}, ${''}, ${JSON.stringify(row.result)}, ${row.received_at})`.execute(db);
  }
  await db.schema.dropTable('inbox_messages').execute();
  await db.schema.alterTable('outbox').addColumn('case_id', 'varchar(60)').execute();
  await sql`UPDATE outbox SET case_id = substr(conversation, 6) WHERE conversation LIKE 'case:%'`.execute(db);
  await db.schema.dropIndex('outbox_queue').execute();
  await db.schema.alterTable('outbox').dropColumn('via').execute();
  await db.schema.alterTable('outbox').dropColumn('conversation').execute();
  await db.schema.createIndex('outbox_queue').on('outbox').columns(['destination', 'case_id', 'status', 'seq']).execute();
}
