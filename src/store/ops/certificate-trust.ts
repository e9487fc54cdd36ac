import type { PublicJwk } from '../../crypto/index.ts';
import type { Database } from '../schema.ts';
import type { CertificateIndexRecord, CertificateIssuerRecord, StoreOps } from '../store.ts';
import type { OpsContext } from './context.ts';

function issuer(row: Database['certificate_issuers']): CertificateIssuerRecord {
  return {
    division: row.division,
    authority: row.authority,
    authorityCode: row.authority_code,
    types: JSON.parse(row.types) as string[],
    authorisedAt: row.authorised_at,
    authorisedBy: row.authorised_by,
    withdrawnAt: row.withdrawn_at,
  };
}

function indexed(row: Database['certificate_index']): CertificateIndexRecord {
  const status = row.status_list === null || row.status_index === null ? null : { list: Number(row.status_list), index: Number(row.status_index) };
  return { certificateId: row.certificate_id, subjectKey: row.subject_key, issuer: row.issuer, vct: row.vct, issuedAt: row.issued_at, expiresAt: row.expires_at, status };
}

/** The hub's certificate issuers and their keys (migration 017). */
export function certificateIssuersOps({ db }: OpsContext): StoreOps['certificateIssuers'] {
  return {
    async put(r) {
      const values = {
        division: r.division,
        authority: r.authority,
        authority_code: r.authorityCode,
        types: JSON.stringify(r.types),
        authorised_at: r.authorisedAt,
        authorised_by: r.authorisedBy,
        withdrawn_at: r.withdrawnAt,
      };
      await db
        .insertInto('certificate_issuers')
        .values(values)
        .onConflict((oc) => oc.column('division').doUpdateSet(values))
        .execute();
    },
    async get(division) {
      const row = await db.selectFrom('certificate_issuers').selectAll().where('division', '=', division).executeTakeFirst();
      return row ? issuer(row) : undefined;
    },
    async list() {
      return (await db.selectFrom('certificate_issuers').selectAll().orderBy('division').execute()).map(issuer);
    },
    async putKey(k) {
      const values = { division: k.division, kid: k.kid, jwk: JSON.stringify(k.jwk), from_at: k.from, retired_at: k.retiredAt, verify_until: k.verifyUntil };
      await db
        .insertInto('certificate_issuer_keys')
        .values(values)
        .onConflict((oc) => oc.columns(['division', 'kid']).doUpdateSet(values))
        .execute();
    },
    async keys(division) {
      let query = db.selectFrom('certificate_issuer_keys').selectAll();
      if (division !== undefined) query = query.where('division', '=', division);
      const rows = await query.orderBy('division').orderBy('from_at').orderBy('kid').execute();
      return rows.map((row) => ({ division: row.division, kid: row.kid, jwk: JSON.parse(row.jwk) as PublicJwk, from: row.from_at, retiredAt: row.retired_at, verifyUntil: row.verify_until }));
    },
  };
}

/** The hub's index of issued certificates (migration 017). */
export function certificateIndexOps({ db }: OpsContext): StoreOps['certificateIndex'] {
  return {
    async add(r) {
      const result = await db
        .insertInto('certificate_index')
        .values({ certificate_id: r.certificateId, subject_key: r.subjectKey, issuer: r.issuer, vct: r.vct, issued_at: r.issuedAt, expires_at: r.expiresAt, status_list: r.status?.list ?? null, status_index: r.status?.index ?? null })
        .onConflict((oc) => oc.column('certificate_id').doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
    },
    async get(certificateId) {
      const row = await db.selectFrom('certificate_index').selectAll().where('certificate_id', '=', certificateId).executeTakeFirst();
      return row ? indexed(row) : undefined;
    },
    async listBySubject(subjectKey, page) {
      const rows = await db
        .selectFrom('certificate_index')
        .selectAll()
        .where('subject_key', '=', subjectKey)
        .orderBy('issued_at', 'desc')
        .orderBy('certificate_id')
        .limit(page.limit)
        .offset(page.offset)
        .execute();
      const total = await db.selectFrom('certificate_index').select((eb) => eb.fn.countAll<string | number>().as('n')).where('subject_key', '=', subjectKey).executeTakeFirstOrThrow();
      return { certificates: rows.map(indexed), total: Number(total.n) };
    },
  };
}
