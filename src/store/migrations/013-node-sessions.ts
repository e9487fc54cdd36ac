import { sql, type Kysely } from 'kysely';

/**
 * A node as an OpenID Connect relying party of the hub (src/identity): the sign-ins under way
 * (state, PKCE verifier and nonce kept here, never in the browser), the node's sessions (the cookie
 * holds a random id, this table only its SHA-256) and its machine clients — named bearer tokens,
 * each scoped to one role and revocable — which replace the `accounts` of migration 003 (their rows
 * are carried over, tokens and all, so existing tokens keep working until revoked).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('login_states')
    .addColumn('state_hash', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('code_verifier', 'varchar(200)', (c) => c.notNull())
    .addColumn('nonce', 'varchar(200)', (c) => c.notNull())
    .addColumn('return_to', 'varchar(2000)', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('sessions')
    .addColumn('id_hash', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('subject', 'varchar(100)', (c) => c.notNull())
    .addColumn('person', 'text', (c) => c.notNull())
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    // Milliseconds since the epoch: compared as instants, never as text.
    .addColumn('idle_expires_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sessions_expiry').on('sessions').column('expires_at').execute();
  await db.schema
    .createTable('machine_clients')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(100)', (c) => c.notNull())
    .addColumn('role', 'varchar(20)', (c) => c.notNull())
    // Only for the applicant accounts carried over from migration 003 (and still created by the
    // operator API): the resident ID number they act for. Null for staff-role clients.
    .addColumn('id_number', 'varchar(40)')
    .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('revoked_at', 'varchar(30)')
    .execute();
  await sql`INSERT INTO machine_clients (id, name, role, id_number, token_hash, created_at) SELECT id, name, role, subject, token_hash, created_at FROM accounts`.execute(db);
  await db.schema.dropTable('accounts').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('accounts')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('role', 'varchar(20)', (c) => c.notNull())
    .addColumn('name', 'varchar(100)', (c) => c.notNull())
    .addColumn('subject', 'varchar(40)')
    .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    .execute();
  await sql`INSERT INTO accounts (id, role, name, subject, token_hash, created_at) SELECT id, role, name, id_number, token_hash, created_at FROM machine_clients WHERE revoked_at IS NULL AND role IN ('applicant', 'clerk', 'approver', 'supervisor')`.execute(db);
  for (const table of ['machine_clients', 'sessions', 'login_states']) await db.schema.dropTable(table).execute();
}
