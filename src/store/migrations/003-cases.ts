import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // Each participating node keeps its copy of a case; the highest version wins.
  await db.schema
    .createTable('cases')
    .addColumn('id', 'varchar(60)', (c) => c.primaryKey())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('state', 'varchar(30)', (c) => c.notNull())
    .addColumn('accepting_node', 'varchar(6)', (c) => c.notNull())
    .addColumn('applicant_id', 'varchar(40)', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(30)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('cases_applicant').on('cases').column('applicant_id').execute();
  await db.schema
    .createTable('case_participants')
    .addColumn('case_id', 'varchar(60)', (c) => c.notNull())
    .addColumn('node', 'varchar(6)', (c) => c.notNull())
    .addPrimaryKeyConstraint('case_participants_pk', ['case_id', 'node'])
    .execute();
  await db.schema.createIndex('case_participants_node').on('case_participants').column('node').execute();
  await db.schema
    .createTable('case_messages')
    .addColumn('id', 'varchar(80)', (c) => c.primaryKey())
    .addColumn('case_id', 'varchar(60)', (c) => c.notNull())
    .addColumn('at', 'varchar(30)', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('case_messages_case').on('case_messages').column('case_id').execute();

  // The transactional outbox: written with the change it announces, delivered with retries.
  await db.schema
    .createTable('outbox')
    .addColumn('id', 'varchar(80)', (c) => c.primaryKey())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('destination', 'varchar(6)', (c) => c.notNull())
    .addColumn('kind', 'varchar(40)', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('status', 'varchar(20)', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('delivered_at', 'varchar(30)')
    .addColumn('last_error', 'varchar(500)')
    .execute();
  await db.schema.createIndex('outbox_pending').on('outbox').columns(['status', 'seq']).execute();

  // People who use a node: staff (clerk, approver, supervisor) and applicants.
  await db.schema
    .createTable('accounts')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('role', 'varchar(20)', (c) => c.notNull())
    .addColumn('name', 'varchar(100)', (c) => c.notNull())
    .addColumn('subject', 'varchar(40)')
    .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['accounts', 'outbox', 'case_messages', 'case_participants', 'cases']) await db.schema.dropTable(table).execute();
}
