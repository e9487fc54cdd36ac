import type { CertificateRecord, StoreOps } from '../store.ts';
import type { Database } from '../schema.ts';
import type { OpsContext } from './context.ts';

type CertificateRow = Database['certificates'];

const STATUSES: ReadonlySet<string> = new Set(['valid', 'revoked', 'suspended']);

function statusOf(value: string): CertificateRecord['status'] {
  // A value no release writes is a broken invariant, not a status to show.
  if (!STATUSES.has(value)) throw new Error(`certificates: unknown status ${value}`);
  return value as CertificateRecord['status'];
}

function record(row: CertificateRow): CertificateRecord {
  return {
    id: row.id,
    caseId: row.case_id,
    vct: row.vct,
    subjectKey: row.subject_key,
    sdJwt: row.sd_jwt,
    statusListId: Number(row.status_list_id),
    statusIdx: Number(row.status_idx),
    status: statusOf(row.status),
    statusReason: row.status_reason,
    statusChangedAt: row.status_changed_at,
    boundThumbprint: row.bound_thumbprint,
    issuedAt: row.issued_at,
    expiresAt: row.expires_at,
  };
}

/** The e-certificates this node issued (migration 018). */
export function certificatesOps({ db }: OpsContext): StoreOps['certificates'] {
  return {
    async add(c) {
      // One certificate per case: a second issuance of the same case (a conclude and an explicit
      // issue at once) writes nothing, and the caller answers with the first.
      const inserted = await db
        .insertInto('certificates')
        .values({
          id: c.id,
          case_id: c.caseId,
          vct: c.vct,
          subject_key: c.subjectKey,
          sd_jwt: c.sdJwt,
          status_list_id: c.statusListId,
          status_idx: c.statusIdx,
          status: c.status,
          status_reason: c.statusReason,
          status_changed_at: c.statusChangedAt,
          bound_thumbprint: c.boundThumbprint,
          issued_at: c.issuedAt,
          expires_at: c.expiresAt,
        })
        .onConflict((oc) => oc.column('case_id').doNothing())
        .executeTakeFirst();
      return (inserted.numInsertedOrUpdatedRows ?? 0n) > 0n;
    },
    async get(id) {
      const row = await db.selectFrom('certificates').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? record(row) : undefined;
    },
    async byCase(caseId) {
      const row = await db.selectFrom('certificates').selectAll().where('case_id', '=', caseId).executeTakeFirst();
      return row ? record(row) : undefined;
    },
    async list(filter, page) {
      let rows = db.selectFrom('certificates').selectAll();
      let count = db.selectFrom('certificates').select((eb) => eb.fn.countAll<string | number>().as('n'));
      if (filter.subjectKey !== undefined) {
        rows = rows.where('subject_key', '=', filter.subjectKey);
        count = count.where('subject_key', '=', filter.subjectKey);
      }
      const [found, total] = await Promise.all([rows.orderBy('issued_at', 'desc').orderBy('id', 'desc').limit(page.limit).offset(page.offset).execute(), count.executeTakeFirstOrThrow()]);
      return { certificates: found.map(record), total: Number(total.n) };
    },
    async setStatus(id, from, to, reason, at) {
      if (from.length === 0) return false;
      // The state check is in the statement: of two concurrent changes only one matches.
      const updated = await db.updateTable('certificates').set({ status: to, status_reason: reason, status_changed_at: at }).where('id', '=', id).where('status', 'in', [...from]).executeTakeFirst();
      return updated.numUpdatedRows > 0n;
    },
    async bind(id, sdJwt, thumbprint) {
      const updated = await db.updateTable('certificates').set({ sd_jwt: sdJwt, bound_thumbprint: thumbprint }).where('id', '=', id).where('bound_thumbprint', 'is', null).executeTakeFirst();
      return updated.numUpdatedRows > 0n;
    },
    async statuses(listId) {
      const rows = await db.selectFrom('certificates').select(['status_idx', 'status']).where('status_list_id', '=', listId).execute();
      return rows.map((r) => ({ idx: Number(r.status_idx), status: statusOf(r.status) }));
    },
  };
}

/** How often an allocation looks again after another caller opened the next list meanwhile. */
const ALLOCATION_ATTEMPTS = 8;

/** The status lists of this node and their index counters (migration 018). */
export function statusListsOps({ db, clock }: OpsContext): StoreOps['statusLists'] {
  return {
    async allocate(size) {
      if (!Number.isInteger(size) || size < 1) throw new RangeError('a status list holds at least one index');
      for (let attempt = 0; attempt < ALLOCATION_ATTEMPTS; attempt++) {
        const newest = await db.selectFrom('status_lists').select('id').orderBy('id', 'desc').limit(1).executeTakeFirst();
        if (newest) {
          // The condition is evaluated on the row as locked: on PostgreSQL a concurrent caller waits
          // for the first one's row lock and then sees its increment; SQLite runs one writer at a time.
          const taken = await db
            .updateTable('status_lists')
            .set((eb) => ({ next_idx: eb('next_idx', '+', 1) }))
            .where('id', '=', newest.id)
            .where((eb) => eb('next_idx', '<', eb.ref('size')))
            .returning('next_idx')
            .executeTakeFirst();
          if (taken) return { listId: Number(newest.id), idx: Number(taken.next_idx) - 1 };
        }
        // Full (or none yet): open the next list. A concurrent caller opening the same one makes
        // this a no-op (it waits for that caller's commit on PostgreSQL), and the next round uses it.
        const next = Number(newest?.id ?? 0) + 1;
        await db.insertInto('status_lists').values({ id: next, size, next_idx: 0, created_at: clock().toISOString() }).onConflict((oc) => oc.column('id').doNothing()).execute();
      }
      throw new Error('status lists: no free index after several attempts');
    },
    async get(id) {
      const row = await db.selectFrom('status_lists').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? { id: Number(row.id), size: Number(row.size), nextIdx: Number(row.next_idx), createdAt: row.created_at } : undefined;
    },
  };
}
