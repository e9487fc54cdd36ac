import type { Kysely } from 'kysely';

/**
 * Node-local grants of the administering roles (dataAdmin, operator) to staff who sign in at the
 * hub. The hub's role claims alone never make someone an administrator of a node: the node's own
 * operator records the grant here, with a node signing passphrase (scrypt hash) that the hub never
 * sees and that binding acts (signing, registering, resuming or terminating an agreement) ask for.
 * `failures`: consecutive wrong passphrases; at the limit the grant is locked until re-granted.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('admin_grants')
    .addColumn('login', 'varchar(64)', (c) => c.primaryKey())
    // Comma-separated: dataAdmin, operator.
    .addColumn('roles', 'varchar(100)', (c) => c.notNull())
    .addColumn('passphrase_hash', 'text', (c) => c.notNull())
    .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('granted_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('granted_by', 'varchar(64)', (c) => c.notNull())
    .addColumn('revoked_at', 'varchar(40)')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('admin_grants').execute();
}
