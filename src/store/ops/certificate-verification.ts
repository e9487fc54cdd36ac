import type { StoreOps } from '../store.ts';
import type { OpsContext } from './context.ts';

/** A verifier's cache of issuers' status lists (migration 019). */
export function statusListCacheOps({ db }: OpsContext): StoreOps['statusListCache'] {
  return {
    async get(uri) {
      const row = await db.selectFrom('status_list_cache').selectAll().where('uri', '=', uri).executeTakeFirst();
      return row ? { uri: row.uri, jwt: row.jwt, fetchedAt: Number(row.fetched_at) } : undefined;
    },
    async put(entry) {
      await db
        .insertInto('status_list_cache')
        .values({ uri: entry.uri, jwt: entry.jwt, fetched_at: entry.fetchedAt })
        .onConflict((oc) => oc.column('uri').doUpdateSet({ jwt: entry.jwt, fetched_at: entry.fetchedAt }))
        .execute();
    },
  };
}

/** The key-binding challenges a verifier hands out (migration 019). */
export function certificateChallengesOps({ db }: OpsContext): StoreOps['certificateChallenges'] {
  return {
    async add(challenge) {
      await db
        .insertInto('certificate_challenges')
        .values({ nonce: challenge.nonce, requested_by: challenge.requestedBy, created_at: challenge.createdAt, expires_at: challenge.expiresAt, used_at: null })
        .execute();
    },
    async use(nonce, at) {
      // One conditional UPDATE decides: of two concurrent uses, exactly one changes the row.
      const updated = await db.updateTable('certificate_challenges').set({ used_at: at }).where('nonce', '=', nonce).where('used_at', 'is', null).where('expires_at', '>', at).executeTakeFirst();
      return updated.numUpdatedRows > 0n;
    },
    async purge(before) {
      const result = await db.deleteFrom('certificate_challenges').where('expires_at', '<', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
