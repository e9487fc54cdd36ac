import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // The lifecycle of each agreement after registration: every state change (suspend, resume,
  // terminate) as the party that took it signed it (a JWS every node verifies offline), chained
  // per agreement by seq. The primary key makes the first change with a number win: a second
  // one is a fork, refused. Nodes and the hub keep the same table.
  await db.schema
    .createTable('agreement_state_changes')
    .addColumn('agreement_id', 'varchar(80)', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('action', 'varchar(20)', (c) => c.notNull())
    .addColumn('state', 'varchar(20)', (c) => c.notNull())
    .addColumn('party', 'varchar(6)', (c) => c.notNull())
    .addColumn('actor', 'varchar(100)', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('at', 'varchar(30)', (c) => c.notNull())
    .addColumn('jws', 'text', (c) => c.notNull())
    .addColumn('recorded_at', 'varchar(30)', (c) => c.notNull())
    .addPrimaryKeyConstraint('agreement_state_changes_pk', ['agreement_id', 'seq'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('agreement_state_changes').execute();
}
