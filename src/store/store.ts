import type { Item } from '../catalog/index.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface NodeKeyRecord {
  readonly kid: string;
  readonly alg: string;
  readonly publicJwk: Readonly<Record<string, string>>;
  readonly status: 'active' | 'retired';
  readonly createdAt: string;
}

/** What a caller gets back from an idempotent write: the first result, however often it asks. */
export interface IdempotentResult<T> {
  readonly result: T;
  /** True when this key had already been applied and the stored result was returned. */
  readonly replayed: boolean;
}

/** Repositories usable inside and outside a transaction. */
export interface StoreOps {
  readonly settings: {
    get<T = unknown>(key: string): Promise<T | undefined>;
    put(key: string, value: unknown): Promise<void>;
    all(): Promise<Record<string, unknown>>;
  };
  readonly keys: {
    add(record: NodeKeyRecord): Promise<void>;
    list(): Promise<NodeKeyRecord[]>;
  };
  readonly catalogItems: {
    /** Adds a local item; ITEM_CODE_TAKEN when its code is in use. */
    add(item: Item): Promise<void>;
    list(): Promise<Item[]>;
  };
}

/**
 * The storage interface every node uses. Two implementations (SQLite, PostgreSQL) pass one
 * contract suite (test/store-contract.ts).
 */
export interface Store extends StoreOps {
  readonly dialect: Dialect;
  /** Applies pending shared migrations; returns the names applied now. */
  migrate(): Promise<string[]>;
  /** Runs `fn` in one transaction: everything it wrote commits together or not at all. */
  transaction<T>(fn: (tx: StoreOps) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` at most once per (scope, key). A repeat with the same request hash returns the
   * stored result without running `fn`; a repeat with a different hash is refused with
   * IDEMPOTENCY_KEY_REUSED. `fn`'s writes and the record commit in one transaction.
   */
  idempotent<T>(scope: string, key: string, requestHash: string, fn: (tx: StoreOps) => Promise<T>): Promise<IdempotentResult<T>>;
  /** Round trip to the database; STORE_UNAVAILABLE when it does not answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
