import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/index.ts';
import { nodeReport } from '../../src/governance/index.ts';
import { openReadStore, openStore, type Store } from '../../src/store/index.ts';
import { citizenSubjectHash, readTrackerEntries, type CitizenProof } from '../../src/tracker/index.ts';
import { eventually } from './support.ts';
import { freePortRun } from '../free-ports.ts';

/**
 * A node's read database on a real PostgreSQL streaming standby, made with the commands
 * docs/deployment.md shows: a primary cluster of the test's own (initdb, so the machine's cluster
 * and its pg_hba.conf are left alone), a standby copied from it by `pg_basebackup -R` and started
 * with `pg_ctl`; the node writes to the primary and its tracker and dashboards read the standby.
 * PostgreSQL refuses to run as root: the clusters run as the `postgres` user.
 */
const run = promisify(execFile);
const BIN = (() => {
  const root = '/usr/lib/postgresql';
  const version = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a))[0] : undefined;
  return version ? join(root, version, 'bin') : undefined;
})();
const available = BIN !== undefined && existsSync(join(BIN, 'initdb')) && process.getuid?.() === 0;
if (!available) {
  if (process.env.CI === 'true') throw new Error('CI=true but PostgreSQL binaries (/usr/lib/postgresql/<v>/bin) or root are missing: the streaming-replica test cannot be skipped in CI.');
  console.warn('[postgres] skipped "streaming standby": no PostgreSQL binaries under /usr/lib/postgresql, or not root.');
}

const SELF = '522732';
const work = mkdtempSync(join(tmpdir(), 'tongban-standby-'));
const primaryDir = join(work, 'primary');
const standbyDir = join(work, 'standby');
let primaryPort = 0;
let standbyPort = 0;
const stores: Store[] = [];

/** A shell line as the `postgres` user, with PostgreSQL's binaries on PATH and `env` set. */
async function asPostgres(line: string, env: Record<string, string> = {}): Promise<string> {
  const exports = Object.entries(env).map(([k, v]) => `export ${k}='${v}';`).join(' ');
  const { stdout } = await run('runuser', ['-u', 'postgres', '--', 'bash', '-c', `export PATH='${BIN}':"$PATH"; ${exports} cd '${work}' && ${line}`], { timeout: 60_000 });
  return stdout;
}

/** docs/deployment.md's standby commands (its `sh` block that starts with pg_basebackup). */
function documentedStandbyCommands(): string[] {
  const doc = readFileSync(new URL('../../docs/deployment.md', import.meta.url), 'utf8');
  const block = [...doc.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.startsWith('pg_basebackup '));
  expect(block, 'a sh block of docs/deployment.md that starts with pg_basebackup').toBeDefined();
  return block!.split('\n').filter((l) => l.trim() !== '');
}

const url = (port: number) => `postgres://postgres@127.0.0.1:${port}/tongban`;

beforeAll(async () => {
  if (!available) return;
  chownSync(work, Number((await run('id', ['-u', 'postgres'])).stdout.trim()), Number((await run('id', ['-g', 'postgres'])).stdout.trim()));
  chmodSync(work, 0o700);
  primaryPort = await freePortRun(2);
  standbyPort = primaryPort + 1;
  // The primary: a cluster of this test's, trusting loopback (replication included, initdb's default with -A trust).
  await asPostgres(`initdb -D '${primaryDir}' -A trust -U postgres --no-sync > /dev/null`);
  await asPostgres(`pg_ctl -D '${primaryDir}' -o "-p ${primaryPort} -k '${work}' -c listen_addresses=127.0.0.1 -c fsync=off" -l '${work}/primary.log' -w start > /dev/null`);
  await asPostgres(`createdb -h 127.0.0.1 -p ${primaryPort} -U postgres tongban`);
  // The standby, as the guide makes it.
  for (const line of documentedStandbyCommands()) {
    await asPostgres(line, { PRIMARY: `host=127.0.0.1 port=${primaryPort} user=postgres`, STANDBY_DIR: standbyDir, STANDBY_PORT: String(standbyPort) });
  }
}, 180_000);

