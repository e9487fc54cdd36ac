import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // What the hub refused to witness: a node's checkpoint that contradicts one it witnessed
  // (same sequence number, other hash) or goes below it. Kept as evidence of a rewritten or
  // truncated audit chain; one row per distinct offending claim, however often it is posted.
  await db.schema
    .createTable('audit_incidents')
    .addColumn('seq', 'bigint', (c) => c.primaryKey())
    .addColumn('division', 'varchar(6)', (c) => c.notNull())
    .addColumn('kind', 'varchar(20)', (c) => c.notNull())
    .addColumn('claimed_seq', 'bigint', (c) => c.notNull())
    .addColumn('claimed_hash', 'varchar(64)', (c) => c.notNull())
    .addColumn('witnessed_seq', 'bigint', (c) => c.notNull())
    .addColumn('witnessed_hash', 'varchar(64)', (c) => c.notNull())
    .addColumn('jws', 'text', (c) => c.notNull())
    .addColumn('at', 'varchar(30)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('audit_incidents_claim').unique().on('audit_incidents').columns(['division', 'claimed_seq', 'claimed_hash']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('audit_incidents').execute();
}
