import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, expect, it } from 'vitest';
import { AuditLog } from '../src/audit/index.ts';
import { loadConfig } from '../src/config/index.ts';
import { nodeReport } from '../src/governance/index.ts';
import { openReadStore, openStore, type Store } from '../src/store/index.ts';
import { citizenSubjectHash, readTrackerEntries, type CitizenProof } from '../src/tracker/index.ts';
import { describePostgres, freshPostgresSchema, postgresUrl } from './support/postgres.ts';

const SELF = '522732';

/**
 * A read replica (`database.readUrl`, `tongban serve --read-database`): no streaming replica
 * runs here, so the read URL names the same database under another application_name; that the
 * queries went there is read from pg_stat_activity (each backend's last statement), and that
 * it is read-only from a write it refuses.
 */
describePostgres('read database (a PostgreSQL read replica for the tracker and the dashboards)', () => {
  const fixtures: Array<{ drop: () => Promise<void> }> = [];
  const stores: Store[] = [];
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close().catch(() => {});
    for (const fixture of fixtures.splice(0)) await fixture.drop();
  });

  /** A node's primary store (migrated, with its node record) and a read store on the same database under `name`. */
  const openPair = async () => {
    const fixture = freshPostgresSchema();
    fixtures.push(fixture);
    const primary = await openStore({ url: fixture.url });
    stores.push(primary);
    await primary.settings.put('node', { division: SELF });
    const name = `tongban-read-${randomBytes(4).toString('hex')}`;
    // Without ?schema: the primary's schema is the replica's.
    const readUrl = new URL(postgresUrl!);
    readUrl.searchParams.set('application_name', name);
    const reads = await openReadStore({ url: readUrl.toString(), primaryUrl: fixture.url });
    stores.push(reads);
    return { primary, reads, name, fixture };
  };

  /** The statements each backend of `application` last ran (pg_stat_activity). */
  const lastQueries = async (application: string): Promise<string[]> => {
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ query: string }>('select query from pg_stat_activity where application_name = $1', [application]);
      return rows.map((r) => r.query);
    } finally {
      await client.end();
    }
  };

  it("the tracker's audit reads and the governance aggregates go to the read database; the record of the look and the audit head to the primary", async () => {
    const { primary, reads, name } = await openPair();
    const auditKey = randomBytes(32);
    const proof: CitizenProof = { subject: 'citizen-1', idNumber: '11010519491231002X', tokenHash: 'x'.repeat(43), expiresAt: Math.floor(Date.now() / 1000) + 600, certificates: [] };
    const audit = new AuditLog(primary);
    await audit.append({ kind: 'exchange.provide', outcome: 'allowed', subjectHash: citizenSubjectHash(auditKey, proof), detail: {} });

    const answer = await readTrackerEntries({ self: SELF, store: reads, audit, auditKey }, proof, { limit: 10 });
    expect(answer.entries.map((e) => e.kind)).toEqual(['exchange.provide']);
    const afterTracker = await lastQueries(name);
    expect(afterTracker.some((q) => /subject_hash/.test(q))).toBe(true);
    // The look itself is in the node's audit log, written to the primary.
    expect((await primary.audit.head())?.seq).toBe(2);

    const report = await nodeReport({ self: SELF, store: primary, reads, clock: () => new Date(), learning: async () => [] });
    expect(report.audit).toMatchObject({ seq: 2 });
    const afterReport = await lastQueries(name);
    expect(afterReport.some((q) => /group by/i.test(q))).toBe(true);
  });

  it('the read database refuses writes (every session is read-only), and is refused when it holds no Tongban tables', async () => {
    const { reads, fixture } = await openPair();
    await expect(reads.settings.put('node', { division: '330523' })).rejects.toThrow(/read-only/);
    await expect(reads.transaction((tx) => tx.settings.put('x', 1))).rejects.toThrow(/read-only/);
    expect(await reads.settings.get('node')).toEqual({ division: SELF });
    // A database with no tables (not a replica of this node's): refused before the node serves.
    const empty = freshPostgresSchema();
    fixtures.push(empty);
    await expect(openReadStore({ url: empty.url, primaryUrl: fixture.url })).rejects.toMatchObject({ code: 'DATABASE_INVALID' });
  });
});

it('config: database.readUrl is a postgres:// URL, of a node on PostgreSQL; DATABASE_READ_URL overrides it; absent, reads go to the primary', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tongban-readdb-'));
  const write = (database: Record<string, string>) => {
    const path = join(dir, 'tongban.json');
    writeFileSync(path, JSON.stringify({ node: { division: SELF, name: 'Sandu', role: 'node' }, hub: { url: 'http://127.0.0.1:1', kid: 'k', jwk: { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43) } }, database, keys: { algorithm: 'Ed25519', file: 'keys/k.json' } }));
    return path;
  };
  const pgUrl = 'postgres://u@127.0.0.1:5432/db';
  expect(loadConfig(write({ url: pgUrl }), {}).database).toEqual({ url: pgUrl });
  expect(loadConfig(write({ url: pgUrl, readUrl: 'postgres://u@replica:5432/db' }), {}).database.readUrl).toBe('postgres://u@replica:5432/db');
  expect(loadConfig(write({ url: pgUrl }), { DATABASE_READ_URL: 'postgresql://u@r2/db' }).database.readUrl).toBe('postgresql://u@r2/db');
  expect(() => loadConfig(write({ url: pgUrl, readUrl: 'sqlite:replica.db' }), {})).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  expect(() => loadConfig(write({ url: 'data/node.db', readUrl: pgUrl }), {})).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
});
