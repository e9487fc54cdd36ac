import type { AuditLog } from '../audit/index.ts';
import type { TrustListSource } from '../certificates/index.ts';
import type { SigningKeySource } from '../crypto/index.ts';
import type { MessageSender } from '../messaging/index.ts';
import type { Store } from '../store/index.ts';

/** What the issuing side of a node works with. */
export interface IssuerContext {
  readonly self: string;
  readonly store: Store;
  readonly audit: AuditLog;
  /** The node's audit key: holders are known by its keyed hash of their ID number (as the audit log knows them). */
  readonly auditKey: Uint8Array;
  readonly clock: () => Date;
  /** Read at each use: an approved key rotation replaces it. */
  readonly signingKey: SigningKeySource;
  /** The hub's trust list as this node knows it (runtime.certificates.trustList). */
  readonly trustList: TrustListSource;
  /** `certificate.issued` to the hub's index goes through the outbox, in the issuing transaction. */
  readonly messages: MessageSender;
  /** Indexes in a new status list (config certificates.statusListSize). */
  readonly statusListSize: number;
  /** How long verifiers may cache a served status list (config certificates.statusListTtlSeconds). */
  readonly statusListTtlSeconds: number;
}
