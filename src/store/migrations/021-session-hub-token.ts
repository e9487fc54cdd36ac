import type { Kysely } from 'kysely';

/**
 * A citizen's node session keeps the hub access token of its sign-in (the node's own client's
 * token, audience `urn:tongban:node:<division>`), sealed with a key derived from the session id the
 * cookie holds — which the store never sees —, and its expiry: the node relays the citizen's own
 * calls to the hub (wallet, tracker, consents) with it, signed by the node, until it expires.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('sessions').addColumn('hub_token', 'text').execute();
  await db.schema.alterTable('sessions').addColumn('hub_token_expires_at', 'bigint').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('sessions').dropColumn('hub_token_expires_at').execute();
  await db.schema.alterTable('sessions').dropColumn('hub_token').execute();
}
