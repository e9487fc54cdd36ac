import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { freePortRun } from './free-ports.ts';
import { describePostgres, ensurePostgresDatabase, postgresUrl } from './support/postgres.ts';

describePostgres('test database set-up', () => {
  it('creates a test database that does not exist yet (a fresh machine), and finds it the second time', async () => {
    const name = 'tongban_t_' + randomBytes(4).toString('hex');
    const url = new URL(postgresUrl!);
    url.pathname = '/' + name;
    try {
      expect(await ensurePostgresDatabase(url.toString())).toBe('created');
      expect(await ensurePostgresDatabase(url.toString())).toBe('exists');
      const client = new pg.Client({ connectionString: url.toString() });
      await client.connect();
      expect((await client.query('SELECT current_database() AS db')).rows[0].db).toBe(name);
      await client.end();
    } finally {
      const admin = new pg.Client({ connectionString: postgresUrl });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  });
});

describe('test database set-up without a server', () => {
  it('names an unreachable server and the cause in one sentence', async () => {
    const port = await freePortRun(1);
    await expect(ensurePostgresDatabase(`postgres://postgres@127.0.0.1:${port}/tongban_test`)).rejects.toThrow(
      new RegExp(`PostgreSQL is not answering at 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`),
    );
  });
});
