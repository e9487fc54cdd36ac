export type { Store, StoreOps, Dialect, NodeKeyRecord, IdempotentResult } from './store.ts';
export { openStore, type OpenStoreOptions } from './open-store.ts';
export { KyselyStore, isUniqueViolation, type Clock } from './kysely-store.ts';
export { migrations } from './migrations/index.ts';
