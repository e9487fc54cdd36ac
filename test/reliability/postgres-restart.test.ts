import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleSubjects } from '../../src/demo/registries.ts';
import type { RunningFederation } from '../../src/federation/index.ts';
import { postgresBinDir, startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres.ts';
import { eventually, json, processFederation } from './support.ts';

/**
 * PostgreSQL restarted under load — a server of the test's own (initdb in a temporary folder
 * on a free port), never the machine's: its restart cuts every connection of the five servers.
 */
const installed = postgresBinDir() !== undefined;
if (!installed) {
  if (process.env.CI === 'true') throw new Error('CI=true but initdb/pg_ctl are not installed: the PostgreSQL restart test cannot be skipped in CI.');
  console.warn('[postgres] skipped "PostgreSQL restarted under load": initdb and pg_ctl are not installed.');
}

let server: PrivatePostgres | undefined;
let f: RunningFederation | undefined;
let cleanup: (() => Promise<void>) | undefined;
let logs: string[] = [];

beforeAll(async () => {
  if (!installed) return;
  server = await startPrivatePostgres();
  ({ f, cleanup, logs } = await processFederation({ databaseUrl: server.url, schemaPrefix: 'r' }));
}, 180_000);
afterAll(async () => {
  await cleanup?.();
  server?.stop();
});

async function startedAt(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ t: Date }>('SELECT pg_postmaster_start_time() AS t')).rows[0]!.t.getTime();
  } finally {
    await client.end();
  }
}

describe.skipIf(!installed)('PostgreSQL restarted under load', () => {
  it('requests in flight across the restart end in an answer with a clear code; the nodes recover by themselves', async () => {
    const subject = sampleSubjects(f!.registryPath('522732'), 1).people[0]!.idNumber;
    const ask = () =>
      json(new URL('/v1/operator/exchange', f!.nodes.get('330523')!.endpoint).toString(), {
        method: 'POST',
        token: f!.operatorToken('330523'),
        body: JSON.stringify({ provider: '522732', service: 'household.residence-proof', subject: { type: 'idNumber', value: subject }, purpose: '户籍类证明开具', fields: ['name'] }),
      });
    expect((await ask()).status).toBe(200);
    const outcomes: Array<{ status: number; code?: string; type: string; began: number; ended: number }> = [];
    let stop = false;
    const loop = async () => {
      while (!stop) {
        const began = Date.now();
        const r = await ask().catch(() => ({ status: 0, json: {} as { code?: string }, type: '' }));
        outcomes.push({ status: r.status, code: r.json.code, type: r.type, began, ended: Date.now() });
      }
    };
    const loops = [loop(), loop(), loop()];
    expect(await eventually(() => outcomes.filter((o) => o.status === 200).length >= 5, 30_000)).toBe(true);

    const before = await startedAt(server!.url);
    const restartBegan = Date.now();
    await server!.restart();
    const restartEnded = Date.now();
    // The restart happened: the server's start time moved.
    expect(await startedAt(server!.url)).toBeGreaterThan(before);

    // Recovery: five answers in a row succeed again, without anyone touching the nodes.
    const recovered = await eventually(() => {
      const since = outcomes.filter((o) => o.began > restartEnded);
      return since.length >= 5 && since.slice(-5).every((o) => o.status === 200);
    }, 60_000);
    stop = true;
    await Promise.all(loops);
    // The servers' own words when they did not recover (a crash shows its stack here).
    if (!recovered) console.log(logs.filter((l) => !l.includes('PEER_UNREACHABLE')).slice(-40).join('\n'));
    expect(recovered).toBe(true);

    // Load was on across the restart: requests were in flight when it began, and requests
    // were sent while the server was down or coming back.
    expect(outcomes.filter((o) => o.began < restartBegan && o.ended > restartBegan).length).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o.began >= restartBegan && o.began <= restartEnded).length).toBeGreaterThan(0);
    // Every request ended in an answer (no hang, no dropped connection); every failure with a stable code.
    expect(outcomes.filter((o) => o.status === 0)).toEqual([]);
    for (const failure of outcomes.filter((o) => o.status !== 200)) {
      expect(failure.status).toBeGreaterThanOrEqual(400);
      expect(failure.type).toMatch(/problem\+json/);
      expect(failure.code).toMatch(/^[A-Z_]+$/);
      expect(failure.code).not.toBe('INTERNAL');
    }
    expect((await ask()).status).toBe(200);
  }, 180_000);
});
