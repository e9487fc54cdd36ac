import { Case as CaseSchema, ThreadMessage as ThreadMessageSchema, participantsOf, type Case, type ThreadMessage } from '../../cases/model.ts';
import { sql } from 'kysely';
import type { CaseFilter, StoreOps } from '../store.ts';
import { competentKey } from '../migrations/020-governance.ts';
import { isUniqueViolation, type OpsContext } from './context.ts';

export function casesOps({ db }: OpsContext): StoreOps['cases'] {
  /** The filter as SQL; participants through their table, states and applicant on indexed columns. */
  const filtered = (filter: CaseFilter) => {
    let query = db.selectFrom('cases');
    if (filter.participant) {
      query = query.innerJoin('case_participants', 'case_participants.case_id', 'cases.id').where('case_participants.node', '=', filter.participant);
    }
    if (filter.competent) {
      query = query.innerJoin('case_competent_nodes', 'case_competent_nodes.case_id', 'cases.id').where('case_competent_nodes.node', '=', filter.competent);
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
      const changes = { version: c.version, state: c.state, accepting_node: c.acceptingNode, applicant_id: c.applicant.idNumber, body: JSON.stringify(c), updated_at: c.updatedAt, mode: c.mode, competent: competentKey(c.competentNodes) };
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
      for (const node of new Set(c.competentNodes)) {
        await db.insertInto('case_competent_nodes').values({ case_id: c.id, node }).onConflict((oc) => oc.doNothing()).execute();
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
    async get(id: string): Promise<ThreadMessage | undefined> {
      const row = await db.selectFrom('case_messages').select('body').where('id', '=', id).executeTakeFirst();
      return row ? ThreadMessageSchema.parse(JSON.parse(row.body)) : undefined;
    },
  };
}
