import { sql } from 'kysely';
import type { SignedAgreement } from '../../agreements/index.ts';
import { SignedAgreement as SignedAgreementSchema } from '../../agreements/index.ts';
import type { AuditEntry } from '../../audit/entry.ts';
import type { AuditIncident, DirectoryChangeRecord, StoredStateChange, DirectoryNodeRecord, StoreOps, StoredCheckpoint } from '../store.ts';
import type { AuditIncidentsTable, AuditLogTable } from '../schema.ts';
import { isUniqueViolation, runPrepared, type OpsContext } from './context.ts';

export function directoryOps({ db }: OpsContext): StoreOps['directory'] {
  const toRecord = (row: { body: string; status: string; decided_at: string | null; decided_by: string | null; enrolled_at: string }) =>
    ({
      ...(JSON.parse(row.body) as Omit<DirectoryNodeRecord, 'status' | 'enrolledAt' | 'decidedAt' | 'decidedBy'>),
      status: row.status as DirectoryNodeRecord['status'],
      enrolledAt: row.enrolled_at,
      decidedAt: row.decided_at,
      decidedBy: row.decided_by,
    }) satisfies DirectoryNodeRecord;
  return {
    async upsert(record: DirectoryNodeRecord): Promise<void> {
      const { status, enrolledAt, decidedAt, decidedBy, ...body } = record;
      const values = {
        division: record.division,
        name: record.name,
        role: record.role,
        endpoint: record.endpoint,
        status,
        signing_kid: record.signingKey.kid,
        body: JSON.stringify(body),
        enrolled_at: enrolledAt,
        decided_at: decidedAt,
        decided_by: decidedBy,
      };
      await db
        .insertInto('directory_nodes')
        .values(values)
        .onConflict((oc) => oc.column('division').doUpdateSet(values))
        .execute();
    },
    async get(division: string): Promise<DirectoryNodeRecord | undefined> {
      const row = await db.selectFrom('directory_nodes').selectAll().where('division', '=', division).executeTakeFirst();
      return row ? toRecord(row) : undefined;
    },
    async list(): Promise<DirectoryNodeRecord[]> {
      const rows = await db.selectFrom('directory_nodes').selectAll().orderBy('division').execute();
      return rows.map(toRecord);
    },
    async remove(division: string): Promise<boolean> {
      await db.deleteFrom('directory_changes').where('division', '=', division).execute();
      const result = await db.deleteFrom('directory_nodes').where('division', '=', division).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async putChange(change: DirectoryChangeRecord): Promise<void> {
      const values = {
        division: change.division,
        kind: change.kind,
        body: JSON.stringify({ entry: change.entry, overlapSeconds: change.overlapSeconds }),
        requested_at: change.requestedAt,
      };
      await db
        .insertInto('directory_changes')
        .values(values)
        .onConflict((oc) => oc.column('division').doUpdateSet(values))
        .execute();
    },
    async getChange(division: string): Promise<DirectoryChangeRecord | undefined> {
      const row = await db.selectFrom('directory_changes').selectAll().where('division', '=', division).executeTakeFirst();
      return row ? toChange(row) : undefined;
    },
    async listChanges(): Promise<DirectoryChangeRecord[]> {
      const rows = await db.selectFrom('directory_changes').selectAll().orderBy('division').execute();
      return rows.map(toChange);
    },
    async removeChange(division: string): Promise<boolean> {
      const result = await db.deleteFrom('directory_changes').where('division', '=', division).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}

function toChange(row: { division: string; kind: string; body: string; requested_at: string }): DirectoryChangeRecord {
  const body = JSON.parse(row.body) as Pick<DirectoryChangeRecord, 'entry' | 'overlapSeconds'>;
  return { division: row.division, kind: row.kind as DirectoryChangeRecord['kind'], entry: body.entry, overlapSeconds: body.overlapSeconds, requestedAt: row.requested_at };
}

export function agreementsOps({ db, clock, dialect }: OpsContext): StoreOps['agreements'] {
  return {
    async put(signed: SignedAgreement): Promise<boolean> {
      try {
        await db
          .insertInto('agreements')
          .values({
            id: signed.agreement.id,
            version: signed.agreement.version,
            body: JSON.stringify(signed),
            registered_at: clock().toISOString(),
          })
          .execute();
        return true;
      } catch (error) {
        if (isUniqueViolation(error, dialect)) return false;
        throw error;
      }
    },
    async latest(): Promise<SignedAgreement[]> {
      const rows = await db.selectFrom('agreements').select(['id', 'version', 'body']).orderBy('id').orderBy('version').execute();
      const byId = new Map<string, string>();
      for (const row of rows) byId.set(row.id, row.body);
      return [...byId.values()].map((body) => SignedAgreementSchema.parse(JSON.parse(body)));
    },
    async get(id: string): Promise<SignedAgreement | undefined> {
      const row = await db.selectFrom('agreements').select('body').where('id', '=', id).orderBy('version', 'desc').limit(1).executeTakeFirst();
      return row ? SignedAgreementSchema.parse(JSON.parse(row.body)) : undefined;
    },
  };
}

const AUDIT_COLUMNS = ['seq', 'at', 'kind', 'outcome', 'code', 'request_id', 'requester', 'provider', 'agreement_id', 'item_code', 'service', 'purpose', 'case_id', 'operator', 'subject_hash', 'detail', 'prev_hash', 'hash', 'actor_subject', 'actor_node', 'actor_role'] as const;
const auditInsertTexts = new Map<number, string>();
/** `INSERT INTO audit_log (…) VALUES (?, …), …` for `rows` rows, built once per row count. */
function auditInsertText(rows: number): string {
  let text = auditInsertTexts.get(rows);
  if (!text) {
    const row = `(${AUDIT_COLUMNS.map(() => '?').join(', ')})`;
    text = `insert into "audit_log" (${AUDIT_COLUMNS.map((c) => `"${c}"`).join(', ')}) values ${Array.from({ length: rows }, () => row).join(', ')}`;
    auditInsertTexts.set(rows, text);
  }
  return text;
}

export function auditOps(ctx: OpsContext): StoreOps['audit'] {
  const { db, dialect } = ctx;
  return {
    async lockHead(): Promise<void> {
      // SQLite transactions are already serialised on the node's single connection;
      // PostgreSQL replicas of one node take a transaction-scoped advisory lock. Keyed per node
      // — by the schema its tables live in — so nodes sharing a database do not wait for each
      // other's appends, while every replica of one node appends to its one chain in turn.
      if (dialect === 'postgres') await sql`select pg_advisory_xact_lock(7020101, hashtext(current_schema()))`.execute(db);
    },
    async head(): Promise<{ seq: number; hash: string } | undefined> {
      // Every append reads the head: hand-written SQL, not built per call.
      const [row] = await runPrepared<{ seq: number | string; hash: string }>(ctx, 'select "seq", "hash" from "audit_log" order by "seq" desc limit 1', []);
      return row ? { seq: Number(row.seq), hash: row.hash } : undefined;
    },
    async insert(entries: readonly AuditEntry[]): Promise<void> {
      // SQLite allows 32,766 bound values per statement (21 per row): insert in chunks.
      for (let i = 0; i < entries.length; i += 500) {
        const chunk = entries.slice(i, i + 500).map(toRow);
        await runPrepared(ctx, auditInsertText(chunk.length), chunk.flatMap((row) => AUDIT_COLUMNS.map((c) => row[c])));
      }
    },
    async range(fromSeq: number, limit: number): Promise<AuditEntry[]> {
      const rows = await db.selectFrom('audit_log').selectAll().where('seq', '>=', fromSeq).orderBy('seq').limit(limit).execute();
      return rows.map(fromRow);
    },
    async bySubject(subjectHash: string): Promise<AuditEntry[]> {
      const rows = await db.selectFrom('audit_log').selectAll().where('subject_hash', '=', subjectHash).orderBy('seq').execute();
      return rows.map(fromRow);
    },
    async bySubjectPage(subjectHash: string, page: { before?: number; limit: number }): Promise<AuditEntry[]> {
      let query = db.selectFrom('audit_log').selectAll().where('subject_hash', '=', subjectHash);
      if (page.before !== undefined) query = query.where('seq', '<', page.before);
      const rows = await query.orderBy('seq', 'desc').limit(page.limit).execute();
      return rows.map(fromRow);
    },
    async bySubjectsPage(subjectHashes: readonly string[], page: { before?: number; limit: number }): Promise<AuditEntry[]> {
      if (subjectHashes.length === 0) return [];
      let query = db.selectFrom('audit_log').selectAll().where('subject_hash', 'in', [...subjectHashes]);
      if (page.before !== undefined) query = query.where('seq', '<', page.before);
      const rows = await query.orderBy('seq', 'desc').limit(page.limit).execute();
      return rows.map(fromRow);
    },
  };
}

function toRow(e: AuditEntry): AuditLogTable {
  return {
    seq: e.seq,
    at: e.at,
    kind: e.kind,
    outcome: e.outcome,
    code: e.code ?? null,
    request_id: e.requestId ?? null,
    requester: e.requester ?? null,
    provider: e.provider ?? null,
    agreement_id: e.agreementId ?? null,
    item_code: e.itemCode ?? null,
    service: e.service ?? null,
    purpose: e.purpose ?? null,
    case_id: e.caseId ?? null,
    operator: e.operator ?? null,
    subject_hash: e.subjectHash ?? null,
    detail: JSON.stringify(e.detail),
    prev_hash: e.prevHash,
    hash: e.hash,
    actor_subject: e.actor?.subject ?? null,
    actor_node: e.actor?.node ?? null,
    actor_role: e.actor?.role ?? null,
  };
}

function fromRow(r: AuditLogTable): AuditEntry {
  const optional = {
    code: r.code,
    requestId: r.request_id,
    requester: r.requester,
    provider: r.provider,
    agreementId: r.agreement_id,
    itemCode: r.item_code,
    service: r.service,
    purpose: r.purpose,
    caseId: r.case_id,
    operator: r.operator,
    subjectHash: r.subject_hash,
  };
  return {
    seq: Number(r.seq),
    at: r.at,
    kind: r.kind,
    outcome: r.outcome as AuditEntry['outcome'],
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== null)),
    ...(r.actor_subject !== null && r.actor_node !== null && r.actor_role !== null ? { actor: { subject: r.actor_subject, node: r.actor_node, role: r.actor_role } } : {}),
    detail: JSON.parse(r.detail) as AuditEntry['detail'],
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

export function checkpointsOps({ db, dialect }: OpsContext): StoreOps['checkpoints'] {
  return {
    async add(checkpoint: StoredCheckpoint): Promise<boolean> {
      try {
        await db.insertInto('audit_checkpoints').values(checkpoint).execute();
        return true;
      } catch (error) {
        if (isUniqueViolation(error, dialect)) return false;
        throw error;
      }
    },
    async list(division: string, page: { after?: number; limit: number }): Promise<StoredCheckpoint[]> {
      const rows = await db
        .selectFrom('audit_checkpoints')
        .selectAll()
        .where('division', '=', division)
        .where('seq', '>', page.after ?? 0)
        .orderBy('seq')
        .limit(page.limit)
        .execute();
      return rows.map((r) => ({ ...r, seq: Number(r.seq) }));
    },
    async latest(division: string): Promise<StoredCheckpoint | undefined> {
      const row = await db.selectFrom('audit_checkpoints').selectAll().where('division', '=', division).orderBy('seq', 'desc').limit(1).executeTakeFirst();
      return row ? { ...row, seq: Number(row.seq) } : undefined;
    },
    async get(division: string, seq: number): Promise<StoredCheckpoint | undefined> {
      const row = await db.selectFrom('audit_checkpoints').selectAll().where('division', '=', division).where('seq', '=', seq).executeTakeFirst();
      return row ? { ...row, seq: Number(row.seq) } : undefined;
    },
    async lock(): Promise<void> {
      // SQLite transactions are serialised already (BEGIN IMMEDIATE on one connection).
      // Per node (schema), like the audit head's lock.
      if (dialect === 'postgres') await sql`select pg_advisory_xact_lock(7020102, hashtext(current_schema()))`.execute(db);
    },
  };
}

export function incidentsOps({ db }: OpsContext): StoreOps['incidents'] {
  const toIncident = (r: AuditIncidentsTable): AuditIncident => ({
    seq: Number(r.seq),
    division: r.division,
    kind: r.kind as AuditIncident['kind'],
    claimedSeq: Number(r.claimed_seq),
    claimedHash: r.claimed_hash,
    witnessedSeq: Number(r.witnessed_seq),
    witnessedHash: r.witnessed_hash,
    jws: r.jws,
    at: r.at,
  });
  return {
    async add(incident: Omit<AuditIncident, 'seq'>): Promise<{ incident: AuditIncident; recorded: boolean }> {
      const existing = await db
        .selectFrom('audit_incidents')
        .selectAll()
        .where('division', '=', incident.division)
        .where('claimed_seq', '=', incident.claimedSeq)
        .where('claimed_hash', '=', incident.claimedHash)
        .executeTakeFirst();
      if (existing) return { incident: toIncident(existing), recorded: false };
      const last = await db.selectFrom('audit_incidents').select('seq').orderBy('seq', 'desc').limit(1).executeTakeFirst();
      const row: AuditIncidentsTable = {
        seq: Number(last?.seq ?? 0) + 1,
        division: incident.division,
        kind: incident.kind,
        claimed_seq: incident.claimedSeq,
        claimed_hash: incident.claimedHash,
        witnessed_seq: incident.witnessedSeq,
        witnessed_hash: incident.witnessedHash,
        jws: incident.jws,
        at: incident.at,
      };
      await db.insertInto('audit_incidents').values(row).execute();
      return { incident: toIncident(row), recorded: true };
    },
    async list(page: { after?: number; limit: number; division?: string }): Promise<AuditIncident[]> {
      let query = db.selectFrom('audit_incidents').selectAll().where('seq', '>', page.after ?? 0);
      if (page.division) query = query.where('division', '=', page.division);
      const rows = await query.orderBy('seq').limit(page.limit).execute();
      return rows.map(toIncident);
    },
  };
}

export function noncesOps({ db, dialect }: OpsContext): StoreOps['nonces'] {
  return {
    async remember(keyid: string, nonce: string, expiresAt: number): Promise<boolean> {
      try {
        await db.insertInto('seen_nonces').values({ keyid, nonce, expires_at: expiresAt }).execute();
        return true;
      } catch (error) {
        if (isUniqueViolation(error, dialect)) return false;
        throw error;
      }
    },
    async purge(before: number): Promise<number> {
      const result = await db.deleteFrom('seen_nonces').where('expires_at', '<', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

interface PendingNonce {
  readonly keyid: string;
  readonly nonce: string;
  readonly expiresAt: number;
  readonly resolve: (fresh: boolean) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The replay cache with group commit: nonces remembered in the same turn of the event loop are
 * written by one `INSERT … ON CONFLICT DO NOTHING RETURNING` statement (its own transaction), and
 * each caller learns whether its pair was new. A caller's promise settles only after that
 * statement committed, so a nonce is as durable before the answer leaves as with one insert per
 * request; one commit (one WAL flush) serves every request of the batch.
 */
export function batchedNonces(ctx: OpsContext, single: StoreOps['nonces']): StoreOps['nonces'] {
  let pending: PendingNonce[] = [];
  const flush = async () => {
    const batch = pending;
    pending = [];
    // The first of two identical pairs in one batch competes with the table; the second is a replay of it.
    const first = new Map<string, PendingNonce>();
    for (const p of batch) {
      const key = JSON.stringify([p.keyid, p.nonce]);
      if (first.has(key)) p.resolve(false);
      else first.set(key, p);
    }
    const unique = [...first.values()];
    try {
      const inserted = new Set<string>();
      // 3 bound values a row: well inside SQLite's limit per statement.
      for (let i = 0; i < unique.length; i += 500) {
        const chunk = unique.slice(i, i + 500);
        const rows = await runPrepared<{ keyid: string; nonce: string }>(
          ctx,
          `insert into "seen_nonces" ("keyid", "nonce", "expires_at") values ${chunk.map(() => '(?, ?, ?)').join(', ')} on conflict ("keyid", "nonce") do nothing returning "keyid", "nonce"`,
          chunk.flatMap((p) => [p.keyid, p.nonce, p.expiresAt]),
        );
        for (const r of rows) inserted.add(JSON.stringify([r.keyid, r.nonce]));
      }
      for (const p of unique) p.resolve(inserted.has(JSON.stringify([p.keyid, p.nonce])));
    } catch (error) {
      for (const p of unique) p.reject(error);
    }
  };
  return {
    remember(keyid: string, nonce: string, expiresAt: number): Promise<boolean> {
      return new Promise((resolve, reject) => {
        if (pending.length === 0) setImmediate(() => void flush());
        pending.push({ keyid, nonce, expiresAt, resolve, reject });
      });
    },
    purge: (before) => single.purge(before),
  };
}

export function agreementStatesOps(ctx: OpsContext): StoreOps['agreementStates'] {
  const { db, clock, dialect } = ctx;
  return {
    async add(change: StoredStateChange): Promise<boolean> {
      try {
        await db
          .insertInto('agreement_state_changes')
          .values({
            agreement_id: change.agreementId,
            seq: change.seq,
            action: change.action,
            state: change.state,
            party: change.party,
            actor: change.actor,
            reason: change.reason,
            at: change.at,
            jws: change.jws,
            recorded_at: change.recordedAt || clock().toISOString(),
          })
          .execute();
        return true;
      } catch (error) {
        if (isUniqueViolation(error, dialect)) return false;
        throw error;
      }
    },
    async list(agreementId?: string): Promise<StoredStateChange[]> {
      let query = db.selectFrom('agreement_state_changes').selectAll();
      if (agreementId !== undefined) query = query.where('agreement_id', '=', agreementId);
      const rows = await query.orderBy('agreement_id').orderBy('seq').execute();
      return rows.map((r) => ({
        agreementId: r.agreement_id,
        seq: Number(r.seq),
        action: r.action,
        state: r.state,
        party: r.party,
        actor: r.actor,
        reason: r.reason,
        at: r.at,
        jws: r.jws,
        recordedAt: r.recorded_at,
      }));
    },
    async count(): Promise<number> {
      // Read before every exchange decision (AgreementLifecycles.refresh): written once, not built per call.
      const [row] = await runPrepared<{ n: number | string }>(ctx, 'select count(*) as "n" from "agreement_state_changes"', []);
      return Number(row?.n ?? 0);
    },
  };
}
