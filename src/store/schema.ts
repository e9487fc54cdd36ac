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

export interface Database {
  node_settings: NodeSettingsTable;
  node_keys: NodeKeysTable;
  catalog_items: CatalogItemsTable;
  idempotency_records: IdempotencyRecordsTable;
}
