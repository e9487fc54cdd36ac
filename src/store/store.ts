import type { SignedAgreement } from '../agreements/index.ts';
import type { AuditEntry } from '../audit/entry.ts';
import type { Case, ThreadMessage } from '../cases/model.ts';
import type { Item } from '../catalog/index.ts';
import type { PublicJwk } from '../crypto/index.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface NodeKeyRecord {
  readonly kid: string;
  readonly alg: string;
  readonly publicJwk: Readonly<Record<string, string>>;
  /** pending: asked for in a rotation the hub has not approved; rejected: refused by the hub administrator. */
  readonly status: 'active' | 'retired' | 'pending' | 'rejected';
  readonly createdAt: string;
}

/** What a caller gets back from an idempotent write: the first result, however often it asks. */
export interface IdempotentResult<T> {
  readonly result: T;
  /** True when this key had already been applied and the stored result was returned. */
  readonly replayed: boolean;
}

/** A node as the hub's directory knows it. */
export interface DirectoryNodeRecord {
  readonly division: string;
  readonly name: string;
  readonly role: 'node' | 'hub';
  readonly endpoint: string;
  readonly signingKey: { readonly kid: string; readonly jwk: PublicJwk };
  readonly encryptionKey: { readonly kid: string; readonly jwk: Readonly<Record<string, string>> };
  readonly services: readonly { readonly id: string; readonly fields: readonly string[]; readonly subject: string }[];
  /** Signing keys replaced by approved rotations (newest first), valid for messages until `validUntil`. */
  readonly previousKeys?: readonly { readonly kid: string; readonly jwk: PublicJwk; readonly validUntil: string }[];
  /** pending = requested; revoked: kept so the division cannot enrol afresh until the administrator removes it. */
  readonly status: 'pending' | 'approved' | 'suspended' | 'revoked';
  readonly enrolledAt: string;
  readonly decidedAt: string | null;
  readonly decidedBy: string | null;
}

/**
 * A change to an approved node's entry waiting for the hub administrator: `update` (a new
 * endpoint or encryption key, signed with the node's current key) or `rotation` (a new signing
 * key, signed with the current key and proven by the new one).
 */
export interface DirectoryChangeRecord {
  readonly division: string;
  readonly kind: 'update' | 'rotation';
  /** The entry as it will be published once approved (without previousKeys). */
  readonly entry: Omit<DirectoryNodeRecord, 'status' | 'enrolledAt' | 'decidedAt' | 'decidedBy' | 'previousKeys'>;
  /** Rotation only: how long the replaced key stays valid for messages after approval. */
  readonly overlapSeconds: number | null;
  readonly requestedAt: string;
}

/** One recorded agreement state change: the party's signed JWS and, for listings, what it says. */
export interface StoredStateChange {
  readonly agreementId: string;
  readonly seq: number;
  readonly action: string;
  /** The state it leads to. */
  readonly state: string;
  readonly party: string;
  readonly actor: string;
  readonly reason: string;
  readonly at: string;
  readonly jws: string;
  /** When this node recorded it. */
  readonly recordedAt: string;
}

export interface StoredCheckpoint {
  readonly division: string;
  readonly seq: number;
  readonly hash: string;
  readonly at: string;
  readonly jws: string;
}

/** A checkpoint the hub refused because it contradicts what it witnessed before. */
export interface AuditIncident {
  /** Order of recording at this hub (the paging cursor). */
  readonly seq: number;
  readonly division: string;
  /** `conflict`: same sequence number, another hash; `backwards`: below the highest witnessed. */
  readonly kind: 'conflict' | 'backwards';
  readonly claimedSeq: number;
  readonly claimedHash: string;
  /** The witnessed checkpoint it contradicts. */
  readonly witnessedSeq: number;
  readonly witnessedHash: string;
  /** The offending signed checkpoint, as evidence. */
  readonly jws: string;
  readonly at: string;
}

export interface OutboxMessage {
  readonly id: string;
  readonly destination: string;
  readonly kind: string;
  readonly payload: unknown;
  readonly status: 'pending' | 'delivered' | 'dead';
  readonly attempts: number;
  readonly nextAttemptAt: number;
  readonly createdAt: string;
  readonly deliveredAt: string | null;
  readonly lastError: string | null;
  /** What the message is about, e.g. `case:<id>` or `agreement:<id>` (order is kept per destination and conversation). */
  readonly conversation: string | null;
  /** `hub`: through the hub's relay; `bridge`: straight to the destination; null: decided at delivery. */
  readonly via: 'bridge' | 'hub' | null;
  /** The replica delivering it under a lease until `leaseUntil` (ms since the epoch), if any. */
  readonly claimedBy: string | null;
  readonly leaseUntil: number | null;
}

