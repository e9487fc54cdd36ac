import type { StoreOps, StoredNegotiation } from '../store.ts';
import type { OpsContext } from './context.ts';

export function negotiationsOps({ db }: OpsContext): StoreOps['negotiations'] {
  return {
    async get(id: string): Promise<unknown> {
      const row = await db.selectFrom('negotiations').select('body').where('id', '=', id).executeTakeFirst();
      return row ? (JSON.parse(row.body) as unknown) : undefined;
    },
    /**
     * Compare-and-set, as for cases: a new negotiation is inserted only if absent, an existing one
     * replaced only from exactly `expectedVersion` (or, without it, from any older version).
     */
    async put(n: StoredNegotiation, expectedVersion?: number): Promise<boolean> {
      const changes = { agreement_id: n.agreementId, convener: n.convener, state: n.state, version: n.version, body: JSON.stringify(n), updated_at: n.updatedAt };
      if (expectedVersion === 0) {
        const inserted = await db
          .insertInto('negotiations')
          .values({ id: n.id, created_at: n.createdAt, ...changes })
          .onConflict((oc) => oc.column('id').doNothing())
          .executeTakeFirst();
        return (inserted.numInsertedOrUpdatedRows ?? 0n) > 0n;
      }
      if (expectedVersion === undefined) {
        const inserted = await db
          .insertInto('negotiations')
          .values({ id: n.id, created_at: n.createdAt, ...changes })
          .onConflict((oc) => oc.column('id').doNothing())
          .executeTakeFirst();
        if ((inserted.numInsertedOrUpdatedRows ?? 0n) > 0n) return true;
      }
      const updated = await db
        .updateTable('negotiations')
        .set(changes)
        .where('id', '=', n.id)
        .where('version', expectedVersion === undefined ? '<' : '=', expectedVersion ?? n.version)
        .where('version', '<', n.version)
        .executeTakeFirst();
      return updated.numUpdatedRows > 0n;
    },
    async list(filter: { agreementId?: string; limit?: number } = {}): Promise<unknown[]> {
      let query = db.selectFrom('negotiations').select('body').orderBy('created_at', 'desc').orderBy('id').limit(filter.limit ?? 200);
      if (filter.agreementId) query = query.where('agreement_id', '=', filter.agreementId);
      return (await query.execute()).map((r) => JSON.parse(r.body) as unknown);
    },
  };
}

export function acceptancesOps({ db }: OpsContext): StoreOps['acceptances'] {
  return {
    async put(a): Promise<void> {
      await db
        .insertInto('agreement_acceptances')
        .values({ agreement_id: a.agreementId, version: a.version, hash: a.hash, negotiation_id: a.negotiationId ?? null, accepted_at: a.acceptedAt })
        .onConflict((oc) => oc.columns(['agreement_id', 'version']).doUpdateSet({ hash: a.hash, negotiation_id: a.negotiationId ?? null, accepted_at: a.acceptedAt }))
        .execute();
    },
    async get(agreementId: string, version: number) {
      const row = await db.selectFrom('agreement_acceptances').selectAll().where('agreement_id', '=', agreementId).where('version', '=', version).executeTakeFirst();
      return row ? { agreementId: row.agreement_id, version: Number(row.version), hash: row.hash, negotiationId: row.negotiation_id, acceptedAt: row.accepted_at } : undefined;
    },
    async remove(agreementId: string, version: number): Promise<void> {
      await db.deleteFrom('agreement_acceptances').where('agreement_id', '=', agreementId).where('version', '=', version).execute();
    },
  };
}
