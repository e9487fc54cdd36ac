import type { Kysely } from 'kysely';

/**
 * Agreement negotiation (src/agreements/negotiation.ts): each node's copy of the negotiations it
 * is a party to, and the terms this node has accepted per agreement version — what its sign
 * endpoint checks before it signs anything.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('negotiations')
    .addColumn('id', 'varchar(90)', (c) => c.primaryKey())
    .addColumn('agreement_id', 'varchar(80)', (c) => c.notNull())
    .addColumn('convener', 'varchar(6)', (c) => c.notNull())
    .addColumn('state', 'varchar(20)', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(30)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('negotiations_agreement').on('negotiations').columns(['agreement_id']).execute();
  await db.schema
    .createTable('agreement_acceptances')
    .addColumn('agreement_id', 'varchar(80)', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('hash', 'varchar(64)', (c) => c.notNull())
    // The negotiation the acceptance was given in; null for terms accepted as a whole.
    .addColumn('negotiation_id', 'varchar(90)')
    .addColumn('accepted_at', 'varchar(30)', (c) => c.notNull())
    .addPrimaryKeyConstraint('agreement_acceptances_pk', ['agreement_id', 'version'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('agreement_acceptances').execute();
  await db.schema.dropTable('negotiations').execute();
}
