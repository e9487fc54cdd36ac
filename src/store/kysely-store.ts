import { Migrator, type Kysely } from 'kysely';
import type { Item } from '../catalog/index.ts';
import { Item as ItemSchema } from '../catalog/index.ts';
import { TongbanError } from '../errors/index.ts';
import { migrationProvider } from './migrations/index.ts';
import type { Database } from './schema.ts';
import type { Dialect, IdempotentResult, NodeKeyRecord, Store, StoreOps } from './store.ts';

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
  readonly #onClose: () => Promise<void>;

  constructor(options: { db: Kysely<Database>; dialect: Dialect; clock?: Clock; onClose?: () => Promise<void> }) {
    this.dialect = options.dialect;
    this.#db = options.db;
    this.#clock = options.clock ?? (() => new Date());
    this.#ops = makeOps(this.#db, this.#clock, this.dialect);
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

  async migrate(): Promise<string[]> {
    const migrator = new Migrator({ db: this.#db, provider: migrationProvider });
    const { error, results } = await migrator.migrateToLatest();
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

function makeOps(db: Kysely<Database>, clock: Clock, dialect: Dialect): StoreOps {
  return {
    settings: {
      async get<T>(key: string): Promise<T | undefined> {
        const row = await db.selectFrom('node_settings').select('value').where('key', '=', key).executeTakeFirst();
        return row ? (JSON.parse(row.value) as T) : undefined;
      },
      async put(key: string, value: unknown): Promise<void> {
        const now = clock().toISOString();
        await db
          .insertInto('node_settings')
          .values({ key, value: JSON.stringify(value), updated_at: now })
          .onConflict((oc) => oc.column('key').doUpdateSet({ value: JSON.stringify(value), updated_at: now }))
          .execute();
      },
      async all(): Promise<Record<string, unknown>> {
        const rows = await db.selectFrom('node_settings').select(['key', 'value']).orderBy('key').execute();
        return Object.fromEntries(rows.map((r) => [r.key, JSON.parse(r.value) as unknown]));
      },
    },
    keys: {
      async add(record: NodeKeyRecord): Promise<void> {
        await db
          .insertInto('node_keys')
          .values({
            kid: record.kid,
            alg: record.alg,
            public_jwk: JSON.stringify(record.publicJwk),
            status: record.status,
            created_at: record.createdAt,
          })
          .execute();
      },
      async list(): Promise<NodeKeyRecord[]> {
        const rows = await db.selectFrom('node_keys').selectAll().orderBy('created_at').orderBy('kid').execute();
        return rows.map((r) => ({
          kid: r.kid,
          alg: r.alg,
          publicJwk: JSON.parse(r.public_jwk) as Record<string, string>,
          status: r.status as NodeKeyRecord['status'],
          createdAt: r.created_at,
        }));
      },
    },
    catalogItems: {
      async add(item: Item): Promise<void> {
        try {
          await db
            .insertInto('catalog_items')
            .values({
              code: item.code,
              owner_division: item.ownerDivision ?? '',
              body: JSON.stringify(item),
              version: item.version,
              created_at: clock().toISOString(),
            })
            .execute();
        } catch (error) {
          if (isUniqueViolation(error, dialect)) {
            throw new TongbanError('ITEM_CODE_TAKEN', `The item code ${item.code} is already in the catalogue.`);
          }
          throw error;
        }
      },
      async list(): Promise<Item[]> {
        const rows = await db.selectFrom('catalog_items').select('body').orderBy('code').execute();
        // Stored rows are validated again on the way out: the database is a boundary too.
        return rows.map((r) => ItemSchema.parse(JSON.parse(r.body)));
      },
    },
  };
}

export function isUniqueViolation(error: unknown, dialect: Dialect): boolean {
  if (typeof error !== 'object' || error === null || !('code' in error)) return false;
  const code = (error as { code: unknown }).code;
  return dialect === 'postgres' ? code === '23505' : code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}
