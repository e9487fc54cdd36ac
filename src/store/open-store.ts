import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type PgModule from 'pg';
import { createHash } from 'node:crypto';
import { CompiledQuery, Kysely, sql, SqliteDialect, SqliteDriver, type DatabaseConnection, type Driver } from 'kysely';
import { TongbanError } from '../errors/index.ts';
import { KyselyStore, type Clock } from './kysely-store.ts';
import type { Database } from './schema.ts';
import type { Store, StoreNotifications } from './store.ts';
import { NodeSchemaPostgresDialect } from './schema-introspector.ts';
import { storeUnavailable } from './unavailable.ts';

export interface OpenStoreOptions {
  /**
   * `postgres://…` or `postgresql://…` (an optional `?schema=name` keeps one node's tables
   * in its own schema), `sqlite:<path>`, a plain file path, or `:memory:`.
   */
  readonly url: string;
  readonly clock?: Clock;
  /** PostgreSQL pool size per node process. */
  readonly poolSize?: number;
  /**
   * The database must already hold a node (set up by `tongban init`): an empty file or schema
   * is refused instead of silently becoming a new node with a new audit chain.
   */
  readonly mustExist?: boolean;
}

/** Opens a store by URL and applies pending migrations. Errors name the database. */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const where = describeDatabase(options.url);
  let store: KyselyStore;
  try {
    store = /^postgres(ql)?:\/\//.test(options.url) ? await openPostgres(options) : openSqlite(options);
  } catch (error) {
    throw databaseError(error, where);
  }
  try {
    if (options.mustExist && !(await store.migrated())) {
      throw new TongbanError(
        'DATABASE_INVALID',
        `The database ${where} is empty, but this node was set up with it (its keys exist): it was emptied, truncated or replaced. ` +
          'Restore it from a backup; starting on an empty database would begin a new audit chain. To set up a new node, run "tongban init" in a new folder.',
      );
    }
    await store.migrate();
  } catch (error) {
    await store.close().catch(() => {});
    throw databaseError(error, where);
  }
  return store;
}

export interface OpenReadStoreOptions {
  /** `postgres://…` of a read replica of the primary (optionally `?schema=name`; the primary's schema when absent). */
  readonly url: string;
  /** The primary's URL: its schema is the replica's when the read URL names none. */
  readonly primaryUrl: string;
  readonly clock?: Clock;
  readonly poolSize?: number;
}

/**
 * A second store on a PostgreSQL read replica, for the read-heavy queries (the tracker, the
 * dashboards). Every session on it is read-only (`default_transaction_read_only`), so a write
 * routed there by mistake fails instead of landing on a replica (where it would fail anyway) or,
 * pointed at the primary, going around the node's locks. It migrates nothing and listens to
 * nothing; its connections are named `tongban-read` (unless the URL names them) so they can be
 * told apart in pg_stat_activity.
 */
export async function openReadStore(options: OpenReadStoreOptions): Promise<Store> {
  const where = describeDatabase(options.url);
  const url = new URL(options.url);
  if (!url.searchParams.has('schema')) {
    const schema = /^postgres(ql)?:\/\//.test(options.primaryUrl) ? new URL(options.primaryUrl).searchParams.get('schema') : null;
    if (schema) url.searchParams.set('schema', schema);
  }
  let store: KyselyStore;
  try {
    store = await openPostgres({ url: url.toString(), ...(options.clock ? { clock: options.clock } : {}), ...(options.poolSize ? { poolSize: options.poolSize } : {}) }, { readOnly: true });
  } catch (error) {
    throw databaseError(error, where);
  }
  try {
    // A replica of this node's database holds its tables (it may lag, never lack them).
    if (!(await store.migrated())) {
      throw new TongbanError('DATABASE_INVALID', `The read database ${where} holds no Tongban tables: it must be a replica of this node's database.`);
    }
  } catch (error) {
    await store.close().catch(() => {});
    throw databaseError(error, where);
  }
  return store;
}

/** The database as an operator would look for it: the file, or the server and schema (no password). */
export function describeDatabase(url: string): string {
  if (!/^postgres(ql)?:\/\//.test(url)) return `file ${url.replace(/^sqlite:(\/\/)?/, '')}`;
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema');
  parsed.searchParams.delete('schema');
  return `${redact(parsed)}${schema ? ` (schema ${schema})` : ''}`;
}

/** An outage stays STORE_UNAVAILABLE (retry later); anything else means the database itself is unusable. */
function databaseError(error: unknown, where: string): TongbanError {
  if (error instanceof TongbanError && error.code !== 'STORE_UNAVAILABLE') return error;
  const cause = error instanceof TongbanError && error.cause !== undefined ? error.cause : error;
  const reason = cause instanceof Error ? cause.message : String(cause);
  if (storeUnavailable(cause) || (error instanceof TongbanError && cause === error)) {
    return new TongbanError('STORE_UNAVAILABLE', `The database ${where} is not available: ${reason}`, { cause });
  }
  return new TongbanError('DATABASE_INVALID', `The database ${where} cannot be opened or migrated (${reason}); it may be damaged or not a Tongban database. Restore it from a backup.`, { cause });
}

function openSqlite(options: OpenStoreOptions): KyselyStore {
  const path = options.url.replace(/^sqlite:(\/\/)?/, '');
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const database = new BetterSqlite3(path);
  // WAL lets readers go on while one writer commits; NORMAL sync is durable across process
  // crashes (only an OS crash can lose the last commits), the usual trade-off for WAL.
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  cacheStatements(database);
  const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database }) });
  return new KyselyStore({ db, dialect: 'sqlite', clock: options.clock });
}