afterAll(async () => {
  for (const store of stores.splice(0)) await store.close().catch(() => {});
  if (available) {
    for (const dir of [standbyDir, primaryDir]) if (existsSync(join(dir, 'postmaster.pid'))) await asPostgres(`pg_ctl -D '${dir}' -m immediate stop > /dev/null`).catch(() => {});
  }
  rmSync(work, { recursive: true, force: true });
}, 60_000);

describe.skipIf(!available)('read database on a PostgreSQL streaming standby (docs/deployment.md)', () => {
  it('the standby is in recovery and streams from the primary; the tracker and the dashboards read it, and see what the primary wrote once it is replayed; it takes no write', async () => {
    expect(statSync(join(standbyDir, 'standby.signal')).isFile()).toBe(true);
    const standby = new pg.Client({ connectionString: url(standbyPort) });
    await standby.connect();
    try {
      expect((await standby.query<{ r: boolean }>('select pg_is_in_recovery() as r')).rows[0]!.r).toBe(true);
      const primaryClient = new pg.Client({ connectionString: url(primaryPort) });
      await primaryClient.connect();
      // A standby just started may still be catching up: streaming within moments is what counts.
      let senders: string[] = [];
      await eventually(async () => {
        senders = (await primaryClient.query<{ state: string }>('select state from pg_stat_replication')).rows.map((s) => s.state);
        return senders.length === 1 && senders[0] === 'streaming';
      }, 30_000);
      await primaryClient.end();
      expect(senders).toEqual(['streaming']);

      // A node's store on the primary (migrated there; the standby receives the tables by streaming).
      const primary = await openStore({ url: url(primaryPort) });
      stores.push(primary);
      await primary.settings.put('node', { division: SELF });
      expect(await eventually(async () => (await standby.query("select to_regclass('audit_log') is not null as t")).rows[0]!.t === true, 30_000)).toBe(true);
      const reads = await openReadStore({ url: url(standbyPort), primaryUrl: url(primaryPort) });
      stores.push(reads);

      const auditKey = randomBytes(32);
      const proof: CitizenProof = { subject: 'citizen-1', idNumber: '11010519491231002X', tokenHash: 'x'.repeat(43), expiresAt: Math.floor(Date.now() / 1000) + 600, certificates: [] };
      const audit = new AuditLog(primary);
      const subjectHash = citizenSubjectHash(auditKey, proof);
      await audit.append({ kind: 'exchange.provide', outcome: 'allowed', subjectHash, detail: {} });
      // Written on the primary, on the standby once replayed (replication lag: a moment). Waited for
      // with a read that records nothing: each tracker look is itself audited for the citizen.
      expect(await eventually(async () => (await reads.audit.bySubjectPage(subjectHash, { limit: 10 })).length === 1, 30_000)).toBe(true);
      const kinds = (await readTrackerEntries({ self: SELF, store: reads, audit, auditKey }, proof, { limit: 10 })).entries.map((e) => e.kind);
      expect(kinds).toEqual(['exchange.provide']);
      // Each look is recorded on the primary (the standby could not take it).
      expect((await primary.audit.head())!.seq).toBeGreaterThanOrEqual(2);

      const report = await nodeReport({ self: SELF, store: primary, reads, clock: () => new Date(), learning: async () => [] });
      expect(report.audit.seq).toBeGreaterThanOrEqual(2);
      // The standby takes no write, whatever the session asks.
      await expect(standby.query("insert into node_settings (key, value, updated_at) values ('x', '1', 'now')")).rejects.toThrow(/read-only/);
      await expect(reads.settings.put('node', { division: '330523' })).rejects.toThrow(/read-only/);
    } finally {
      await standby.end();
    }
  }, 120_000);
});
