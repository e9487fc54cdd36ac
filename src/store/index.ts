export type { Store, StoreNotifications, StoreOps, Dialect, NodeKeyRecord, IdempotentResult, DirectoryNodeRecord, DirectoryChangeRecord, StoredCheckpoint, AuditIncident, OutboxMessage, NewOutboxMessage, InboxRecord, StoredSnapshot, PersonRecord, OidcPayloadRecord, MachineClientRecord, AdminGrantRecord, LoginStateRecord, SessionRecord, ConsentRecord, ConsentUseRecord, CertificateIssuerRecord, CertificateIssuerKeyRecord, CertificateIndexRecord, CertificateRecord, StatusListRecord, HealthProbe, CaseFlow, AuditFinding } from './store.ts';
export { describeDatabase, openReadStore, openStore, type OpenReadStoreOptions, type OpenStoreOptions } from './open-store.ts';
export { KyselyStore, type Clock } from './kysely-store.ts';
export { isUniqueViolation } from './ops/context.ts';
export { migrations } from './migrations/index.ts';
export { storeUnavailable } from './unavailable.ts';
