import { Kysely } from 'kysely';
import pg from 'pg';
import { expect, it } from 'vitest';
import { openStore } from '../src/store/index.ts';
import { NodeSchemaPostgresDialect } from '../src/store/schema-introspector.ts';
import { describePostgres, freshPostgresSchema, postgresUrl } from './support/postgres.ts';

// In CI a migration failed with "schema t_… does not exist": Kysely's stock introspector checked the
// privilege on every schema of the database by name, and another test had just dropped one.
describePostgres('migrations on a database other nodes share', () => {
  it("the migrator looks at the node's own schema only: another schema's tables are not listed", async () => {
    const mine = freshPostgresSchema();
    const other = freshPostgresSchema();
    const store = await openStore({ url: mine.url });
    const otherName = new URL(other.url).searchParams.get('schema')!;
    await other.exec(`CREATE SCHEMA ${otherName}; CREATE TABLE ${otherName}.kysely_migration (name text); CREATE TABLE ${otherName}.cases (id text)`);
    const pool = new pg.Pool({ connectionString: postgresUrl, options: `-c search_path=${new URL(mine.url).searchParams.get('schema')}`, max: 1 });
    const db = new Kysely<unknown>({ dialect: new NodeSchemaPostgresDialect({ pool }) });
    try {
      const tables = await db.introspection.getTables();
      const schemas = new Set(tables.map((t) => t.schema));
      expect([...schemas]).toEqual([new URL(mine.url).searchParams.get('schema')]);
      expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['kysely_migration', 'node_settings', 'node_keys']));
      expect((await db.introspection.getSchemas()).map((s) => s.name)).toContain(otherName);
    } finally {
      await db.destroy();
      await store.close();
      await mine.drop();
      await other.drop();
    }
  });
});
