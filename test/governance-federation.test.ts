import { afterAll, beforeAll, expect, it } from 'vitest';
import { sampleSubjects } from '../src/demo/registries.ts';
import { askNodeReport, FederationReport, NodeReport } from '../src/governance/index.ts';
import { startTestFederation, type TestFederation } from './support/federation.ts';

const SANDU = '522732';
const ANJI = '330523';
const CHANGZHOU = '320400';
const QINGPU = '310118';
const HUB = '100000';

/**
 * The governance reports over a real federation: each node answers the hub only (signed, bound to
 * the hub's nonce); the hub's published report lists every approved node — Qingpu, stopped, as
 * unavailable rather than left out; a node relays the hub's report to its supervisor after checking
 * the hub's signature.
 */
let t: TestFederation;
let supervisor: string;
let clerk: string;

beforeAll(async () => {
  t = await startTestFederation('sqlite');
  const account = async (node: string, id: string, role: string) => (await t.operator(node, '/v1/operator/accounts', { id, role, name: id })).json.token as string;
  supervisor = await account(SANDU, 'gov-supervisor', 'supervisor');
  clerk = await account(SANDU, 'gov-clerk', 'clerk');
  const person = sampleSubjects(t.f.registryPath(SANDU), 1).people[0]!;
  // Two cases Sandu accepts for Anji.
  for (let i = 0; i < 2; i++) {
    const r = await fetch(new URL('/v1/cases', t.f.nodes.get(SANDU)!.endpoint), {
      method: 'POST',
      headers: { authorization: `Bearer ${clerk}`, 'content-type': 'application/json' },
      body: JSON.stringify({ itemCode: 'N034', mode: 'online', competentNodes: [ANJI], applicant: person }),
    });
    expect(r.status).toBe(201);
  }
  // An exchange Sandu answers, and one it refuses (a purpose the agreement does not allow).
  const ask = (purpose: string) => t.operator(ANJI, '/v1/operator/exchange', { provider: SANDU, service: 'household.residence-proof', subject: { type: 'idNumber', value: person.idNumber }, purpose });
  expect((await ask('户籍类证明开具')).status).toBe(200);
  expect((await ask('不在协议里的用途')).status).toBe(403);
}, 300_000);

afterAll(async () => {
  await t?.stop();
});

it("a node answers the hub's signed request with its counts, signed and bound to the nonce", async () => {
  const view = await t.f.hub.runtime!.exchange.directory.current();
  const sandu = view.snapshot.nodes.find((n) => n.division === SANDU)!;
  const answer = await askNodeReport(sandu, t.key(HUB), () => new Date());
  expect(answer.status).toBe('ok');
  const report = NodeReport.parse(answer.report);
  expect(report.balance).toEqual([{ partner: ANJI, acceptedForPartner: 2, acceptedByPartner: 0 }]);
  expect(report.savings).toMatchObject({ trips: 2, days: 4, applicants: 1 });
  expect(report.refusals).toEqual([{ partner: ANJI, code: 'PURPOSE_NOT_ALLOWED', count: 1 }]);
  // Asked with another node's key: refused (that node is not the hub).
  const refused = await askNodeReport(sandu, t.key(ANJI), () => new Date());
  expect(refused).toMatchObject({ status: 'refused', code: 'GOVERNANCE_FORBIDDEN' });
});

it('the hub publishes every approved node, a stopped one as unavailable; a node relays it to its supervisor, not to a clerk', async () => {
  await t.f.nodes.get(QINGPU)!.stop();
  const response = await fetch(new URL('/v1/governance/federation', t.f.hub.endpoint));
  expect(response.status).toBe(200);
  expect(response.headers.get('signature')).toBeTruthy();
  const report = FederationReport.parse(await response.json());
  expect(report.sources.map((s) => [s.division, s.status])).toEqual([
    [QINGPU, 'unavailable'],
    [CHANGZHOU, 'ok'],
    [ANJI, 'ok'],
    [SANDU, 'ok'],
  ]);
  const sanduBalance = report.balance.nodes.find((n) => n.division === SANDU)!;
  expect(sanduBalance).toMatchObject({ acceptedForOthers: 2, acceptedByOthers: 0 });
  // Anji holds no copy yet: a case reaches its competent node once accepted.
  expect(report.balance.nodes.find((n) => n.division === ANJI)).toMatchObject({ acceptedForOthers: 0, acceptedByOthers: 0 });
  expect(report.balance.nodes.find((n) => n.division === QINGPU)).toMatchObject({ source: 'unavailable', acceptedForOthers: null, savings: null });
  // Qingpu is still on the audit and trust dashboards, with what the hub knows without asking it.
  expect(report.audit.find((a) => a.division === QINGPU)).toMatchObject({ source: 'unavailable', status: 'unknown' });
  expect(report.trust.nodes.map((n) => n.division)).toEqual([QINGPU, CHANGZHOU, ANJI, SANDU]);
  expect(report.trust.nodes.find((n) => n.division === SANDU)!.availability).toBe(1);
  // Every node has agreements in force: progress counts the national items they name.
  expect(report.progress.nodes.find((n) => n.division === SANDU)!.enabled).toBeGreaterThan(0);
  expect(report.progress.nodes[0]!.rank).toBe(1);

  const relay = (token: string) => fetch(new URL('/v1/governance/federation', t.f.nodes.get(SANDU)!.endpoint), { headers: { authorization: `Bearer ${token}` } });
  const relayed = await relay(supervisor);
  expect(relayed.status).toBe(200);
  expect(FederationReport.parse(await relayed.json()).sources).toEqual(report.sources);
  const refused = await relay(clerk);
  expect(refused.status).toBe(403);
  expect(((await refused.json()) as { code: string }).code).toBe('GOVERNANCE_FORBIDDEN');
  const own = await fetch(new URL('/v1/governance/node', t.f.nodes.get(SANDU)!.endpoint), { headers: { authorization: `Bearer ${supervisor}` } });
  expect(own.status).toBe(200);
  expect(NodeReport.parse(await own.json()).nonce).toBeNull();
});
