import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe } from 'vitest';

/** The PostgreSQL server the suite runs against; .ci/run sets it to a fresh database. */
export const postgresUrl = process.env.TONGBAN_TEST_DATABASE_URL;

/**
 * Declares a PostgreSQL suite. Without a URL it is skipped with a printed notice, except in
 * CI, where a missing database must fail loudly instead of passing quietly.
 */
export function describePostgres(name: string, body: () => void): void {
  if (!postgresUrl) {
    if (process.env.CI === 'true') {
      throw new Error('CI=true but TONGBAN_TEST_DATABASE_URL is not set: the PostgreSQL suites cannot be skipped in CI.');
    }
    console.warn(`[postgres] skipped "${name}": set TONGBAN_TEST_DATABASE_URL to run it (e.g. postgres://postgres@127.0.0.1:5432/tongban_test).`);
    describe.skip(`[postgres] ${name}`, body);
    return;
  }
  describe(`[postgres] ${name}`, body);
}

/**
 * Makes sure the database of TONGBAN_TEST_DATABASE_URL exists, creating it when the server
 * answers but the database is missing (a fresh machine), and turns every other failure into
 * one sentence that names the server and the cause. Run once per test run (globalSetup).
 */
export async function ensurePostgresDatabase(url: string): Promise<'exists' | 'created'> {
  const target = new URL(url);
  const database = decodeURIComponent(target.pathname.replace(/^\//, ''));
  const where = `${target.hostname}:${target.port || 5432}`;
  const explain = (error: unknown) => {
    const e = error as { code?: string; message?: string };
    if (e.code === 'ECONNREFUSED' || e.code === 'ENOTFOUND' || e.code === 'ETIMEDOUT' || e.code === 'EHOSTUNREACH') {
      return `PostgreSQL is not answering at ${where} (${e.code}): start it, or unset TONGBAN_TEST_DATABASE_URL to run the SQLite suites only.`;
    }
    return `PostgreSQL at ${where} refused the connection for TONGBAN_TEST_DATABASE_URL: ${e.message ?? String(error)}`;
  };
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
    return 'exists';
  } catch (error) {
    // 3D000: invalid_catalog_name, the database does not exist.
    if ((error as { code?: string }).code !== '3D000') throw new Error(explain(error), { cause: error });
  } finally {
    await client.end().catch(() => {});
  }
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const maintenance = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 10_000 });
  try {
    await maintenance.connect();
    await maintenance.query(`CREATE DATABASE ${maintenance.escapeIdentifier(database)}`);
  } catch (error) {
    // Another run created it at the same moment: fine.
    if ((error as { code?: string }).code === '42P04') return 'exists';
    throw new Error(`The test database "${database}" does not exist at ${where} and could not be created (${(error as Error).message}); create it with: createdb -h ${target.hostname} -p ${target.port || 5432} -U ${decodeURIComponent(target.username) || 'postgres'} ${database}`, { cause: error });
  } finally {
    await maintenance.end().catch(() => {});
  }
  return 'created';
}

/** A URL to a schema no other test uses, and a way to drop it afterwards. */
export function freshPostgresSchema(): { url: string; drop: () => Promise<void>; exec: (sql: string) => Promise<void> } {
  const schema = 't_' + randomBytes(6).toString('hex');
  const url = new URL(postgresUrl!);
  url.searchParams.set('schema', schema);
  return {
    url: url.toString(),
    exec: async (text: string) => {
      const client = new pg.Client({ connectionString: postgresUrl, options: `-c search_path=${schema}` });
      await client.connect();
      try {
        await client.query(text);
      } finally {
        await client.end();
      }
    },
    drop: async () => {
      const client = new pg.Client({ connectionString: postgresUrl });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}
