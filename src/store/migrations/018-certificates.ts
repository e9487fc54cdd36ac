import type { Kysely } from 'kysely';

/**
 * E-certificates this node issued (docs/certificates.md): `certificates`, one per case at most,
 * keyed by the GB/T 36904 identifier, with the holder known only by the node's keyed hash of their
 * ID number, the full issuance (every disclosure) for the holder to fetch, and the certificate's
 * place in a status list; `status_lists`, the lists (IETF Token Status List) whose indexes are
 * handed out by a conditional UPDATE, so concurrent issuances never share one.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('status_lists')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('size', 'integer', (c) => c.notNull())
    .addColumn('next_idx', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('certificates')
    .addColumn('id', 'varchar(120)', (c) => c.primaryKey())
    .addColumn('case_id', 'varchar(60)', (c) => c.notNull().unique())
    .addColumn('vct', 'varchar(100)', (c) => c.notNull())
    .addColumn('subject_key', 'varchar(64)', (c) => c.notNull())
    .addColumn('sd_jwt', 'text', (c) => c.notNull())
    .addColumn('status_list_id', 'integer', (c) => c.notNull())
    .addColumn('status_idx', 'integer', (c) => c.notNull())
    .addColumn('status', 'varchar(10)', (c) => c.notNull())
    .addColumn('status_reason', 'varchar(200)')
    .addColumn('status_changed_at', 'varchar(30)')
    .addColumn('bound_thumbprint', 'varchar(64)')
    .addColumn('issued_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('expires_at', 'varchar(30)', (c) => c.notNull())
    .addUniqueConstraint('certificates_status_slot', ['status_list_id', 'status_idx'])
    .execute();
  await db.schema.createIndex('certificates_subject').on('certificates').columns(['subject_key', 'issued_at']).execute();
  await db.schema.createIndex('certificates_issued').on('certificates').columns(['issued_at', 'id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('certificates').execute();
  await db.schema.dropTable('status_lists').execute();
}
