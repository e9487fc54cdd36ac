import { Migrator, type Kysely } from 'kysely';
import { TongbanError } from '../errors/index.ts';
import { migrationProvider } from './migrations/index.ts';
import type { Database } from './schema.ts';
import { makeOps } from './ops/index.ts';
import { isUniqueViolation } from './ops/context.ts';
import { batchedNonces } from './ops/federation.ts';
import type { Dialect, IdempotentResult, Store, StoreNotifications, StoreOps } from './store.ts';

export type Clock = () => Date;

/**
 * One implementation of the store over Kysely; the dialect decides whether it talks to
 * SQLite or PostgreSQL. Dialect differences are confined to error detection below.
 */
export class KyselyStore implements Store {
  readonly dialect: Dialect;
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #ops: StoreOps;
  readonly #nonces: StoreOps['nonces'];
  readonly #onClose: () => Promise<void>;
  readonly #schema: string | undefined;
  readonly notifications: StoreNotifications | undefined;

  constructor(options: { db: Kysely<Database>; dialect: Dialect; clock?: Clock; onClose?: () => Promise<void>; schema?: string; notifications?: StoreNotifications }) {
    this.#schema = options.schema;
    this.notifications = options.notifications;
    this.dialect = options.dialect;
    this.#db = options.db;
    this.#clock = options.clock ?? (() => new Date());
    this.#ops = makeOps(this.#db, this.#clock, this.dialect);
    // Outside transactions the replay cache is written in groups (one commit per batch).
    this.#nonces = batchedNonces({ db: this.#db, clock: this.#clock, dialect: this.dialect }, this.#ops.nonces);
    this.#onClose = options.onClose ?? (async () => {});
  }

  get settings() {
    return this.#ops.settings;
  }
  get keys() {
    return this.#ops.keys;
  }
  get catalogItems() {
    return this.#ops.catalogItems;
  }
  get directory() {
    return this.#ops.directory;
  }
  get agreements() {
    return this.#ops.agreements;
  }
  get agreementStates() {
    return this.#ops.agreementStates;
  }
  get audit() {
    return this.#ops.audit;
  }
  get checkpoints() {
    return this.#ops.checkpoints;
  }
  get incidents() {
    return this.#ops.incidents;
  }
  get nonces() {
    return this.#nonces;
  }
  get cases() {
    return this.#ops.cases;
  }
  get caseMessages() {
    return this.#ops.caseMessages;
  }
  get outbox() {
    return this.#ops.outbox;
  }
  get inbox() {
    return this.#ops.inbox;
  }
  get leases() {
    return this.#ops.leases;
  }
  get directorySnapshots() {
    return this.#ops.directorySnapshots;
  }
  get loginFailures() {
    return this.#ops.loginFailures;
  }
  get adminGrants() {
    return this.#ops.adminGrants;
  }
  get machineClients() {
    return this.#ops.machineClients;
  }
  get loginStates() {
    return this.#ops.loginStates;
  }
  get sessions() {
    return this.#ops.sessions;
  }
  get negotiations() {
    return this.#ops.negotiations;
  }
  get acceptances() {
    return this.#ops.acceptances;
  }
  get people() {
    return this.#ops.people;
  }
  get oidcPayloads() {
    return this.#ops.oidcPayloads;
  }
  get consents() {
    return this.#ops.consents;
  }
  get consentUses() {
    return this.#ops.consentUses;
  }
  get statusListCache() {
    return this.#ops.statusListCache;
  }
  get certificateChallenges() {
    return this.#ops.certificateChallenges;
  }
  get certificates() {
    return this.#ops.certificates;
  }
  get statusLists() {
    return this.#ops.statusLists;
  }
  get certificateIssuers() {
    return this.#ops.certificateIssuers;
  }
  get certificateIndex() {
    return this.#ops.certificateIndex;
  }
  get governance() {
    return this.#ops.governance;
  }

  #migrator(): Migrator {
    // Several nodes may share one PostgreSQL database in separate schemas: the migrator must
    // look for its bookkeeping tables in this node's schema, not wherever it finds them first.
    return new Migrator({
      db: this.#db,
      provider: migrationProvider,
      ...(this.#schema ? { migrationTableSchema: this.#schema } : {}),
    });
  }

  /** Whether any migration ever ran here (false for an empty file or schema); changes nothing. */
  async migrated(): Promise<boolean> {
    return (await this.#migrator().getMigrations()).some((m) => m.executedAt !== undefined);
  }

  async migrate(): Promise<string[]> {
    const { error, results } = await this.#migrator().migrateToLatest();
    if (error) throw new TongbanError('STORE_UNAVAILABLE', 'Database migration failed.', { cause: error });
    return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  }

  transaction<T>(fn: (tx: StoreOps) => Promise<T>): Promise<T> {
    return this.#db.transaction().execute((trx) => fn(makeOps(trx, this.#clock, this.dialect)));
  }

  async idempotent<T>(
    scope: string,
    key: string,
    requestHash: string,
    fn: (tx: StoreOps) => Promise<T>,
  ): Promise<IdempotentResult<T>> {
    const attempt = () =>
      this.#db.transaction().execute(async (trx): Promise<IdempotentResult<T>> => {
        const existing = await trx
          .selectFrom('idempotency_records')
          .select(['request_hash', 'response'])
          .where('scope', '=', scope)
          .where('key', '=', key)
          .executeTakeFirst();
        if (existing) return replay<T>(existing, requestHash, scope, key);
        const result = await fn(makeOps(trx, this.#clock, this.dialect));
        await trx
          .insertInto('idempotency_records')
          .values({
            scope,
            key,
            request_hash: requestHash,
            response: JSON.stringify(result ?? null),
            created_at: this.#clock().toISOString(),
          })
          .execute();
        return { result, replayed: false };
      });
    try {
      return await attempt();
    } catch (error) {
      // A concurrent caller committed the same key first: our transaction rolled back whole,
      // so nothing was applied twice; answer with what the winner stored.
      if (isUniqueViolation(error, this.dialect)) return attempt();
      throw error;
    }
  }

  async ping(): Promise<void> {
    try {
      await this.#db.selectFrom('node_settings').select('key').limit(1).execute();
    } catch (error) {
      throw new TongbanError('STORE_UNAVAILABLE', 'The database does not answer.', { cause: error });
    }
  }

  async close(): Promise<void> {
    await this.#db.destroy();
    await this.#onClose();
  }
}

function replay<T>(
  existing: { request_hash: string; response: string },
  requestHash: string,
  scope: string,
  key: string,
): IdempotentResult<T> {
  if (existing.request_hash !== requestHash) {
    throw new TongbanError(
      'IDEMPOTENCY_KEY_REUSED',
      `The idempotency key ${key} was already used in ${scope} for a different request.`,
    );
  }
  return { result: JSON.parse(existing.response) as T, replayed: true };
}
