import type { Kysely } from 'kysely';

/**
 * E-certificates at the hub (docs/certificates.md). `certificate_issuers`: the nodes the
 * administrator authorised to issue certificates, for which types (vct), under which authority;
 * `certificate_issuer_keys`: the keys the trust list publishes for each (a key replaced by a
 * directory rotation stays, retired, until the certificates it signed have expired);
 * `certificate_index`: which certificates exist for which citizen (the hub's keyed hash of the
 * holder's ID number, never the number), as issuers report them — the wallet and the tracker.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('certificate_issuers')
    .addColumn('division', 'varchar(6)', (c) => c.primaryKey())
    .addColumn('authority', 'varchar(100)', (c) => c.notNull())
    .addColumn('authority_code', 'varchar(18)', (c) => c.notNull())
    .addColumn('types', 'text', (c) => c.notNull())
    .addColumn('authorised_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('authorised_by', 'varchar(100)', (c) => c.notNull())
    .addColumn('withdrawn_at', 'varchar(30)')
    .execute();
  await db.schema
    .createTable('certificate_issuer_keys')
    .addColumn('division', 'varchar(6)', (c) => c.notNull())
    .addColumn('kid', 'varchar(200)', (c) => c.notNull())
    .addColumn('jwk', 'text', (c) => c.notNull())
    .addColumn('from_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('retired_at', 'varchar(30)')
    .addColumn('verify_until', 'varchar(30)')
    .addPrimaryKeyConstraint('certificate_issuer_keys_pk', ['division', 'kid'])
    .execute();
  await db.schema
    .createTable('certificate_index')
    .addColumn('certificate_id', 'varchar(150)', (c) => c.primaryKey())
    .addColumn('subject_key', 'varchar(64)', (c) => c.notNull())
    .addColumn('issuer', 'varchar(6)', (c) => c.notNull())
    .addColumn('vct', 'varchar(100)', (c) => c.notNull())
    .addColumn('issued_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('expires_at', 'varchar(30)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('certificate_index_subject').on('certificate_index').columns(['subject_key', 'issued_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('certificate_index').execute();
  await db.schema.dropTable('certificate_issuer_keys').execute();
  await db.schema.dropTable('certificate_issuers').execute();
}
