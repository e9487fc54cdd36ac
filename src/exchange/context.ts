import type { AgreementStateSource } from '../agreements/index.ts';
import type { AuditLog } from '../audit/index.ts';
import type { EncryptionKey, SigningKeySource } from '../crypto/index.ts';
import type { DirectoryView } from '../directory/snapshot.ts';
import type { ServiceRegistry } from '../services/index.ts';
import type { Store, StoreOps } from '../store/index.ts';

/** Where a node gets the directory it may rely on now; throws DIRECTORY_EXPIRED when it may not. */
export interface DirectorySource {
  current(): Promise<DirectoryView>;
}

/** Everything the exchange needs from the node it runs in. */
export interface ExchangeContext {
  readonly self: string;
  /** Read at each use: it changes when a key rotation is approved. */
  readonly signingKey: SigningKeySource;
  readonly encryptionKey: EncryptionKey;
  readonly directory: DirectorySource;
  readonly services: ServiceRegistry;
  readonly audit: AuditLog;
  /** Key for the keyed hashes of subjects in the audit log. */
  readonly auditKey: Uint8Array;
  readonly store: Store;
  readonly clock: () => Date;
  /** A consent may be relied on at most this many days after its grant (default 90). */
  readonly consentMaxDays?: number;
  /** Where each agreement's lifecycle stands here: a suspended or terminated agreement is refused at the next request. */
  readonly agreementStates?: AgreementStateSource;
  /**
   * Provider: where the new use count of a consent goes (the messaging outbox, to the hub): queued
   * in the transaction that counts the use, sent once it committed.
   */
  readonly consentReports?: {
    send(tx: StoreOps, message: { destination: string; kind: string; conversation: string; payload: unknown }): Promise<string>;
    kick(): void;
  };
  /** Peer calls give up after this long. */
  readonly peerTimeoutMs?: number;
}

/** A JSON answer before it is signed and sent. */
export interface Outcome {
  readonly status: number;
  readonly body: unknown;
}
