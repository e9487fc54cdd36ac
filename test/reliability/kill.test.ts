import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleSubjects } from '../../src/demo/registries.ts';
import type { RunningFederation } from '../../src/federation/index.ts';
import { json, processFederation, sleep } from './support.ts';

const run = promisify(execFile);
const BIN = new URL('../../bin/tongban.js', import.meta.url).pathname;
let f: RunningFederation;
let cleanup: () => Promise<void>;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  ({ f, cleanup } = await processFederation());
  for (const [node, id, role] of [['522732', 'clerk', 'clerk'], ['330523', 'approver', 'approver']] as const) {
    tokens[node] = (await json(new URL('/v1/operator/accounts', f.nodes.get(node)!.endpoint).toString(), { method: 'POST', token: f.operatorToken(node), body: JSON.stringify({ id, role, name: id }) })).json.token;
  }
}, 120_000);
afterAll(async () => {
  await cleanup?.();
});

describe('kill -9 in the middle of hand-offs and exchanges', () => {
  it('after restart no committed case is lost or duplicated, the audit chains verify, the outbox delivers what was pending', async () => {
    const sandu = f.nodes.get('522732')!;
    const anji = f.nodes.get('330523')!;
    const people = sampleSubjects(f.registryPath('522732'), 40).people;
    const committed: string[] = [];
    let exchanges = 0;
    let stop = false;

    const caseLoop = async (k: number) => {
      for (let i = 0; !stop; i++) {
        try {
          const p = people[(k * 7 + i) % people.length]!;
          const applied = await json(new URL('/v1/cases', sandu.endpoint).toString(), { method: 'POST', token: tokens['522732'], body: JSON.stringify({ itemCode: 'N010', mode: 'proxy', competentNodes: ['330523'], applicant: { idNumber: p.idNumber, name: p.name } }) });
          if (applied.status !== 201) continue;
          const id = applied.json.case.id;
          await json(new URL(`/v1/cases/${id}/actions/precheck`, sandu.endpoint).toString(), { method: 'POST', token: tokens['522732'], body: JSON.stringify({ materials: applied.json.case.materials.map((m: any) => ({ name: m.name, checked: true })), identityVerified: true }) });
          const accepted = await json(new URL(`/v1/cases/${id}/actions/accept`, sandu.endpoint).toString(), { method: 'POST', token: tokens['522732'], body: '{}' });
          if (accepted.status === 200) committed.push(id);
        } catch {
          await sleep(50);
        }
      }
    };
    const exchangeLoop = async () => {
      while (!stop) {
        try {
          const r = await json(new URL('/v1/operator/exchange', anji.endpoint).toString(), { method: 'POST', token: f.operatorToken('330523'), body: JSON.stringify({ provider: '522732', service: 'household.residence-proof', subject: { type: 'idNumber', value: people[0]!.idNumber }, purpose: '户籍类证明开具', fields: ['name'] }) });
          if (r.status === 200) exchanges++;
        } catch {
          await sleep(50);
        }
      }
    };
    const loops = [caseLoop(1), caseLoop(2), caseLoop(3), exchangeLoop(), exchangeLoop()];
    await sleep(2500);
    const committedBeforeKill = committed.length;
    await sandu.kill();
    await sleep(500);
    stop = true;
    await Promise.all(loops);
    expect(committedBeforeKill).toBeGreaterThan(3);
    expect(exchanges).toBeGreaterThan(5);

    await sandu.start();
    // Every case whose acceptance was answered is there, accepted; no case is there twice.
    const state = async (endpoint: string, token: string, id: string) => (await json(new URL(`/v1/cases/${id}`, endpoint).toString(), { token })).json.case?.state;
    for (const id of committed) expect(await state(sandu.endpoint, tokens['522732']!, id)).toBe('accepted');
    const db = new BetterSqlite3(join(f.dir, '522732', 'data', 'node.sqlite'), { readonly: true });
    const duplicates = db.prepare('SELECT count(*) - count(DISTINCT id) AS n FROM cases').get() as { n: number };
    db.close();
    expect(duplicates.n).toBe(0);

    // The outbox delivers what was pending: Anji ends up with every accepted case.
    for (const id of committed) {
      let got: string | undefined;
      for (let i = 0; i < 100 && got !== 'accepted'; i++) {
        got = await state(anji.endpoint, tokens['330523']!, id);
        if (got !== 'accepted') await sleep(100);
      }
      expect(got, id).toBe('accepted');
    }
    // …each hand-off applied once.
    const anjiDb = new BetterSqlite3(join(f.dir, '330523', 'data', 'node.sqlite'), { readonly: true });
    const twice = anjiDb.prepare("SELECT case_id, detail, count(*) AS n FROM audit_log WHERE kind = 'case.received' AND outcome = 'received' GROUP BY case_id, detail HAVING n > 1").all();
    anjiDb.close();
    expect(twice).toEqual([]);
    const outbox = new BetterSqlite3(join(f.dir, '522732', 'data', 'node.sqlite'), { readonly: true });
    const pending = outbox.prepare("SELECT count(*) AS n FROM outbox WHERE status != 'delivered'").get() as { n: number };
    outbox.close();
    expect(pending.n).toBe(0);

    // Audit chains verify on both sides, against the hub's checkpoints.
    for (const node of ['522732', '330523']) {
      const verdict = await run(process.execPath, [BIN, 'audit', 'verify', '--config', f.nodes.get(node)!.configPath]);
      expect(JSON.parse(verdict.stdout)).toMatchObject({ ok: true });
    }
  }, 120_000);
});
