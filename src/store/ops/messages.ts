import { sql } from 'kysely';
import type { InboxRecord, NewOutboxMessage, OutboxMessage, StoreOps } from '../store.ts';
import type { OpsContext } from './context.ts';

let lastSeq = 0;
/** Increasing within a process; ties across replicas are harmless (receivers apply each message once). */
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
    conversation: (r.conversation as string | null) ?? null,
    via: (r.via as OutboxMessage['via']) ?? null,
  });
  return {
    async enqueue(message: NewOutboxMessage): Promise<void> {
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
          conversation: message.conversation,
          via: message.via ?? null,
        })
        .execute();
    },
    /**
     * The head of each (destination, conversation) queue, when it is due. A message waits behind
     * an earlier pending one of the same conversation to the same node only, so a message that
     * keeps failing holds up nothing else.
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
                .whereRef('e.conversation', '=', 'o.conversation')
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

export function inboxOps({ db }: OpsContext): StoreOps['inbox'] {
  return {
    async get(sender: string, id: string): Promise<InboxRecord | undefined> {
      const r = await db.selectFrom('inbox_messages').selectAll().where('sender', '=', sender).where('id', '=', id).executeTakeFirst();
      if (!r) return undefined;
      return { sender: r.sender, id: r.id, kind: r.kind, conversation: r.conversation, requestHash: r.request_hash, result: r.result === 'stale' ? 'stale' : 'applied', receivedAt: r.received_at };
    },
    async add(record: InboxRecord): Promise<void> {
      await db
        .insertInto('inbox_messages')
        .values({
          sender: record.sender,
          id: record.id,
          kind: record.kind,
          conversation: record.conversation,
          request_hash: record.requestHash,
          result: record.result,
          received_at: record.receivedAt,
        })
        .execute();
    },
  };
}
