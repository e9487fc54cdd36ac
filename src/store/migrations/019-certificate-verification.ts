import type { Kysely } from 'kysely';

/**
 * A node as a verifier of e-certificates (docs/certificates.md). `status_list_cache`: the issuers'
 * signed status lists as last fetched from their directory endpoints (no personal data: two bits
 * per certificate), used while younger than the bounded age. `certificate_challenges`: the nonces
 * this node hands out for key binding, each used once.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('status_list_cache')
    .addColumn('uri', 'varchar(500)', (c) => c.primaryKey())
    .addColumn('jwt', 'text', (c) => c.notNull())
    // Milliseconds since the epoch: compared as instants, never as text.
    .addColumn('fetched_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('certificate_challenges')
    .addColumn('nonce', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('requested_by', 'varchar(100)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .execute();
  await db.schema.createIndex('certificate_challenges_expiry').on('certificate_challenges').column('expires_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('certificate_challenges').execute();
  await db.schema.dropTable('status_list_cache').execute();
}
