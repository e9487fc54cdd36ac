import type { ConsentRecord, StoreOps } from '../store.ts';
import type { Database } from '../schema.ts';
import type { OpsContext } from './context.ts';

type ConsentRow = Database['consents'];

function record(row: ConsentRow): ConsentRecord {
  return {
    id: row.id,
    subjectKey: row.subject_key,
    requester: row.requester,
    provider: row.provider,
    artefact: row.artefact,
    status: row.status === 'revoked' ? 'revoked' : 'active',
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    useCount: Number(row.use_count),
    lastUsedAt: row.last_used_at,
    createdAt: row.created_at,
  };
}

/** The hub's consents (migration 011). */
export function consentsOps({ db }: OpsContext): StoreOps['consents'] {
  return {
    async add(c) {
      await db
        .insertInto('consents')
        .values({
          id: c.id,
          subject_key: c.subjectKey,
          requester: c.requester,
          provider: c.provider,
          artefact: c.artefact,
          status: c.status,
          expires_at: c.expiresAt,
          revoked_at: c.revokedAt,
          use_count: c.useCount,
          last_used_at: c.lastUsedAt,
          created_at: c.createdAt,
        })
        .execute();
    },
    async get(id) {
      const row = await db.selectFrom('consents').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? record(row) : undefined;
    },
    async listBySubject(subjectKey, page) {
      const rows = await db
        .selectFrom('consents')
        .selectAll()
        .where('subject_key', '=', subjectKey)
        .orderBy('created_at', 'desc')
        .orderBy('id')
        .limit(page.limit)
        .offset(page.offset)
        .execute();
      const total = await db.selectFrom('consents').select((eb) => eb.fn.countAll<string | number>().as('n')).where('subject_key', '=', subjectKey).executeTakeFirstOrThrow();
      return { consents: rows.map(record), total: Number(total.n) };
    },
    async revoke(id, at) {
      const updated = await db.updateTable('consents').set({ status: 'revoked', revoked_at: at }).where('id', '=', id).where('status', '=', 'active').executeTakeFirst();
      return updated.numUpdatedRows > 0n;
    },
    async reportUses(id, provider, uses, lastUsedAt) {
      const updated = await db
        .updateTable('consents')
        .set({ use_count: uses, last_used_at: lastUsedAt })
        .where('id', '=', id)
        .where('provider', '=', provider)
        .where('use_count', '<', uses)
        .executeTakeFirst();
      return updated.numUpdatedRows > 0n;
    },
  };
}

/** A provider's record of the consents it served (migration 011). */
export function consentUsesOps({ db }: OpsContext): StoreOps['consentUses'] {
  const get = async (consentId: string) => {
    const row = await db.selectFrom('consent_uses').selectAll().where('consent_id', '=', consentId).executeTakeFirst();
    return row ? { consentId: row.consent_id, uses: Number(row.uses), lastUsedAt: row.last_used_at, revokedAt: row.revoked_at } : undefined;
  };
  return {
    async use(consentId, { single, at }) {
      await db.insertInto('consent_uses').values({ consent_id: consentId, uses: 0, last_used_at: null, revoked_at: null }).onConflict((oc) => oc.column('consent_id').doNothing()).execute();
      // One conditional UPDATE decides: on PostgreSQL a concurrent second use waits for the first's
      // row lock and then re-evaluates the condition against the committed row (uses = 1): no match.
      let update = db
        .updateTable('consent_uses')
        .set((eb) => ({ uses: eb('uses', '+', 1), last_used_at: at }))
        .where('consent_id', '=', consentId)
        .where('revoked_at', 'is', null);
      if (single) update = update.where('uses', '=', 0);
      const updated = await update.executeTakeFirst();
      const row = (await get(consentId))!;
      if (updated.numUpdatedRows > 0n) return { outcome: 'counted', uses: row.uses };
      return { outcome: row.revokedAt !== null ? 'revoked' : 'used', uses: row.uses };
    },
    async revoke(consentId, at) {
      await db.insertInto('consent_uses').values({ consent_id: consentId, uses: 0, last_used_at: null, revoked_at: at }).onConflict((oc) => oc.column('consent_id').doNothing()).execute();
      await db.updateTable('consent_uses').set({ revoked_at: at }).where('consent_id', '=', consentId).where('revoked_at', 'is', null).execute();
    },
    get,
  };
}
