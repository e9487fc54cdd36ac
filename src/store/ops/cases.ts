import { Case as CaseSchema, ThreadMessage as ThreadMessageSchema, participantsOf, type Case, type ThreadMessage } from '../../cases/model.ts';
import type { AccountRecord, OutboxMessage, StoreOps } from '../store.ts';
import { isUniqueViolation, type OpsContext } from './context.ts';

export function casesOps({ db }: OpsContext): StoreOps['cases'] {
  return {
    async get(id: string): Promise<Case | undefined> {
      const row = await db.selectFrom('cases').select('body').where('id', '=', id).executeTakeFirst();
      return row ? CaseSchema.parse(JSON.parse(row.body)) : undefined;
    },
    async put(c: Case, expectedVersion?: number): Promise<boolean> {
      const existing = await db.selectFrom('cases').select('version').where('id', '=', c.id).executeTakeFirst();
      if (expectedVersion !== undefined && (existing?.version ?? 0) !== expectedVersion) return false;
      if (existing && Number(existing.version) >= c.version) return false;
      const values = { id: c.id, version: c.version, state: c.state, accepting_node: c.acceptingNode, applicant_id: c.applicant.idNumber, body: JSON.stringify(c), updated_at: c.updatedAt };
      if (existing) await db.updateTable('cases').set(values).where('id', '=', c.id).execute();
      else await db.insertInto('cases').values(values).execute();
      for (const node of participantsOf(c)) {
        await db.insertInto('case_participants').values({ case_id: c.id, node }).onConflict((oc) => oc.doNothing()).execute();
      }
      return true;
    },
    async list(filter: { participant?: string; applicantId?: string; limit?: number }): Promise<Case[]> {
      let query = db.selectFrom('cases').select('cases.body').orderBy('cases.updated_at', 'desc').limit(filter.limit ?? 200);
      if (filter.participant) {
        query = query.innerJoin('case_participants', 'case_participants.case_id', 'cases.id').where('case_participants.node', '=', filter.participant);
      }
      if (filter.applicantId) query = query.where('cases.applicant_id', '=', filter.applicantId);
      return (await query.execute()).map((r) => CaseSchema.parse(JSON.parse(r.body)));
    },
  };
}

export function caseMessagesOps({ db, dialect }: OpsContext): StoreOps['caseMessages'] {
  return {
    async add(message: ThreadMessage): Promise<boolean> {
      try {
        await db.insertInto('case_messages').values({ id: message.id, case_id: message.caseId, at: message.at, body: JSON.stringify(message) }).execute();
        return true;
      } catch (error) {
        if (isUniqueViolation(error, dialect)) return false;
        throw error;
      }
    },
    async list(caseId: string): Promise<ThreadMessage[]> {
      const rows = await db.selectFrom('case_messages').select('body').where('case_id', '=', caseId).orderBy('at').orderBy('id').execute();
      return rows.map((r) => ThreadMessageSchema.parse(JSON.parse(r.body)));
    },
  };
}

let lastSeq = 0;
/** Increasing within a process; ties across replicas are harmless (case copies are versioned). */
function nextSeq(): number {
  lastSeq = Math.max(lastSeq + 1, Date.now() * 1000);
  return lastSeq;
}

export function outboxOps({ db, clock }: OpsContext): StoreOps['outbox'] {
  const toMessage = (r: Record<string, unknown>): OutboxMessage => ({
    id: r.id as string,
    destination: r.destination as string,
    kind: r.kind as string,
    payload: JSON.parse(r.payload as string) as unknown,
    status: r.status as OutboxMessage['status'],
    attempts: Number(r.attempts),
    nextAttemptAt: Number(r.next_attempt_at),
    createdAt: r.created_at as string,
    deliveredAt: (r.delivered_at as string | null) ?? null,
    lastError: (r.last_error as string | null) ?? null,
  });
  return {
    async enqueue(message: { id: string; destination: string; kind: string; payload: unknown }): Promise<void> {
      const now = clock();
      await db
        .insertInto('outbox')
        .values({
          id: message.id,
          seq: nextSeq(),
          destination: message.destination,
          kind: message.kind,
          payload: JSON.stringify(message.payload),
          status: 'pending',
          attempts: 0,
          next_attempt_at: now.getTime(),
          created_at: now.toISOString(),
          delivered_at: null,
          last_error: null,
        })
        .execute();
    },
    async pending(limit: number): Promise<OutboxMessage[]> {
      const rows = await db.selectFrom('outbox').selectAll().where('status', '=', 'pending').orderBy('seq').limit(limit).execute();
      return rows.map(toMessage);
    },
    async markDelivered(id: string): Promise<void> {
      await db.updateTable('outbox').set({ status: 'delivered', delivered_at: clock().toISOString(), last_error: null }).where('id', '=', id).execute();
    },
    async markFailed(id: string, error: string, nextAttemptAt: number, dead: boolean): Promise<void> {
      const row = await db.selectFrom('outbox').select('attempts').where('id', '=', id).executeTakeFirst();
      await db
        .updateTable('outbox')
        .set({ attempts: Number(row?.attempts ?? 0) + 1, last_error: error.slice(0, 500), next_attempt_at: nextAttemptAt, status: dead ? 'dead' : 'pending' })
        .where('id', '=', id)
        .execute();
    },
    async list(): Promise<OutboxMessage[]> {
      return (await db.selectFrom('outbox').selectAll().orderBy('seq').execute()).map(toMessage);
    },
  };
}

export function accountsOps({ db, dialect }: OpsContext): StoreOps['accounts'] {
  const toRecord = (r: { id: string; role: string; name: string; subject: string | null; created_at: string }): AccountRecord => ({
    id: r.id,
    role: r.role as AccountRecord['role'],
    name: r.name,
    subject: r.subject,
    createdAt: r.created_at,
  });
  return {
    async add(account: AccountRecord, tokenHash: string): Promise<boolean> {
      try {
        await db
          .insertInto('accounts')
          .values({ id: account.id, role: account.role, name: account.name, subject: account.subject, token_hash: tokenHash, created_at: account.createdAt })
          .execute();
        return true;
      } catch (error) {
        if (isUniqueViolation(error, dialect)) return false;
        throw error;
      }
    },
    async byTokenHash(tokenHash: string): Promise<AccountRecord | undefined> {
      const row = await db.selectFrom('accounts').select(['id', 'role', 'name', 'subject', 'created_at']).where('token_hash', '=', tokenHash).executeTakeFirst();
      return row ? toRecord(row) : undefined;
    },
  };
}
