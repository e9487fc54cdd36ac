import type { AuditLog } from '../audit/index.ts';
import type { TrustList } from '../certificates/index.ts';
import type { SigningKeySource } from '../crypto/index.ts';
import type { MessageSender } from '../messaging/index.ts';
import type { Store } from '../store/index.ts';

/** Where the issuer reads the hub's trust list (runtime.certificates.trustList). */
export interface TrustListSource {
  /** The last valid list; TRUST_LIST_UNAVAILABLE when there is none. */
  current(): Promise<TrustList>;
  /** Fetches it again now (after a key rotation the cached list may not list the new key yet). */
  refresh?(): Promise<unknown>;
}

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
  readonly trustList: TrustListSource;
  /** `certificate.issued` to the hub's index goes through the outbox, in the issuing transaction. */
  readonly messages: MessageSender;
  /** Indexes in a new status list (config certificates.statusListSize). */
  readonly statusListSize: number;
  /** How long verifiers may cache a served status list (config certificates.statusListTtlSeconds). */
  readonly statusListTtlSeconds: number;
}
