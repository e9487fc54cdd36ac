import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { signingKeyFromJwk } from '../../src/crypto/index.ts';
import { sampleSubjects } from '../../src/demo/registries.ts';
import { signedRequestHeaders } from '../../src/exchange/index.ts';
import type { RunningFederation } from '../../src/federation/index.ts';
import { eventually, json, processFederation, sleep } from './support.ts';

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
    // Kill once work is under way (a condition, not a guess at how fast this machine is).
    expect(await eventually(() => committed.length > 3 && exchanges > 5, 60_000)).toBe(true);
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
    // No transition announced twice: one hand-off per (case, version, destination). Outbox ids
    // are random, so a transaction replayed after the crash would show up here.
    const sanduDb = new BetterSqlite3(join(f.dir, '522732', 'data', 'node.sqlite'), { readonly: true });
    const announcedTwice = sanduDb
      .prepare("SELECT destination, json_extract(payload, '$.id') AS c, json_extract(payload, '$.version') AS v, count(*) AS n FROM outbox WHERE kind = 'case.snapshot' GROUP BY destination, c, v HAVING n > 1")
      .all();
    sanduDb.close();
    expect(announcedTwice).toEqual([]);

    // The outbox delivers what was pending: Anji ends up with every accepted case.
    for (const id of committed) {
      let got: string | undefined;
      for (let i = 0; i < 100 && got !== 'accepted'; i++) {
        got = await state(anji.endpoint, tokens['330523']!, id);
        if (got !== 'accepted') await sleep(100);
      }
      expect(got, id).toBe('accepted');
    }
    const outbox = new BetterSqlite3(join(f.dir, '522732', 'data', 'node.sqlite'), { readonly: true });
    const pending = outbox.prepare("SELECT count(*) AS n FROM outbox WHERE status != 'delivered'").get() as { n: number };
    const sent = outbox.prepare("SELECT id, kind, payload FROM outbox WHERE destination = '330523' AND kind = 'case.snapshot'").all() as Array<{ id: string; kind: string; payload: string }>;
    outbox.close();
    expect(pending.n).toBe(0);
    expect(sent.length).toBeGreaterThanOrEqual(committed.length);

    // …each hand-off processed once per message id: Anji holds one inbox record per message
    // Sandu sent (none lost), and one case.received entry per message (a message processed
    // again — after a redelivery — would add an entry, "refused" as stale).
    const receivedEntries = () => {
      const db = new BetterSqlite3(join(f.dir, '330523', 'data', 'node.sqlite'), { readonly: true });
      const entries = db.prepare("SELECT count(*) AS n FROM audit_log WHERE kind = 'case.received' AND requester = '522732'").get() as { n: number };
      const records = db.prepare("SELECT id FROM inbox_messages WHERE sender = '522732'").all() as Array<{ id: string }>;
      db.close();
      return { entries: entries.n, records: new Set(records.map((r) => `522732:${r.id}`)) };
    };
    const before = receivedEntries();
    for (const message of sent) expect(before.records.has(`522732:${message.id}`), message.id).toBe(true);
    expect(before.entries).toBe(sent.length);

    // A redelivery, as Sandu's outbox sends one when it dies between delivering and marking
    // the message delivered: the same message, freshly signed. Anji answers it as a replay
    // and applies nothing, logs nothing.
    const sanduConfig = loadConfig(sandu.configPath, {});
    const sanduKey = signingKeyFromJwk('522732', (JSON.parse(readFileSync(sanduConfig.keyFile, 'utf8')) as { privateJwk: unknown }).privateJwk);
    const again = sent[0]!;
    const url = new URL('/v1/cases/inbox', anji.endpoint).toString();
    const body = JSON.stringify({ id: again.id, kind: again.kind, payload: JSON.parse(again.payload) });
    const redelivered = await fetch(url, { method: 'POST', headers: await signedRequestHeaders(sanduKey, url, body, new Date()), body });
    expect(redelivered.status).toBe(200);
    expect(await redelivered.json()).toMatchObject({ id: again.id, replayed: true });
    expect(receivedEntries().entries).toBe(sent.length);

    // Audit chains verify on both sides, against the hub's checkpoints.
    for (const node of ['522732', '330523']) {
      const verdict = await run(process.execPath, [BIN, 'audit', 'verify', '--json', '--config', f.nodes.get(node)!.configPath]);
      expect(JSON.parse(verdict.stdout)).toMatchObject({ ok: true });
    }
  }, 120_000);
});
