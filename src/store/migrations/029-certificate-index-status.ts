import type { Kysely } from 'kysely';

/**
 * Where a certificate's status is published, filed with it in the hub's index: the issuer's status
 * list (its number at the issuer's endpoint) and the certificate's index in it. A node relaying a
 * citizen's wallet reads the status from that public list, verified against the issuer's key,
 * instead of answering `unknown` for every certificate it did not issue itself. Null for
 * certificates filed before.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('certificate_index').addColumn('status_list', 'integer').execute();
  await db.schema.alterTable('certificate_index').addColumn('status_index', 'integer').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('certificate_index').dropColumn('status_index').execute();
  await db.schema.alterTable('certificate_index').dropColumn('status_list').execute();
}
