import type { Kysely } from 'kysely';

/**
 * Hub identity (issue 12): the people who sign in at the hub's OpenID Connect provider (citizens
 * and staff) and the provider's own state (sessions, grants, codes, device codes, refresh tokens,
 * interactions) so that it survives restarts and is shared by replicas on one PostgreSQL.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('people')
    // The OIDC `sub`.
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    // Citizens: their normalised resident ID number; staff: a login name.
    .addColumn('login', 'varchar(100)', (c) => c.notNull().unique())
    .addColumn('kind', 'varchar(10)', (c) => c.notNull())
    .addColumn('name', 'varchar(100)', (c) => c.notNull())
    .addColumn('id_number', 'varchar(18)')
    .addColumn('node', 'varchar(6)')
    // JSON array of StaffRole (staff); '[]' for citizens.
    .addColumn('roles', 'varchar(200)', (c) => c.notNull())
    .addColumn('password_hash', 'varchar(200)', (c) => c.notNull())
    .addColumn('disabled', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('people_node').on('people').columns(['node']).execute();
  await db.schema
    .createTable('oidc_payloads')
    .addColumn('model', 'varchar(40)', (c) => c.notNull())
    .addColumn('id', 'varchar(200)', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('grant_id', 'varchar(200)')
    .addColumn('user_code', 'varchar(200)')
    .addColumn('uid', 'varchar(200)')
    // Epoch milliseconds; null: no expiry.
    .addColumn('expires_at', 'bigint')
    .addColumn('consumed_at', 'bigint')
    .addPrimaryKeyConstraint('oidc_payloads_pk', ['model', 'id'])
    .execute();
  await db.schema.createIndex('oidc_payloads_grant').on('oidc_payloads').columns(['grant_id']).execute();
  await db.schema.createIndex('oidc_payloads_user_code').on('oidc_payloads').columns(['user_code']).execute();
  await db.schema.createIndex('oidc_payloads_uid').on('oidc_payloads').columns(['uid']).execute();
  await db.schema.createIndex('oidc_payloads_expiry').on('oidc_payloads').columns(['expires_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('oidc_payloads').execute();
  await db.schema.dropTable('people').execute();
}
