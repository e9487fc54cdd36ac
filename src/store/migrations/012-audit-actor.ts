import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // Who did it, as authentication proved it (issue 12): the acting person's subject, node and role
  // on every entry a person caused at this node. Null on older entries (which still verify: the
  // chain hashes an entry without the members it does not have) and on what other nodes did.
  // Evidence held for the applicant's preview lives in the case itself (cases.body): no table.
  await db.schema.alterTable('audit_log').addColumn('actor_subject', 'varchar(100)').execute();
  await db.schema.alterTable('audit_log').addColumn('actor_node', 'varchar(6)').execute();
  await db.schema.alterTable('audit_log').addColumn('actor_role', 'varchar(20)').execute();
  await db.schema.createIndex('audit_log_actor').on('audit_log').column('actor_subject').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('audit_log_actor').execute();
  await db.schema.alterTable('audit_log').dropColumn('actor_role').execute();
  await db.schema.alterTable('audit_log').dropColumn('actor_node').execute();
  await db.schema.alterTable('audit_log').dropColumn('actor_subject').execute();
}
