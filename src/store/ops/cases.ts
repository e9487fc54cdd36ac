import { Case as CaseSchema, ThreadMessage as ThreadMessageSchema, participantsOf, type Case, type ThreadMessage } from '../../cases/model.ts';
import { sql } from 'kysely';
import type { AccountRecord, CaseFilter, OutboxMessage, StoreOps } from '../store.ts';
import { isUniqueViolation, type OpsContext } from './context.ts';

export function casesOps({ db }: OpsContext): StoreOps['cases'] {
  /** The filter as SQL; participants through their table, states and applicant on indexed columns. */
  const filtered = (filter: CaseFilter) => {
    let query = db.selectFrom('cases');
    if (filter.participant) {
      query = query.innerJoin('case_participants', 'case_participants.case_id', 'cases.id').where('case_participants.node', '=', filter.participant);
    }
    if (filter.applicantId !== undefined) query = query.where('cases.applicant_id', '=', filter.applicantId);
    if (filter.states) query = filter.states.length === 0 ? query.where(sql<boolean>`1 = 0`) : query.where('cases.state', 'in', [...filter.states]);
    return query;
  };
  return {
    async get(id: string): Promise<Case | undefined> {
      const row = await db.selectFrom('cases').select('body').where('id', '=', id).executeTakeFirst();
      return row ? CaseSchema.parse(JSON.parse(row.body)) : undefined;
    },
    /**
     * Compare-and-set in the statement itself: the UPDATE matches only the expected (or an older)
     * version and a new case is inserted only if absent, so of concurrent writers from the same
     * version exactly one changes a row, on SQLite and on PostgreSQL alike.
     */
    async put(c: Case, expectedVersion?: number): Promise<boolean> {
      const changes = { version: c.version, state: c.state, accepting_node: c.acceptingNode, applicant_id: c.applicant.idNumber, body: JSON.stringify(c), updated_at: c.updatedAt };
      const values = { id: c.id, ...changes };
      let written: bigint;
      if (expectedVersion === 0 || expectedVersion === undefined) {
        const inserted = await db.insertInto('cases').values(values).onConflict((oc) => oc.column('id').doNothing()).executeTakeFirst();
        written = inserted.numInsertedOrUpdatedRows ?? 0n;
      } else written = 0n;
      if (written === 0n && expectedVersion !== 0) {
        const updated = await db
          .updateTable('cases')
          .set(changes)
          .where('id', '=', c.id)
          .where('version', expectedVersion === undefined ? '<' : '=', expectedVersion ?? c.version)
          .where('version', '<', c.version)
          .executeTakeFirst();
        written = updated.numUpdatedRows;
      }
      if (written === 0n) return false;
      for (const node of participantsOf(c)) {
        await db.insertInto('case_participants').values({ case_id: c.id, node }).onConflict((oc) => oc.doNothing()).execute();
      }
      return true;
    },
    async list(filter: CaseFilter & { limit?: number; offset?: number; order?: 'recent' | 'id'; afterId?: string }): Promise<Case[]> {
      let query = filtered(filter).select('cases.body').limit(filter.limit ?? 200);
      if (filter.order === 'id') {
        query = query.orderBy('cases.id');
        if (filter.afterId !== undefined) query = query.where('cases.id', '>', filter.afterId);
      } else query = query.orderBy('cases.updated_at', 'desc').orderBy('cases.id', 'desc');
      if (filter.offset) query = query.offset(filter.offset);
      return (await query.execute()).map((r) => CaseSchema.parse(JSON.parse(r.body)));
    },
    async count(filter: CaseFilter): Promise<number> {
      const row = await filtered(filter).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async countByState(participant: string): Promise<Record<string, number>> {
      const rows = await filtered({ participant })
        .select(['cases.state', (eb) => eb.fn.countAll().as('n')])
        .groupBy('cases.state')
        .execute();
      return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
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
    async list(caseId: string, page?: { limit: number; offset: number }): Promise<ThreadMessage[]> {
      let query = db.selectFrom('case_messages').select('body').where('case_id', '=', caseId).orderBy('at').orderBy('id');
      if (page) query = query.limit(page.limit).offset(page.offset);
      const rows = await query.execute();
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
    caseId: (r.case_id as string | null) ?? null,
  });
  return {
    async enqueue(message: { id: string; destination: string; kind: string; caseId?: string; payload: unknown }): Promise<void> {
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
          case_id: message.caseId ?? null,
        })
        .execute();
    },
    /**
     * The head of each (destination, case) queue, when it is due. A message waits behind an
     * earlier pending one of the same case to the same node only, so a message that keeps
     * failing holds up nothing else.
     */
    async due(now: number, limit: number): Promise<OutboxMessage[]> {
      const rows = await db
        .selectFrom('outbox as o')
        .selectAll('o')
        .where('o.status', '=', 'pending')
        .where('o.next_attempt_at', '<=', now)
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('outbox as e')
                .select('e.id')
                .where('e.status', '=', 'pending')
                .whereRef('e.destination', '=', 'o.destination')
                .whereRef('e.case_id', '=', 'o.case_id')
                .whereRef('e.seq', '<', 'o.seq'),
            ),
          ),
        )
        .orderBy('o.seq')
        .limit(limit)
        .execute();
      return rows.map(toMessage);
    },
    async markDelivered(id: string): Promise<void> {
      await db.updateTable('outbox').set({ status: 'delivered', delivered_at: clock().toISOString(), last_error: null }).where('id', '=', id).execute();
    },
    async markFailed(id: string, error: string, nextAttemptAt: number, dead: boolean): Promise<void> {
      await db
        .updateTable('outbox')
        .set({ attempts: sql`attempts + 1`, last_error: error.slice(0, 500), next_attempt_at: nextAttemptAt, status: dead ? 'dead' : 'pending' })
        .where('id', '=', id)
        .execute();
    },
    async list(filter: { failed?: boolean; limit?: number; offset?: number } = {}): Promise<OutboxMessage[]> {
      let query = db.selectFrom('outbox').selectAll().orderBy('seq');
      // Failed: refused for good, or still retrying after an error.
      if (filter.failed) query = query.where((eb) => eb.or([eb('status', '=', 'dead'), eb.and([eb('status', '=', 'pending'), eb('attempts', '>', 0)])]));
      if (filter.limit !== undefined) query = query.limit(filter.limit).offset(filter.offset ?? 0);
      return (await query.execute()).map(toMessage);
    },
    async stats() {
      const rows = await db
        .selectFrom('outbox')
        .select(['destination', 'status', (eb) => eb.fn.countAll().as('n'), (eb) => eb.fn.min('created_at').as('oldest')])
        .where('status', 'in', ['pending', 'dead'])
        .groupBy(['destination', 'status'])
        .orderBy('destination')
        .execute();
      return rows.map((r) => ({ destination: r.destination, status: r.status as 'pending' | 'dead', count: Number(r.n), oldestCreatedAt: String(r.oldest) }));
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