/** A directory snapshot the hub published: `contentHash` covers what it publishes, not its times. */
export interface StoredSnapshot {
  readonly version: number;
  readonly contentHash: string;
  readonly jws: string;
  /** Milliseconds since the epoch. */
  readonly issuedAt: number;
}

/** A message to enqueue: delivered to `destination` in order after earlier ones of its conversation. */
export interface NewOutboxMessage {
  readonly id: string;
  readonly destination: string;
  readonly kind: string;
  readonly conversation: string;
  readonly payload: unknown;
  readonly via?: 'bridge' | 'hub' | undefined;
}

/** The record that a message from `sender` was applied (exactly once per sender and id). */
export interface InboxRecord {
  readonly sender: string;
  readonly id: string;
  readonly kind: string;
  readonly conversation: string | null;
  /** SHA-256 of the message's canonical {id, kind, payload}; null for ids recorded before migration 007. */
  readonly requestHash: string | null;
  readonly result: 'applied' | 'stale';
  readonly receivedAt: string;
}

/** Which cases: those a node takes part in or decides, an applicant's own, in some states. */
export interface CaseFilter {
  readonly participant?: string;
  /** Cases this node decides (one of their competent nodes). */
  readonly competent?: string;
  readonly applicantId?: string;
  readonly states?: readonly string[];
}

/**
 * A node's machine client: a named bearer token scoped to one staff role, revocable. Role
 * `applicant` is found only on the applicant accounts of before sign-in at the hub (carried over by
 * migration 013, revoked and their ID numbers erased by migration 016); none is created any more.
 */
/** A node-local grant of the administering roles to a staff member (migration 026). */
export interface AdminGrantRecord {
  readonly login: string;
  readonly roles: readonly ('dataAdmin' | 'operator')[];
  readonly passphraseHash: string;
  /** Consecutive wrong passphrases since the grant or the last right one. */
  readonly failures: number;
  readonly grantedAt: string;
  readonly grantedBy: string;
  readonly revokedAt: string | null;
}

