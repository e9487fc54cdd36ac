import type { Kysely } from 'kysely';

/**
 * Several replicas of one node on one database (issue 15). `outbox.claimed_by`/`lease_until`: a
 * replica claims the messages it delivers under a lease, so no two replicas send the same one and
 * a dead replica's claims are taken over when the lease runs out. `node_leases`: periodic work
 * (escalation, checkpoints, enrolment…) runs at one replica per node, the lease holder.
 * `directory_snapshots`: the hub's signed snapshots by version, so one version is one content
 * whichever hub replica signed it. `login_failures`: the hub's sign-in lockout counted in the
 * database, so guesses spread over replicas count together (keyed hash of the login, never the login).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('outbox').addColumn('claimed_by', 'varchar(80)').execute();
  // Milliseconds since the epoch; null or past: free to claim.
  await db.schema.alterTable('outbox').addColumn('lease_until', 'bigint').execute();
  await db.schema
    .createTable('node_leases')
    .addColumn('name', 'varchar(60)', (c) => c.primaryKey())
    .addColumn('holder', 'varchar(80)', (c) => c.notNull())
    .addColumn('until', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('directory_snapshots')
    .addColumn('version', 'bigint', (c) => c.primaryKey())
    // SHA-256 of the canonical published content (nodes, agreements, states), without the times.
    .addColumn('content_hash', 'varchar(64)', (c) => c.notNull())
    .addColumn('jws', 'text', (c) => c.notNull())
    .addColumn('issued_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('login_failures')
    .addColumn('login_hash', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('count', 'integer', (c) => c.notNull())
    // Start of the window (ms since the epoch).
    .addColumn('since', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('login_failures_since').on('login_failures').column('since').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('login_failures').execute();
  await db.schema.dropTable('directory_snapshots').execute();
  await db.schema.dropTable('node_leases').execute();
  await db.schema.alterTable('outbox').dropColumn('lease_until').execute();
  await db.schema.alterTable('outbox').dropColumn('claimed_by').execute();
}
