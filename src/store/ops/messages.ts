import { sql } from 'kysely';
import type { InboxRecord, NewOutboxMessage, OutboxMessage, StoredSnapshot, StoreOps } from '../store.ts';
import type { OpsContext } from './context.ts';

let lastSeq = 0;
/** Increasing within a process; ties across replicas are harmless (receivers apply each message once). */
function nextSeq(): number {
  lastSeq = Math.max(lastSeq + 1, Date.now() * 1000);
  return lastSeq;
}

export function outboxOps({ db, clock, dialect }: OpsContext): StoreOps['outbox'] {
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
    claimedBy: (r.claimed_by as string | null) ?? null,
    leaseUntil: r.lease_until === null || r.lease_until === undefined ? null : Number(r.lease_until),
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
          claimed_by: null,
          lease_until: null,
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
    /**
     * Claims the due heads for `claimant` until `now + leaseMs`, in one statement: a head that
     * another replica holds under a lease not yet run out is not taken, nor anything queued
     * behind it (an earlier message of its queue is still pending). On PostgreSQL the rows are
     * locked with FOR UPDATE SKIP LOCKED, so two replicas claiming at once take disjoint sets;
     * SQLite runs one statement at a time anyway (one process per database file is the rule).
     */
    async claim(claimant: string, now: number, leaseMs: number, limit: number): Promise<OutboxMessage[]> {
      const lock = dialect === 'postgres' ? sql`for update skip locked` : sql``;
      const result = await sql<Record<string, unknown>>`
        update outbox set claimed_by = ${claimant}, lease_until = ${now + leaseMs}
        where id in (
          select o.id from outbox o
          where o.status = 'pending' and o.next_attempt_at <= ${now}
            and (o.lease_until is null or o.lease_until <= ${now})
            and not exists (
              select 1 from outbox e
              where e.status = 'pending' and e.destination = o.destination and e.conversation = o.conversation and e.seq < o.seq
            )
          order by o.seq
          limit ${limit}
          ${lock}
        )
        returning *`.execute(db);
      return result.rows.sort((a, b) => Number(a.seq) - Number(b.seq)).map(toMessage);
    },
    async release(ids: readonly string[], claimant: string): Promise<void> {
      if (ids.length === 0) return;
      await db.updateTable('outbox').set({ claimed_by: null, lease_until: null }).where('id', 'in', [...ids]).where('claimed_by', '=', claimant).where('status', '=', 'pending').execute();
    },
    async releaseOthers(claimant: string): Promise<number> {
      const result = await db
        .updateTable('outbox')
        .set({ claimed_by: null, lease_until: null })
        .where('status', '=', 'pending')
        .where('claimed_by', 'is not', null)
        .where('claimed_by', '!=', claimant)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
    async markDelivered(id: string, claimant?: string): Promise<boolean> {
      let query = db.updateTable('outbox').set({ status: 'delivered', delivered_at: clock().toISOString(), last_error: null, claimed_by: null, lease_until: null }).where('id', '=', id);
      if (claimant !== undefined) query = query.where('claimed_by', '=', claimant).where('status', '=', 'pending');
      return Number((await query.executeTakeFirst()).numUpdatedRows) > 0;
    },
    async markFailed(id: string, error: string, nextAttemptAt: number, dead: boolean, claimant?: string): Promise<boolean> {
      let query = db
        .updateTable('outbox')
        .set({ attempts: sql`attempts + 1`, last_error: error.slice(0, 500), next_attempt_at: nextAttemptAt, status: dead ? 'dead' : 'pending', claimed_by: null, lease_until: null })
        .where('id', '=', id);
      // A replica whose lease ran out must not undo what the one that took over recorded.
      if (claimant !== undefined) query = query.where('claimed_by', '=', claimant).where('status', '=', 'pending');
      return Number((await query.executeTakeFirst()).numUpdatedRows) > 0;
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

export function leasesOps({ db }: OpsContext): StoreOps['leases'] {
  return {
    async acquire(name: string, holder: string, now: number, ttlMs: number): Promise<boolean> {
      // One statement: insert, take over a lease that ran out, or renew our own; a lease another
      // holder still holds is left as it is and nothing is returned.
      const result = await sql<{ holder: string }>`
        insert into node_leases (name, holder, "until") values (${name}, ${holder}, ${now + ttlMs})
        on conflict (name) do update set holder = excluded.holder, "until" = excluded."until"
        where node_leases."until" <= ${now} or node_leases.holder = excluded.holder
        returning holder`.execute(db);
      return result.rows.length === 1 && result.rows[0]!.holder === holder;
    },
    async release(name: string, holder: string): Promise<void> {
      await db.deleteFrom('node_leases').where('name', '=', name).where('holder', '=', holder).execute();
    },
    async get(name: string) {
      const row = await db.selectFrom('node_leases').selectAll().where('name', '=', name).executeTakeFirst();
      return row ? { holder: row.holder, until: Number(row.until) } : undefined;
    },
  };
}

export function directorySnapshotsOps({ db, dialect }: OpsContext): StoreOps['directorySnapshots'] {
  const toSnapshot = (r: { version: number | string; content_hash: string; jws: string; issued_at: number | string }): StoredSnapshot => ({
    version: Number(r.version),
    contentHash: r.content_hash,
    jws: r.jws,
    issuedAt: Number(r.issued_at),
  });
  return {
    async lock(): Promise<void> {
      // SQLite transactions are serialised already (BEGIN IMMEDIATE); on PostgreSQL one key per
      // hub (its schema), like the audit chain's.
      if (dialect === 'postgres') await sql`select pg_advisory_xact_lock(7020103, hashtext(current_schema()))`.execute(db);
    },
    async latest() {
      const row = await db.selectFrom('directory_snapshots').selectAll().orderBy('version', 'desc').limit(1).executeTakeFirst();
      return row ? toSnapshot(row) : undefined;
    },
    async latestVersion() {
      const row = await db.selectFrom('directory_snapshots').select('version').orderBy('version', 'desc').limit(1).executeTakeFirst();
      return row ? Number(row.version) : undefined;
    },
    async add(snapshot: StoredSnapshot): Promise<void> {
      await db.insertInto('directory_snapshots').values({ version: snapshot.version, content_hash: snapshot.contentHash, jws: snapshot.jws, issued_at: snapshot.issuedAt }).execute();
    },
    async prune(belowVersion: number): Promise<void> {
      await db.deleteFrom('directory_snapshots').where('version', '<', belowVersion).execute();
    },
  };
}

export function loginFailuresOps({ db }: OpsContext): StoreOps['loginFailures'] {
  return {
    async attempt(loginHash: string, now: number, windowMs: number, max: number): Promise<boolean> {
      // One statement, so attempts at several replicas at once are each counted and checked.
      const ended = now - windowMs;
      const result = await sql<{ count: number }>`
        insert into login_failures (login_hash, count, since) values (${loginHash}, 1, ${now})
        on conflict (login_hash) do update set
          count = case when login_failures.since <= ${ended} then 1 else login_failures.count + 1 end,
          since = case when login_failures.since <= ${ended} then ${now} else login_failures.since end
        where login_failures.since <= ${ended} or login_failures.count < ${max}
        returning count`.execute(db);
      return result.rows.length === 1;
    },
    async clear(loginHash: string): Promise<void> {
      await db.deleteFrom('login_failures').where('login_hash', '=', loginHash).execute();
    },
    async purge(before: number): Promise<void> {
      await db.deleteFrom('login_failures').where('since', '<', before).execute();
    },
  };
}