export interface MachineClientRecord {
  readonly id: string;
  readonly name: string;
  readonly role: 'applicant' | 'clerk' | 'approver' | 'supervisor' | 'dataAdmin' | 'operator';
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

/** A sign-in at the hub under way: what the callback must find again (the key is the state's SHA-256). */
export interface LoginStateRecord {
  readonly stateHash: string;
  readonly codeVerifier: string;
  readonly nonce: string;
  readonly returnTo: string;
  readonly expiresAt: number;
}

/** A node session: the cookie holds a random id, the store its SHA-256 and the person it proved. */
export interface SessionRecord {
  readonly idHash: string;
  readonly subject: string;
  /** The Person (src/identity/person.ts) as JSON; parsed by the identity domain. */
  readonly person: unknown;
  readonly createdAt: string;
  readonly idleExpiresAt: number;
  readonly expiresAt: number;
  /**
   * A citizen's hub access token, sealed by the identity domain with a key only the session's
   * cookie yields (never readable from the store alone), and its expiry (ms since the epoch).
   */
  readonly hubToken?: { readonly sealed: string; readonly expiresAt: number } | undefined;
}

/** What the store needs to know of a negotiation; the body is the domain's (src/agreements), parsed there. */
export interface StoredNegotiation {
  readonly id: string;
  readonly agreementId: string;
  readonly convener: string;
  readonly state: string;
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** The terms (by hash) this node accepted for one version of an agreement. */
export interface AcceptanceRecord {
  readonly agreementId: string;
  readonly version: number;
  readonly hash: string;
  readonly negotiationId: string | null;
  readonly acceptedAt: string;
}

/** A person who signs in at the hub (migration 010): a citizen or a staff member of one node. */
export interface PersonRecord {
  /** The OIDC `sub`. */
  readonly id: string;
  /** Citizens: their normalised resident ID number; staff: a login name. */
  readonly login: string;
  readonly kind: 'citizen' | 'staff';
  readonly name: string;
  readonly idNumber: string | null;
  /** Staff: the division code of their node. */
  readonly node: string | null;
  /** Staff: their roles (StaffRole values); citizens: none. */
  readonly roles: readonly string[];
  readonly passwordHash: string;
  readonly disabled: boolean;
  readonly createdAt: string;
}

/** One stored object of the OpenID Connect provider (session, grant, code, token, interaction…). */
export interface OidcPayloadRecord {
  readonly model: string;
  readonly id: string;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly grantId: string | null;
  readonly userCode: string | null;
  readonly uid: string | null;
  /** Epoch milliseconds; null: does not expire. */
  readonly expiresAt: number | null;
  /** Epoch milliseconds of its (single) use, for codes and tokens that are used once. */
  readonly consumedAt: number | null;
}

/** A consent the hub signed on a citizen's behalf (migration 011). */
export interface ConsentRecord {
  readonly id: string;
  /** The citizen's keyed subject hash (the hub's audit key): never the ID number in clear. */
  readonly subjectKey: string;
  readonly requester: string;
  readonly provider: string;
  /** The compact JWS. */
  readonly artefact: string;
  readonly status: 'active' | 'revoked';
  readonly expiresAt: string;
  readonly revokedAt: string | null;
  /** Uses as the provider last reported them. */
  readonly useCount: number;
  readonly lastUsedAt: string | null;
  readonly createdAt: string;
}

/** What a provider knows of one consent it served (migration 011). */
export interface ConsentUseRecord {
  readonly consentId: string;
  readonly uses: number;
  readonly lastUsedAt: string | null;
  readonly revokedAt: string | null;
}

/** An issuer's signed status list as a verifier last fetched it (migration 019). */
export interface CachedStatusList {
  readonly uri: string;
  /** The compact JWS (typ statuslist+jwt), verified before it was stored and again at each use. */
  readonly jwt: string;
  /** Epoch milliseconds. */
  readonly fetchedAt: number;
}

/** A nonce a verifier handed out for key binding (migration 019). */
export interface CertificateChallengeRecord {
  readonly nonce: string;
  /** The staff member who asked for it (their subject). */
  readonly requestedBy: string;
  readonly createdAt: string;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
}

/** An e-certificate this node issued (migration 018). */
export interface CertificateRecord {
  /** GB/T 36904 identifier (证照标识). */
  readonly id: string;
  readonly caseId: string;
  readonly vct: string;
  /** The holder's keyed subject hash (this node's audit key over their ID number): never the number in clear. */
  readonly subjectKey: string;
  /** The full issuance: issuer-signed JWT and every disclosure (the holder's to fetch). */
  readonly sdJwt: string;
  readonly statusListId: number;
  readonly statusIdx: number;
  readonly status: 'valid' | 'revoked' | 'suspended';
  readonly statusReason: string | null;
  readonly statusChangedAt: string | null;
  /** RFC 7638 thumbprint of the holder key it is bound to (cnf), once bound. */
  readonly boundThumbprint: string | null;
  readonly issuedAt: string;
  readonly expiresAt: string;
}

/** A node the hub administrator authorised to issue certificates (migration 017). */
export interface CertificateIssuerRecord {
  readonly division: string;
  /** 证照颁发机构 and its GB 32100 credit code, as certificates of this issuer name them. */
  readonly authority: string;
  readonly authorityCode: string;
  /** The certificate types (vct) it may issue. */
  readonly types: readonly string[];
  readonly authorisedAt: string;
  readonly authorisedBy: string;
  /** Set when the administrator withdrew the authorisation (the issuer leaves the trust list). */
  readonly withdrawnAt: string | null;
}

/** A key the trust list publishes for an issuer (migration 017): current until a rotation retires it. */
export interface CertificateIssuerKeyRecord {
  readonly division: string;
  readonly kid: string;
  readonly jwk: PublicJwk;
  readonly from: string;
  /** Certificates issued at or after this instant with this key are not trusted. */
  readonly retiredAt: string | null;
  /** Certificates issued before `retiredAt` verify with this key until then. */
  readonly verifyUntil: string | null;
}

/** One certificate an issuer reported to the hub (message `certificate.issued`, migration 017). */
export interface CertificateIndexRecord {
  /** GB/T 36904 identifier. */
  readonly certificateId: string;
  /** The hub's keyed hash of the holder's ID number (as for consents): never the number in clear. */
  readonly subjectKey: string;
  readonly issuer: string;
  readonly vct: string;
  readonly issuedAt: string;
  readonly expiresAt: string;
  /** The issuer's status list (its number at the issuer's endpoint) and this certificate's index in it (migration 029); null when filed before. */
  readonly status: { readonly list: number; readonly index: number } | null;
}

/** A status list of this node (migration 018): `nextIdx` of its `size` indexes are handed out. */
export interface StatusListRecord {
  readonly id: number;
  readonly size: number;
  readonly nextIdx: number;
  readonly createdAt: string;
}

/** A hub's probe of a node's /health (src/governance). */
export interface HealthProbe {
  readonly division: string;
  /** Milliseconds since the epoch. */
  readonly at: number;
  readonly ok: boolean;
  /** The HTTP status, null when nothing answered. */
  readonly status: number | null;
  readonly latencyMs: number | null;
}

/** Cases per accepting node, competent nodes (sorted, ','-joined), mode and state. */
export interface CaseFlow {
  readonly accepting: string;
  readonly competent: string;
  readonly mode: string;
  readonly state: string;
  readonly cases: number;
}

/** Audit entries refused or in error, counted per kind, code and parties. */
export interface AuditFinding {
  readonly kind: string;
  readonly code: string | null;
  readonly requester: string | null;
  readonly provider: string | null;
  readonly service: string | null;
  readonly count: number;
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
    /** Changes a recorded key's status (key rotations); false when the kid is not recorded. */
    setStatus(kid: string, status: NodeKeyRecord['status']): Promise<boolean>;
  };
  readonly catalogItems: {
    /** Adds a local item; ITEM_CODE_TAKEN when its code is in use. */
    add(item: Item): Promise<void>;
    list(): Promise<Item[]>;
  };
  readonly directory: {
    upsert(record: DirectoryNodeRecord): Promise<void>;
    get(division: string): Promise<DirectoryNodeRecord | undefined>;
    list(): Promise<DirectoryNodeRecord[]>;
    /** Removes a node's entry (and any change request of it); false when there was none. */
    remove(division: string): Promise<boolean>;
    /** Stores a change request, replacing the division's pending one. */
    putChange(change: DirectoryChangeRecord): Promise<void>;
    getChange(division: string): Promise<DirectoryChangeRecord | undefined>;
    listChanges(): Promise<DirectoryChangeRecord[]>;
    removeChange(division: string): Promise<boolean>;
  };
  readonly agreements: {
    /** Stores a signed agreement version; false when that id and version are already there. */
    put(signed: SignedAgreement): Promise<boolean>;
    /** The newest version of every agreement. */
    latest(): Promise<SignedAgreement[]>;
    get(id: string): Promise<SignedAgreement | undefined>;
  };
  readonly agreementStates: {
    /** Records a state change; false when that agreement already has a change with this seq (a replay or a fork). */
    add(change: StoredStateChange): Promise<boolean>;
    /** The changes of one agreement (or of all), by agreement and seq. */
    list(agreementId?: string): Promise<StoredStateChange[]>;
    /**
     * How many changes are recorded (of every agreement). Changes are only ever added, so a
     * replica holding fewer than this knows another one recorded a change since it last read them.
     */
    count(): Promise<number>;
  };
  readonly audit: {
    /** Serialises appenders within a transaction (several replicas on one PostgreSQL). */
    lockHead(): Promise<void>;
    head(): Promise<{ seq: number; hash: string } | undefined>;
    insert(entries: readonly AuditEntry[]): Promise<void>;
    range(fromSeq: number, limit: number): Promise<AuditEntry[]>;
    bySubject(subjectHash: string): Promise<AuditEntry[]>;
    /** One page of a subject's entries, newest first: those below sequence `before` (all when absent), at most `limit`. */
    bySubjectPage(subjectHash: string, page: { before?: number; limit: number }): Promise<AuditEntry[]>;
    /** The same over several subject hashes at once (a citizen's ID-number hash and their certificates' hashes). */
    bySubjectsPage(subjectHashes: readonly string[], page: { before?: number; limit: number }): Promise<AuditEntry[]>;
  };
  readonly checkpoints: {
    /** False when a checkpoint for that division and seq is already stored. */
    add(checkpoint: StoredCheckpoint): Promise<boolean>;
    /** One page in sequence order: those above `after` (default 0), at most `limit`. */
    list(division: string, page: { after?: number; limit: number }): Promise<StoredCheckpoint[]>;
    /** The highest checkpoint stored for the division. */
    latest(division: string): Promise<StoredCheckpoint | undefined>;
    get(division: string, seq: number): Promise<StoredCheckpoint | undefined>;
    /** Serialises checkpoint witnessing within a transaction (several replicas on one PostgreSQL). */
    lock(): Promise<void>;
  };
  readonly incidents: {
    /** Records an incident once per (division, claimed seq, claimed hash); the stored one and whether it is new. Call under checkpoints.lock(). */
    add(incident: Omit<AuditIncident, 'seq'>): Promise<{ incident: AuditIncident; recorded: boolean }>;
    /** One page in recording order: those above `after` (default 0), at most `limit`. */
    list(page: { after?: number; limit: number; division?: string }): Promise<AuditIncident[]>;
  };
  readonly cases: {
    get(id: string): Promise<Case | undefined>;
    /**
     * Stores a case if it is newer than the stored copy (and, with `expectedVersion`, only if the
     * stored copy is exactly that version: optimistic concurrency). False when nothing was written.
     */
    put(c: Case, expectedVersion?: number): Promise<boolean>;
    /**
     * One page, newest update first (`order: 'recent'`, with offset), or by id after `afterId`
     * (`order: 'id'`: stable paging over a set that changes while it is walked).
     */
    list(filter: CaseFilter & { limit?: number; offset?: number; order?: 'recent' | 'id'; afterId?: string }): Promise<Case[]>;
    count(filter: CaseFilter): Promise<number>;
    /** Cases a node takes part in, counted per state in one GROUP BY (for metrics). */
    countByState(participant: string): Promise<Record<string, number>>;
  };
  readonly caseMessages: {
    add(message: ThreadMessage): Promise<boolean>;
    /** Oldest first, a page at a time (the thread of a long-running case can grow without bound). */
    list(caseId: string, page?: { limit: number; offset: number }): Promise<ThreadMessage[]>;
    get(id: string): Promise<ThreadMessage | undefined>;
  };
  readonly outbox: {
    enqueue(message: NewOutboxMessage): Promise<void>;
    /** Messages to send now: the due head of each (destination, conversation) queue, oldest first. */
    due(now: number, limit: number): Promise<OutboxMessage[]>;
    /**
     * Claims up to `limit` due heads for `claimant` under a lease of `leaseMs` (oldest first):
     * none another replica holds under a live lease, none queued behind a pending message.
     */
    claim(claimant: string, now: number, leaseMs: number, limit: number): Promise<OutboxMessage[]>;
    /** Gives back claimed messages not attempted (free to claim at once). */
    release(ids: readonly string[], claimant: string): Promise<void>;
    /**
     * Gives back every claim not `claimant`'s. Only where one process is the rule (SQLite): a claim
     * there not ours is a dead process's, and waiting for its lease would hold the outbox up.
     */
    releaseOthers(claimant: string): Promise<number>;
    /** With `claimant`: only while that replica's claim stands (false otherwise, nothing written). */
    markDelivered(id: string, claimant?: string): Promise<boolean>;
    markFailed(id: string, error: string, nextAttemptAt: number, dead: boolean, claimant?: string): Promise<boolean>;
    /** In order; `failed`: refused for good or retrying after an error. */
    list(filter?: { failed?: boolean; limit?: number; offset?: number }): Promise<OutboxMessage[]>;
    /** Undelivered messages (pending or dead) per destination and status, with the oldest one's creation time (for metrics). */
    stats(): Promise<Array<{ destination: string; status: 'pending' | 'dead'; count: number; oldestCreatedAt: string }>>;
  };
  /** The hub's signed directory snapshots by version: one content per version, whichever hub replica signed it. */
  readonly directorySnapshots: {
    /** Serialises publishers within a transaction (hub replicas on one PostgreSQL). */
    lock(): Promise<void>;
    latest(): Promise<StoredSnapshot | undefined>;
    latestVersion(): Promise<number | undefined>;
    /** A unique violation when the version exists (it never does under lock()). */
    add(snapshot: StoredSnapshot): Promise<void>;
    /** Drops the versions below `version` (nodes only ever need the newest). */
    prune(belowVersion: number): Promise<void>;
  };
  /** Failed sign-ins per login (by keyed hash) in a window: the lockout, shared by the hub's replicas. */
  readonly loginFailures: {
    /**
     * Counts one attempt for `loginHash` at `now`, atomically: false (nothing counted) when `max`
     * attempts were already counted in the window that began less than `windowMs` ago; a window
     * that ended starts afresh.
     */
    attempt(loginHash: string, now: number, windowMs: number, max: number): Promise<boolean>;
    clear(loginHash: string): Promise<void>;
    /** Forgets windows that began before `before`. */
    purge(before: number): Promise<void>;
  };
  /** Leases on the node's periodic work: one replica at a time holds each (several replicas on one database). */
  readonly leases: {
    /**
     * Takes the lease `name` for `holder` until `now + ttlMs`, or renews it: true when `holder`
     * holds it now (it was free, had run out at `now`, or was already its own).
     */
    acquire(name: string, holder: string, now: number, ttlMs: number): Promise<boolean>;
    /** Gives it up (only if `holder` holds it), so another replica takes over at once. */
    release(name: string, holder: string): Promise<void>;
    get(name: string): Promise<{ holder: string; until: number } | undefined>;
  };
  readonly inbox: {
    get(sender: string, id: string): Promise<InboxRecord | undefined>;
    /** Records a message as applied; a unique violation when (sender, id) is already there. */
    add(record: InboxRecord): Promise<void>;
  };
  readonly negotiations: {
    /** The stored body (parse it with the domain's schema). */
    get(id: string): Promise<unknown>;
    /** Compare-and-set on the version (0: only if absent); false when nothing was written. */
    put(n: StoredNegotiation, expectedVersion?: number): Promise<boolean>;
    /** Newest first. */
    list(filter?: { agreementId?: string; limit?: number }): Promise<unknown[]>;
  };
  readonly acceptances: {
    /** Records (or replaces) the terms this node accepts for that agreement version. */
    put(acceptance: Omit<AcceptanceRecord, 'negotiationId'> & { negotiationId?: string | null }): Promise<void>;
    get(agreementId: string, version: number): Promise<AcceptanceRecord | undefined>;
    remove(agreementId: string, version: number): Promise<void>;
  };
  /** Node-local grants of the administering roles (src/identity/admin-grants.ts). */
  readonly adminGrants: {
    /** Records the grant, replacing any earlier one of that login (failures back to 0, not revoked). */
    put(grant: Omit<AdminGrantRecord, 'failures' | 'revokedAt'>): Promise<void>;
    /** Revoked ones included: the caller decides. */
    get(login: string): Promise<AdminGrantRecord | undefined>;
    list(): Promise<AdminGrantRecord[]>;
    /** Sets `revokedAt` once; the record afterwards (undefined when there is none). */
    revoke(login: string, at: string): Promise<AdminGrantRecord | undefined>;
    /**
     * Takes one passphrase attempt, counted before it is checked, in one statement: false (nothing
     * counted) when the grant is revoked, absent or has `max` failures already — so guesses sent at
     * once cannot all pass the count.
     */
    attempt(login: string, max: number): Promise<boolean>;
    /** A right passphrase: the count starts again. */
    clearFailures(login: string): Promise<void>;
  };
  readonly machineClients: {
    /** False when the id or the token hash is taken. */
    add(client: Omit<MachineClientRecord, 'revokedAt'>, tokenHash: string): Promise<boolean>;
    /** Revoked ones included (their `revokedAt` set): the caller decides. */
    byTokenHash(tokenHash: string): Promise<MachineClientRecord | undefined>;
    list(page: { limit: number; offset: number }): Promise<{ clients: MachineClientRecord[]; total: number }>;
    /** Sets `revokedAt` once; the record afterwards (undefined when there is no such client). */
    revoke(id: string, at: string): Promise<MachineClientRecord | undefined>;
  };
  readonly loginStates: {
    put(record: LoginStateRecord): Promise<void>;
    /** Reads and deletes in one go: a state is used once. Undefined when unknown or already used. */
    take(stateHash: string): Promise<LoginStateRecord | undefined>;
    purge(before: number): Promise<number>;
  };
  readonly sessions: {
    add(record: SessionRecord): Promise<void>;
    get(idHash: string): Promise<SessionRecord | undefined>;
    /** Moves the idle expiry (never beyond the absolute one). */
    touch(idHash: string, idleExpiresAt: number): Promise<void>;
    remove(idHash: string): Promise<boolean>;
    /** Removes every session of this person (the hub's `sub`): how many there were. */
    removeBySubject(subject: string): Promise<number>;
    /** Removes the sessions idle or past their absolute expiry at `now`. */
    purge(now: number): Promise<number>;
  };
  readonly people: {
    /** Adds a person; false when the id or login is taken. */
    add(person: PersonRecord): Promise<boolean>;
    get(id: string): Promise<PersonRecord | undefined>;
    byLogin(login: string): Promise<PersonRecord | undefined>;
    /** Disables (or enables) a staff member of `node`; undefined when that node has no staff member with this login. */
    setStaffDisabled(node: string, login: string, disabled: boolean): Promise<PersonRecord | undefined>;
    /** One page of a node's staff, by login, and how many it has. */
    staffOf(node: string, page: { limit: number; offset: number }): Promise<{ people: PersonRecord[]; total: number }>;
    /** Staff of a node or citizens, by login. */
    list(filter: { kind?: 'citizen' | 'staff'; node?: string; limit?: number }): Promise<PersonRecord[]>;
  };
  readonly oidcPayloads: {
    /** Inserts or replaces (model, id). */
    upsert(record: OidcPayloadRecord): Promise<void>;
    /** The payload of (model, id) unless it expired before `now` (epoch ms). */
    find(model: string, id: string, now: number): Promise<OidcPayloadRecord | undefined>;
    /** The unexpired payload of `model` with this uid (sessions) or user code (device codes). */
    findBy(model: string, field: 'uid' | 'userCode', value: string, now: number): Promise<OidcPayloadRecord | undefined>;
    /** Marks it used at `at` (epoch ms). */
    consume(model: string, id: string, at: number): Promise<void>;
    destroy(model: string, id: string): Promise<void>;
    /** Removes everything issued under a grant (every model). */
    revokeByGrantId(grantId: string): Promise<void>;
    /** Removes what expired before `now` (epoch ms); the number removed. */
    purgeExpired(now: number): Promise<number>;
  };
  readonly consents: {
    add(record: ConsentRecord): Promise<void>;
    get(id: string): Promise<ConsentRecord | undefined>;
    /** One citizen's consents, newest first. */
    listBySubject(subjectKey: string, page: { limit: number; offset: number }): Promise<{ consents: ConsentRecord[]; total: number }>;
    /** Active → revoked; false when it was not active (already revoked, or unknown). */
    revoke(id: string, at: string): Promise<boolean>;
    /** The provider's count, as it reports it: kept only if it names the consent's provider and is higher. */
    reportUses(id: string, provider: string, uses: number, lastUsedAt: string): Promise<boolean>;
  };
  readonly consentUses: {
    /**
     * Counts one use of a consent, atomically: refused (nothing counted) when the consent is
     * revoked here, or single-use and already used. Two concurrent uses of a single-use consent:
     * exactly one is counted.
     */
    use(consentId: string, options: { single: boolean; at: string }): Promise<{ outcome: 'counted' | 'used' | 'revoked'; uses: number }>;
    /** Records the hub's word that the consent is revoked (idempotent: the first time stays). */
    revoke(consentId: string, at: string): Promise<void>;
    get(consentId: string): Promise<ConsentUseRecord | undefined>;
  };
  readonly statusListCache: {
    get(uri: string): Promise<CachedStatusList | undefined>;
    /** Inserts or replaces the list of `uri`. */
    put(entry: CachedStatusList): Promise<void>;
  };
  readonly certificateChallenges: {
    add(challenge: CertificateChallengeRecord): Promise<void>;
    /** Uses a challenge at `at` (epoch ms), atomically: false when it is unknown, used already or expired. */
    use(nonce: string, at: number): Promise<boolean>;
    /** Removes those that expired before `before` (epoch ms); the number removed. */
    purge(before: number): Promise<number>;
  };
  readonly certificates: {
    /** Stores an issued certificate; false (nothing written) when its case already has one. */
    add(record: CertificateRecord): Promise<boolean>;
    get(id: string): Promise<CertificateRecord | undefined>;
    byCase(caseId: string): Promise<CertificateRecord | undefined>;
    /** One page, newest first: every certificate, or one holder's (by subject key); with the true total. */
    list(filter: { subjectKey?: string }, page: { limit: number; offset: number }): Promise<{ certificates: CertificateRecord[]; total: number }>;
    /** Moves the status from one of `from` to `to` in one conditional UPDATE; false when it was in none of them. */
    setStatus(id: string, from: readonly CertificateRecord['status'][], to: CertificateRecord['status'], reason: string, at: string): Promise<boolean>;
    /** Replaces the issuance by its re-signing bound to a holder key; false when it is bound already. */
    bind(id: string, sdJwt: string, thumbprint: string): Promise<boolean>;
    /** The status of every index handed out in one list. */
    statuses(listId: number): Promise<Array<{ idx: number; status: CertificateRecord['status'] }>>;
  };
  readonly statusLists: {
    /**
     * The next free index of the newest list, by a conditional UPDATE (`next_idx < size`); when that
     * list is full (or there is none), a new list of `size` indexes. Concurrent callers never get
     * the same index; inside a transaction the index is given back if it rolls back.
     */
    allocate(size: number): Promise<{ listId: number; idx: number }>;
    get(id: number): Promise<StatusListRecord | undefined>;
  };
  readonly certificateIssuers: {
    /** Inserts or replaces the issuer's authorisation. */
    put(record: CertificateIssuerRecord): Promise<void>;
    get(division: string): Promise<CertificateIssuerRecord | undefined>;
    /** Every issuer ever authorised (withdrawn ones included), by division. */
    list(): Promise<CertificateIssuerRecord[]>;
    /** Inserts or replaces (division, kid). */
    putKey(key: CertificateIssuerKeyRecord): Promise<void>;
    /** The keys of one issuer (or of all), by division and `from`. */
    keys(division?: string): Promise<CertificateIssuerKeyRecord[]>;
  };
  readonly certificateIndex: {
    /** Files a certificate; false when its id is filed already (nothing changes). */
    add(record: CertificateIndexRecord): Promise<boolean>;
    get(certificateId: string): Promise<CertificateIndexRecord | undefined>;
    /** One holder's certificates, newest first. */
    listBySubject(subjectKey: string, page: { limit: number; offset: number }): Promise<{ certificates: CertificateIndexRecord[]; total: number }>;
  };
  /** Aggregates for the governance dashboards: counts from GROUP BY over indexes (migration 020), never rows. */
  readonly governance: {
    /** Cases per accepting node, competent nodes, mode and state: one scan of a covering index. */
    caseFlows(): Promise<CaseFlow[]>;
    /** Distinct applicants of the cases `self` accepted for other regions (withdrawn ones left out). */
    applicantsServed(self: string): Promise<number>;
    casesByState(): Promise<Record<string, number>>;
    /** Audit entries refused or in error, per kind, code, requester, provider and service. */
    auditFindings(): Promise<AuditFinding[]>;
    /** Hub: records a probe (once per division and millisecond). */
    addProbe(probe: HealthProbe): Promise<void>;
    /** Hub: per division, probes since `since` (ms), how many answered, latency of those that did, the last one's time. */
    probeSummary(since: number): Promise<Array<{ division: string; probes: number; ok: number; meanLatencyMs: number | null; maxLatencyMs: number | null; lastAt: number }>>;
    lastProbe(division: string): Promise<HealthProbe | undefined>;
    pruneProbes(before: number): Promise<number>;
  };
  readonly nonces: {
    /** Remembers a (key, nonce) pair; false when it was seen before (a replay). */
    remember(keyid: string, nonce: string, expiresAt: number): Promise<boolean>;
    purge(before: number): Promise<number>;
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
  /**
   * Notifications between the processes on this node's database (PostgreSQL LISTEN/NOTIFY, on a
   * channel of this node's own); undefined on SQLite, where one process is the rule.
   */
  readonly notifications: StoreNotifications | undefined;
  close(): Promise<void>;
}

/** Best effort: a payload sent while a listener's connection is down is not seen by it. */
export interface StoreNotifications {
  /** Delivers `payload` (under 7,000 bytes) to every listener of `topic`, this process's included. */
  notify(topic: string, payload: string): Promise<void>;
  /** Calls `handler` with each payload of `topic` until the returned function is called. */
  listen(topic: string, handler: (payload: string) => void): Promise<() => Promise<void>>;
}
