import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleSubjects } from '../../src/demo/registries.ts';
import type { RunningFederation } from '../../src/federation/index.ts';
import { postgresUrl } from '../support/postgres.ts';
import { json, processFederation, sleep } from './support.ts';

const prefix = 'r' + randomBytes(4).toString('hex');
let f: RunningFederation | undefined;
let cleanup: (() => Promise<void>) | undefined;

function restartPostgres(): void {
  const version = readdirSync('/etc/postgresql').sort().at(-1)!;
  execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'restart', '-m', 'fast'], { stdio: 'ignore' });
}

const enabled = Boolean(postgresUrl) && process.env.TONGBAN_RELIABILITY_PG !== 'off';

beforeAll(async () => {
  if (!enabled) return;
  ({ f, cleanup } = await processFederation({ databaseUrl: postgresUrl!, schemaPrefix: prefix }));
}, 120_000);
afterAll(async () => {
  await cleanup?.();
  if (!enabled) return;
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  for (const name of ['hub', '522732', '330523', '320400', '310118']) await client.query(`DROP SCHEMA IF EXISTS ${prefix}_${name} CASCADE`);
  await client.end();
});

describe.skipIf(!enabled)('PostgreSQL restarted under load', () => {
  it('requests fail with a clear error during the outage; the nodes recover by themselves', async () => {
    const subject = sampleSubjects(f!.registryPath('522732'), 1).people[0]!.idNumber;
    const ask = () =>
      json(new URL('/v1/operator/exchange', f!.nodes.get('330523')!.endpoint).toString(), {
        method: 'POST',
        token: f!.operatorToken('330523'),
        body: JSON.stringify({ provider: '522732', service: 'household.residence-proof', subject: { type: 'idNumber', value: subject }, purpose: '户籍类证明开具', fields: ['name'] }),
      });
    expect((await ask()).status).toBe(200);
    const outcomes: Array<{ status: number; code?: string; type: string }> = [];
    let stop = false;
    const loop = async () => {
      while (!stop) {
        const r = await ask().catch(() => ({ status: 0, json: {}, type: '' }));
        outcomes.push({ status: r.status, code: r.json.code, type: r.type });
      }
    };
    const loops = [loop(), loop(), loop()];
    await sleep(500);
    restartPostgres();
    // Recovery: requests succeed again without anyone touching the nodes.
    let recoveredAfter = -1;
    const restarted = Date.now();
    for (let i = 0; i < 120; i++) {
      const okSince = outcomes.slice(-5);
      if (okSince.length === 5 && okSince.every((o) => o.status === 200) && Date.now() - restarted > 1000) {
        recoveredAfter = Date.now() - restarted;
        break;
      }
      await sleep(250);
    }
    stop = true;
    await Promise.all(loops);
    expect(recoveredAfter).toBeGreaterThanOrEqual(0);
    const failures = outcomes.filter((o) => o.status !== 200);
    // Every failure was an answer (no hang, no dropped connection) with a stable code.
    for (const failure of failures) {
      expect(failure.status).toBeGreaterThanOrEqual(400);
      expect(failure.type).toMatch(/problem\+json/);
      expect(failure.code).toMatch(/^[A-Z_]+$/);
      expect(failure.code).not.toBe('INTERNAL');
    }
    expect((await ask()).status).toBe(200);
  }, 120_000);
});
