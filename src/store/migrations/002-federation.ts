import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // The hub's directory of nodes: enrolment, keys, endpoint, published services.
  await db.schema
    .createTable('directory_nodes')
    .addColumn('division', 'varchar(6)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(100)', (c) => c.notNull())
    .addColumn('role', 'varchar(10)', (c) => c.notNull())
    .addColumn('endpoint', 'varchar(300)', (c) => c.notNull())
    .addColumn('status', 'varchar(20)', (c) => c.notNull())
    .addColumn('signing_kid', 'varchar(200)', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('enrolled_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('decided_at', 'varchar(30)')
    .addColumn('decided_by', 'varchar(100)')
    .execute();

  // Signed agreements: the hub's registry, and each node's copy from the directory.
  await db.schema
    .createTable('agreements')
    .addColumn('id', 'varchar(80)', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('registered_at', 'varchar(30)', (c) => c.notNull())
    .addPrimaryKeyConstraint('agreements_pk', ['id', 'version'])
    .execute();

  // Append-only, hash-chained audit log. Subjects only as keyed hashes.
  await db.schema
    .createTable('audit_log')
    .addColumn('seq', 'integer', (c) => c.primaryKey())
    .addColumn('at', 'varchar(30)', (c) => c.notNull())
    .addColumn('kind', 'varchar(40)', (c) => c.notNull())
    .addColumn('outcome', 'varchar(20)', (c) => c.notNull())
    .addColumn('code', 'varchar(60)')
    .addColumn('request_id', 'varchar(80)')
    .addColumn('requester', 'varchar(6)')
    .addColumn('provider', 'varchar(6)')
    .addColumn('agreement_id', 'varchar(80)')
    .addColumn('item_code', 'varchar(30)')
    .addColumn('service', 'varchar(100)')
    .addColumn('purpose', 'varchar(100)')
    .addColumn('case_id', 'varchar(80)')
    .addColumn('operator', 'varchar(100)')
    .addColumn('subject_hash', 'varchar(64)')
    .addColumn('detail', 'text', (c) => c.notNull())
    .addColumn('prev_hash', 'varchar(64)', (c) => c.notNull())
    .addColumn('hash', 'varchar(64)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('audit_log_subject').on('audit_log').column('subject_hash').execute();

  // Signed audit chain heads; the hub keeps every node's, a node keeps its own.
  await db.schema
    .createTable('audit_checkpoints')
    .addColumn('division', 'varchar(6)', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('hash', 'varchar(64)', (c) => c.notNull())
    .addColumn('at', 'varchar(30)', (c) => c.notNull())
    .addColumn('jws', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('audit_checkpoints_pk', ['division', 'seq'])
    .execute();

  // Replay cache: a (key, nonce) pair is accepted once while its signature is still valid.
  await db.schema
    .createTable('seen_nonces')
    .addColumn('keyid', 'varchar(200)', (c) => c.notNull())
    .addColumn('nonce', 'varchar(100)', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('seen_nonces_pk', ['keyid', 'nonce'])
    .execute();
  await db.schema.createIndex('seen_nonces_expiry').on('seen_nonces').column('expires_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['seen_nonces', 'audit_checkpoints', 'audit_log', 'agreements', 'directory_nodes']) {
    await db.schema.dropTable(table).execute();
  }
}
