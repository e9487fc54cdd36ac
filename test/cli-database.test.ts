import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { describePostgres, postgresUrl } from './support/postgres.ts';

const BIN = new URL('../bin/tongban.js', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'tongban-cli-db-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs the real CLI; a `serve` that is still running after `timeoutMs` is stopped and reported as such. */
function tongban(args: string[], timeoutMs = 30_000): Promise<{ code: number | 'still running'; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // Each node's own database: an inherited override would point them all elsewhere.
    const env = { ...process.env };
    delete env.DATABASE_URL;
    const child = spawn(process.execPath, [BIN, ...args], { cwd: work, env: { ...env, TONGBAN_DEBUG: '' } });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: timedOut ? 'still running' : (code ?? -1), stdout, stderr });
    });
  });
}

async function init(name: string, database?: string): Promise<{ dir: string; config: string; file: string }> {
  const dir = join(work, name);
  const r = await tongban(['init', '--division', '320400', '--role', 'hub', '--port', '0', '--dir', dir, ...(database ? ['--database', database] : [])]);
  expect(r.code).toBe(0);
  return { dir, config: join(dir, 'tongban.config.json'), file: join(dir, 'data', 'node.sqlite') };
}

const STACK_LINE = /^\s+at .+[:(]/m;

describe('tongban serve on a damaged database', () => {
  it('refuses a node whose database file was truncated to zero bytes, naming the file, instead of starting a new empty chain', async () => {
    const node = await init('zero');
    truncateSync(node.file, 0);
    const r = await tongban(['serve', '--config', node.config], 20_000);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBe('still running');
    expect(r.stderr).toContain(node.file);
    expect(r.stderr).toMatch(/empty/);
    expect(r.stderr).toMatch(/backup/);
    expect(r.stderr).not.toMatch(STACK_LINE);
    // Refusing did not write into the file: it is still as the intruder left it.
    const again = await tongban(['serve', '--config', node.config], 20_000);
    expect(again.stderr).toContain(node.file);
  });

  it('names the file when it is not a database at all', async () => {
    const node = await init('garbage');
    writeFileSync(node.file, randomBytes(64 * 1024));
    const r = await tongban(['serve', '--config', node.config], 20_000);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBe('still running');
    expect(r.stderr).toContain(node.file);
    expect(r.stderr).not.toContain('Database migration failed.');
    expect(r.stderr).not.toMatch(STACK_LINE);
  });

  it('audit verify refuses an emptied database too, instead of reporting an empty chain as intact', async () => {
    const node = await init('verify-zero');
    truncateSync(node.file, 0);
    const r = await tongban(['audit', 'verify', '--config', node.config]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(node.file);
  });
});

describePostgres('tongban serve on an emptied schema', () => {
  it('refuses a node whose PostgreSQL schema was dropped, naming the schema', async () => {
    const schema = 'cli_' + randomBytes(5).toString('hex');
    const url = new URL(postgresUrl!);
    url.searchParams.set('schema', schema);
    const node = await init('pg-empty', url.toString());
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    try {
      await client.query(`DROP SCHEMA ${schema} CASCADE`);
      const r = await tongban(['serve', '--config', node.config], 20_000);
      expect(r.code).not.toBe(0);
      expect(r.code).not.toBe('still running');
      expect(r.stderr).toContain(`schema ${schema}`);
      expect(r.stderr).toMatch(/empty/);
      expect(r.stderr).not.toMatch(STACK_LINE);
    } finally {
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    }
  });
});

describe('tongban serve --read-database', () => {
  it('is refused for a node on SQLite (a read replica is PostgreSQL, of a node on PostgreSQL), naming the flag', async () => {
    const node = await init('sqlite-read');
    const r = await tongban(['serve', '--config', node.config, '--read-database', 'postgres://postgres@127.0.0.1:1/none'], 20_000);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBe('still running');
    expect(r.stderr).toContain('--read-database');
    expect(r.stderr).toMatch(/SQLite/);
    expect(r.stderr).not.toMatch(STACK_LINE);
  });
});

describePostgres('tongban serve --read-database on PostgreSQL', () => {
  it("serves with the read database named at start-up, and refuses one that is not a replica of the node's database", async () => {
    const schema = 'cli_' + randomBytes(5).toString('hex');
    const url = new URL(postgresUrl!);
    url.searchParams.set('schema', schema);
    const node = await init('pg-read', url.toString());
    // Not a replica here: the same database on a connection of its own (the node's schema is taken when the URL names none).
    const read = new URL(postgresUrl!);
    read.searchParams.set('application_name', 'tongban-read-cli');
    const other = 'cli_' + randomBytes(5).toString('hex');
    const elsewhere = new URL(postgresUrl!);
    elsewhere.searchParams.set('schema', other);
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    try {
      const serving = await tongban(['serve', '--config', node.config, '--read-database', read.toString()], 15_000);
      expect(serving.code).toBe('still running');
      expect(serving.stdout).toMatch(/listening on .*\(store: postgres, reads: postgres:\/\/.*application_name=tongban-read-cli/);
      await client.query(`CREATE SCHEMA ${other}`);
      const refused = await tongban(['serve', '--config', node.config, '--read-database', elsewhere.toString()], 20_000);
      expect(refused.code).not.toBe(0);
      expect(refused.code).not.toBe('still running');
      expect(refused.stderr).toContain(`schema ${other}`);
      expect(refused.stderr).not.toMatch(STACK_LINE);
    } finally {
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.query(`DROP SCHEMA IF EXISTS ${other} CASCADE`);
      await client.end();
    }
  }, 60_000);
});
