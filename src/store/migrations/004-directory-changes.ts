import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // Hub only: a change to an approved node's entry (new endpoint, encryption key, or a key
  // rotation) waits here for the administrator; the approved entry keeps serving meanwhile.
  // One pending request per division: a newer request replaces the older one.
  await db.schema
    .createTable('directory_changes')
    .addColumn('division', 'varchar(6)', (c) => c.primaryKey())
    .addColumn('kind', 'varchar(20)', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('requested_at', 'varchar(30)', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('directory_changes').execute();
}
