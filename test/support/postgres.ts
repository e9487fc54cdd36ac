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
