import type { Migration, MigrationProvider } from 'kysely';
import * as m001 from './001-initial.ts';
import * as m002 from './002-federation.ts';
import * as m003 from './003-cases.ts';
import * as m004 from './004-directory-changes.ts';
import * as m005 from './005-case-queues.ts';
import * as m006 from './006-audit-incidents.ts';
import * as m007 from './007-messaging.ts';
import * as m008 from './008-agreement-states.ts';
import * as m009 from './009-negotiations.ts';
import * as m010 from './010-identity.ts';
import * as m011 from './011-consents.ts';
import * as m012 from './012-audit-actor.ts';
import * as m013 from './013-node-sessions.ts';
import * as m016 from './016-revoke-applicant-clients.ts';
import * as m017 from './017-certificate-trust.ts';
import * as m018 from './018-certificates.ts';
import * as m019 from './019-certificate-verification.ts';
import * as m020 from './020-governance.ts';
import * as m021 from './021-session-hub-token.ts';
import * as m023 from './023-case-competent-nodes.ts';
import * as m025 from './025-replicas.ts';
import * as m026 from './026-admin-grants.ts';
import * as m029 from './029-certificate-index-status.ts';

/**
 * Shared, versioned migrations: the same list runs on SQLite and PostgreSQL. A new one takes a
 * number above the highest here, never a gap below it: a database that ran 025 refuses a new 022
 * (Kysely keeps them in name order).
 */
export const migrations: Record<string, Migration> = {
  '001-initial': m001,
  '002-federation': m002,
  '003-cases': m003,
  '004-directory-changes': m004,
  '005-case-queues': m005,
  '006-audit-incidents': m006,
  '007-messaging': m007,
  '008-agreement-states': m008,
  '009-negotiations': m009,
  '010-identity': m010,
  '011-consents': m011,
  '012-audit-actor': m012,
  '013-node-sessions': m013,
  '016-revoke-applicant-clients': m016,
  '017-certificate-trust': m017,
  '018-certificates': m018,
  '019-certificate-verification': m019,
  '020-governance': m020,
  '021-session-hub-token': m021,
  '023-case-competent-nodes': m023,
  '025-replicas': m025,
  '026-admin-grants': m026,
  '029-certificate-index-status': m029,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
