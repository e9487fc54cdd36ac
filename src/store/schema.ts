/**
 * Table types shared by both dialects. Timestamps are ISO-8601 text and structured values
 * JSON text in both SQLite and PostgreSQL, so one set of queries and migrations serves both.
 */
export interface NodeSettingsTable {
  key: string;
  value: string;
  updated_at: string;
}

export interface NodeKeysTable {
  kid: string;
  alg: string;
  public_jwk: string;
  status: string;
  created_at: string;
}

export interface CatalogItemsTable {
  code: string;
  owner_division: string;
  body: string;
  version: number;
  created_at: string;
}

export interface IdempotencyRecordsTable {
  scope: string;
  key: string;
  request_hash: string;
  response: string;
  created_at: string;
}

export interface NegotiationTables {
  negotiations: { id: string; agreement_id: string; convener: string; state: string; version: number; body: string; created_at: string; updated_at: string };
  agreement_acceptances: { agreement_id: string; version: number; hash: string; negotiation_id: string | null; accepted_at: string };
}

/** A node as a relying party of the hub (migration 013). Times in milliseconds are bigint (strings from PostgreSQL). */
export interface NodeIdentityTables {
  login_states: { state_hash: string; code_verifier: string; nonce: string; return_to: string; expires_at: number | string };
  sessions: { id_hash: string; subject: string; person: string; created_at: string; idle_expires_at: number | string; expires_at: number | string; hub_token?: string | null; hub_token_expires_at?: number | string | null };
  admin_grants: { login: string; roles: string; passphrase_hash: string; failures: number; granted_at: string; granted_by: string; revoked_at: string | null };
  machine_clients: { id: string; name: string; role: string; id_number: string | null; token_hash: string; created_at: string; revoked_at: string | null };
}

/** Hub identity (migration 010): people who sign in at the hub, and the OIDC provider's state. */
export interface IdentityTables {
  people: {
    id: string;
    login: string;
    kind: string;
    name: string;
    id_number: string | null;
    node: string | null;
    roles: string;
    password_hash: string;
    disabled: number;
    created_at: string;
  };
  oidc_payloads: {
    model: string;
    id: string;
    payload: string;
    grant_id: string | null;
    user_code: string | null;
    uid: string | null;
    expires_at: number | string | null;
    consumed_at: number | string | null;
  };
}

/** Migration 011: consents the hub signed (hub) and their uses at a provider (nodes). */
export interface ConsentTables {
  consents: {
    id: string;
    subject_key: string;
    requester: string;
    provider: string;
    artefact: string;
    status: string;
    expires_at: string;
    revoked_at: string | null;
    use_count: number;
    last_used_at: string | null;
    created_at: string;
  };
  consent_uses: { consent_id: string; uses: number; last_used_at: string | null; revoked_at: string | null };
}

/** Migration 019: a verifier's status-list cache and key-binding challenges. Milliseconds are bigint (strings from PostgreSQL). */
export interface CertificateVerificationTables {
  status_list_cache: { uri: string; jwt: string; fetched_at: number | string };
  certificate_challenges: { nonce: string; requested_by: string; created_at: string; expires_at: number | string; used_at: number | string | null };
}

/** Migration 018: e-certificates this node issued and the status lists they sit in. */
export interface CertificateTables {
  certificates: {
    id: string;
    case_id: string;
    vct: string;
    subject_key: string;
    sd_jwt: string;
    status_list_id: number;
    status_idx: number;
    status: string;
    status_reason: string | null;
    status_changed_at: string | null;
    bound_thumbprint: string | null;
    issued_at: string;
    expires_at: string;
  };
  status_lists: { id: number; size: number; next_idx: number; created_at: string };
}

/** Migration 017: certificate issuers, their keys and the certificate index (hub). */
export interface CertificateTrustTables {
  certificate_issuers: {
    division: string;
    authority: string;
    authority_code: string;
    /** JSON array of vct. */
    types: string;
    authorised_at: string;
    authorised_by: string;
    withdrawn_at: string | null;
  };
  certificate_issuer_keys: { division: string; kid: string; jwk: string; from_at: string; retired_at: string | null; verify_until: string | null };
  certificate_index: { certificate_id: string; subject_key: string; issuer: string; vct: string; issued_at: string; expires_at: string; status_list: number | null; status_index: number | null };
}

/** The hub's probes of each node's /health (migration 020). */
export interface GovernanceTables {
  health_probes: { division: string; at: number | string; ok: number; status: number | null; latency_ms: number | null };
}

