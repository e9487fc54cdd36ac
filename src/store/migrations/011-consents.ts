import type { Kysely } from 'kysely';

/**
 * Consent the citizen gives (docs/consent.md). At the hub, `consents`: every artefact it signed on
 * a citizen's behalf, keyed by the citizen's keyed subject hash (never the ID number in clear),
 * with its status and the use count its provider reports. At nodes, `consent_uses`: how often this
 * provider served each consent and whether the hub told it of a revocation — what it checks,
 * atomically, before relying on an artefact again.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('consents')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('subject_key', 'varchar(64)', (c) => c.notNull())
    .addColumn('requester', 'varchar(6)', (c) => c.notNull())
    .addColumn('provider', 'varchar(6)', (c) => c.notNull())
    .addColumn('artefact', 'text', (c) => c.notNull())
    .addColumn('status', 'varchar(10)', (c) => c.notNull())
    .addColumn('expires_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('revoked_at', 'varchar(30)')
    .addColumn('use_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_used_at', 'varchar(30)')
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('consents_subject').on('consents').columns(['subject_key', 'created_at']).execute();
  await db.schema
    .createTable('consent_uses')
    .addColumn('consent_id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('uses', 'integer', (c) => c.notNull())
    .addColumn('last_used_at', 'varchar(30)')
    .addColumn('revoked_at', 'varchar(30)')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('consent_uses').execute();
  await db.schema.dropTable('consents').execute();
}