/**
 * Kysely prepares every query afresh; preparing is a measurable share of a request's cost
 * (bench profile), so prepared statements are kept, keyed by their SQL text. The set of texts
 * is small and bounded (multi-row inserts vary only up to the batch size).
 */
function cacheStatements(database: BetterSqlite3.Database): void {
  const prepare = database.prepare.bind(database);
  const cache = new Map<string, BetterSqlite3.Statement>();
  database.prepare = ((source: string) => {
    let statement = cache.get(source);
    if (!statement) {
      if (cache.size >= 1000) cache.clear();
      statement = prepare(source);
      cache.set(source, statement);
    }
    return statement;
  }) as typeof database.prepare;
}

/**
 * Every SQLite transaction starts with BEGIN IMMEDIATE: it takes the write lock up front, so
 * two processes on one file (a node and its CLI) wait for each other under busy_timeout
 * instead of failing when a read transaction tries to become a write one.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: ConstructorParameters<typeof SqliteDialect>[0];
  constructor(config: ConstructorParameters<typeof SqliteDialect>[0]) {
    super(config);
    this.#config = config;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
}

async function openPostgres(options: OpenStoreOptions, mode: { readOnly?: boolean } = {}): Promise<KyselyStore> {
  const url = new URL(options.url);
  const schema = url.searchParams.get('schema');
  url.searchParams.delete('schema');
  if (schema !== null && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new TongbanError('CONFIG_INVALID', `The schema name "${schema}" must be lower-case letters, digits and underscores.`);
  }
  // Loaded only here: a node on SQLite never carries the PostgreSQL driver (a few MB resident).
  const { default: pg } = await import('pg');
  const settings = [...(schema ? [`-c search_path=${schema}`] : []), ...(mode.readOnly ? ['-c default_transaction_read_only=on'] : [])];
  const pool = new pg.Pool({
    connectionString: url.toString(),
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: 5000,
    ...(settings.length > 0 ? { options: settings.join(' ') } : {}),
    ...(mode.readOnly && !url.searchParams.has('application_name') ? { application_name: 'tongban-read' } : {}),
  });
  // An idle client losing its connection (database restart) must not crash the node.
  pool.on('error', () => {});
  // Nor one that is checked out (held between two statements of a transaction): its
  // 'error' event would be unhandled and end the process. Its next statement fails with an
  // error the request maps to STORE_UNAVAILABLE, and the pool drops the broken client.
  pool.on('connect', (client) => client.on('error', () => {}));
  try {
    const client = await pool.connect();
    try {
      if (schema && !mode.readOnly) await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    } finally {
      client.release();
    }
  } catch (error) {
    await pool.end().catch(() => {});
    throw new TongbanError('STORE_UNAVAILABLE', `Cannot connect to PostgreSQL at ${redact(url)}.`, { cause: error });
  }
  const db = new Kysely<Database>({ dialect: new NodeSchemaPostgresDialect({ pool }) });
  if (mode.readOnly) return new KyselyStore({ db, dialect: 'postgres', clock: options.clock, ...(schema ? { schema } : {}) });
  const notifications = new PostgresNotifications(pg, url.toString(), schema, db);
  return new KyselyStore({ db, dialect: 'postgres', clock: options.clock, ...(schema ? { schema } : {}), notifications, onClose: () => notifications.close() });
}

/**
 * LISTEN/NOTIFY between the processes (replicas) of one node: the channel is derived from the
 * node's schema and the topic, so nodes sharing a database do not hear each other. Each listener
 * holds its own connection outside the pool and reconnects after a second when it drops
 * (payloads sent meanwhile are not seen: notifications are best effort).
 */
class PostgresNotifications implements StoreNotifications {
  readonly #listeners = new Set<{ stop: () => Promise<void> }>();

  constructor(
    readonly pg: typeof PgModule,
    readonly connectionString: string,
    readonly schema: string | null,
    readonly db: Kysely<Database>,
  ) {}

  channel(topic: string): string {
    return 'tongban_' + createHash('sha256').update(`${this.schema ?? ''}\n${topic}`).digest('hex').slice(0, 32);
  }

  async notify(topic: string, payload: string): Promise<void> {
    await sql`select pg_notify(${this.channel(topic)}, ${payload})`.execute(this.db);
  }

  async listen(topic: string, handler: (payload: string) => void): Promise<() => Promise<void>> {
    const channel = this.channel(topic);
    let stopped = false;
    let client: InstanceType<typeof this.pg.Client> | undefined;
    let retry: NodeJS.Timeout | undefined;
    const connect = async (): Promise<void> => {
      const next = new this.pg.Client({ connectionString: this.connectionString, connectionTimeoutMillis: 5000 });
      next.on('notification', (message) => {
        if (message.channel === channel && message.payload !== undefined) handler(message.payload);
      });
      const again = () => {
        if (stopped || client !== next) return;
        client = undefined;
        next.end().catch(() => {});
        retry = setTimeout(() => void connect().catch(again), 1000);
        retry.unref();
      };
      next.on('error', again);
      next.on('end', again);
      client = next;
      await next.connect();
      await next.query(`LISTEN ${channel}`);
    };
    await connect();
    const listener = {
      stop: async () => {
        stopped = true;
        if (retry) clearTimeout(retry);
        this.#listeners.delete(listener);
        await client?.end().catch(() => {});
      },
    };
    this.#listeners.add(listener);
    return listener.stop;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#listeners].map((l) => l.stop()));
  }
}

function redact(url: URL): string {
  const copy = new URL(url.toString());
  if (copy.password) copy.password = '***';
  return copy.toString();
}