export interface Database extends GovernanceTables, FederationTables, CaseTables, NegotiationTables, IdentityTables, NodeIdentityTables, ConsentTables, CertificateTrustTables, CertificateTables, CertificateVerificationTables {
  node_settings: NodeSettingsTable;
  node_keys: NodeKeysTable;
  catalog_items: CatalogItemsTable;
  idempotency_records: IdempotencyRecordsTable;
}

export interface DirectoryNodesTable {
  division: string;
  name: string;
  role: string;
  endpoint: string;
  status: string;
  signing_kid: string;
  body: string;
  enrolled_at: string;
  decided_at: string | null;
  decided_by: string | null;
}

export interface DirectoryChangesTable {
  division: string;
  kind: string;
  body: string;
  requested_at: string;
}

export interface AgreementsTable {
  id: string;
  version: number;
  body: string;
  registered_at: string;
}

export interface AgreementStateChangesTable {
  agreement_id: string;
  seq: number;
  action: string;
  state: string;
  party: string;
  actor: string;
  reason: string;
  at: string;
  jws: string;
  recorded_at: string;
}

export interface AuditLogTable {
  seq: number;
  at: string;
  kind: string;
  outcome: string;
  code: string | null;
  request_id: string | null;
  requester: string | null;
  provider: string | null;
  agreement_id: string | null;
  item_code: string | null;
  service: string | null;
  purpose: string | null;
  case_id: string | null;
  operator: string | null;
  subject_hash: string | null;
  detail: string;
  prev_hash: string;
  /** Migration 012: the authenticated person who acted (null on older entries and on other nodes' acts). */
  actor_subject: string | null;
  actor_node: string | null;
  actor_role: string | null;
  hash: string;
}

export interface AuditCheckpointsTable {
  division: string;
  seq: number;
  hash: string;
  at: string;
  jws: string;
}

export interface AuditIncidentsTable {
  seq: number | string;
  division: string;
  kind: string;
  claimed_seq: number | string;
  claimed_hash: string;
  witnessed_seq: number | string;
  witnessed_hash: string;
  jws: string;
  at: string;
}

export interface SeenNoncesTable {
  keyid: string;
  nonce: string;
  expires_at: number | string;
}

export interface CasesTable {
  id: string;
  version: number;
  state: string;
  accepting_node: string;
  applicant_id: string;
  body: string;
  updated_at: string;
  /** Migration 020: the handling mode and the competent divisions (sorted, ','-joined), for the governance counts. */
  mode: string | null;
  competent: string | null;
}

export interface OutboxTable {
  id: string;
  seq: number | string;
  destination: string;
  kind: string;
  payload: string;
  status: string;
  attempts: number;
  next_attempt_at: number | string;
  created_at: string;
  delivered_at: string | null;
  last_error: string | null;
  /** What the message is about (`case:<id>`, `agreement:<id>`): delivery keeps order per (destination, conversation). */
  conversation: string | null;
  /** `hub`: delivered through the hub's relay; null: the route is decided at delivery. */
  via: string | null;
  /** The replica delivering it now, until `lease_until` (ms since the epoch); then anyone may take it over. */
  claimed_by: string | null;
  lease_until: number | string | null;
}

/** Periodic work of the node: done by the holder of its lease only. */
export interface NodeLeasesTable {
  name: string;
  holder: string;
  until: number | string;
}

/** The hub's signed directory snapshots: one content per version. */
export interface DirectorySnapshotsTable {
  version: number | string;
  content_hash: string;
  jws: string;
  issued_at: number | string;
}

/** Messages this node applied, once per (sender, id). */
export interface InboxMessagesTable {
  sender: string;
  id: string;
  kind: string;
  conversation: string | null;
  request_hash: string | null;
  result: string;
  received_at: string;
}

export interface CaseTables {
  cases: CasesTable;
  case_participants: { case_id: string; node: string };
  /** Migration 023: the nodes that decide each case. */
  case_competent_nodes: { case_id: string; node: string };
  case_messages: { id: string; case_id: string; at: string; body: string };
  outbox: OutboxTable;
  inbox_messages: InboxMessagesTable;
  node_leases: NodeLeasesTable;
  directory_snapshots: DirectorySnapshotsTable;
  login_failures: { login_hash: string; count: number; since: number | string };
}

export interface FederationTables {
  directory_nodes: DirectoryNodesTable;
  directory_changes: DirectoryChangesTable;
  agreements: AgreementsTable;
  agreement_state_changes: AgreementStateChangesTable;
  audit_log: AuditLogTable;
  audit_checkpoints: AuditCheckpointsTable;
  audit_incidents: AuditIncidentsTable;
  seen_nonces: SeenNoncesTable;
}
