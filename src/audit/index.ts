export { AuditEvent, AuditEntrySchema, AuditDetail, AuditActor, operatorActor, GENESIS_HASH, chainEntries, entryHash, subjectHash, type AuditEntry } from './entry.ts';
export { verifyChain, type Checkpoint, type ChainVerdict } from './verify.ts';
export { AuditLog } from './audit-log.ts';
export { auditPages, checkpointPages } from './pages.ts';
export { judgeCheckpoint, witnessCheckpoint, type CheckpointClaim, type WitnessVerdict } from './witness.ts';
