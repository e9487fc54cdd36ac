import { sql, type Kysely } from 'kysely';

/**
 * Bearer tokens are for machine clients only, each with one staff role (issue 12): citizens sign in
 * at the hub. The applicant accounts that migration 013 carried over (role `applicant`, with the ID
 * number they acted for) are revoked here — their tokens are refused from the next request on —
 * and the ID number they kept is erased: a revoked account has no use for it. The rows stay, so
 * `GET /v1/operator/accounts` still lists them, revoked. (The authenticator refuses any row whose
 * role is not a staff role as well, revoked or not.)
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const now = new Date().toISOString();
  await sql`UPDATE machine_clients SET revoked_at = ${now} WHERE role = 'applicant' AND revoked_at IS NULL`.execute(db);
  await sql`UPDATE machine_clients SET id_number = NULL WHERE role = 'applicant'`.execute(db);
}

/** The revocations stand (a revoked token is never brought back), and the ID numbers are gone. */
export async function down(): Promise<void> {}
