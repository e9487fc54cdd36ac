import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEMO_PASSWORD } from '../src/federation/index.ts';
import { startTestFederation, type Backend, type TestFederation } from './support/federation.ts';
import { cliClient, signIn } from './support/identity.ts';

const SANDU = '522732';
const ANJI = '330523';
const AGREEMENT = 'AGR-522732-330523-DA1';

async function until<T>(what: string, read: () => Promise<T>, check: (value: T) => boolean, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value).slice(0, 600)}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/**
 * Data administrators (role dataAdmin, signed in at the hub) negotiate, sign, register, suspend and
 * resume an agreement through their own nodes' operator routes (auth kind data-admin) — no operator
 * token —, each step recorded under their login in the negotiation's history and the signed state
 * change, and audited with their subject. Clerks and another node's data administrator are refused.
 * Runs on SQLite and on PostgreSQL.
 */
export function dataAdminContract(backend: Backend): void {
  let t: TestFederation;
  const tokens: Record<string, string> = {};
  const subjects: Record<string, string> = {};

  beforeAll(async () => {
    t = await startTestFederation(backend, { demoPeople: { password: DEMO_PASSWORD } });
    for (const [key, login] of [
      ['sandu', `dataadmin@${SANDU}`],
      ['anji', `dataadmin@${ANJI}`],
      ['clerk', `clerk@${SANDU}`],
      ['supervisor', `supervisor@${SANDU}`],
      ['operatorStaff', `operator@${SANDU}`],
    ] as const) {
      const signedIn = await signIn(t.f.hub.endpoint, login, DEMO_PASSWORD, cliClient());
      tokens[key] = signedIn.accessToken;
      subjects[key] = String(signedIn.claims.sub);
      if (key === 'sandu') expect(signedIn.claims).toMatchObject({ tongban_login: login, tongban_roles: ['dataAdmin'] });
    }
  }, 300_000);
  afterAll(async () => {
    await t?.stop();
  });

  const call = async (node: string, token: string, method: 'GET' | 'POST', path: string, body?: unknown) => {
    const response = await fetch(new URL(path, t.f.nodes.get(node)!.endpoint), {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, json: (await response.json()) as any };
  };
  const show = (node: 'sandu' | 'anji', id: string) => call(node === 'sandu' ? SANDU : ANJI, tokens[node]!, 'GET', `/v1/operator/agreements/drafts/${id}`).then((r) => r.json);
  const act = (node: 'sandu' | 'anji', id: string, body: Record<string, unknown>) => call(node === 'sandu' ? SANDU : ANJI, tokens[node]!, 'POST', `/v1/operator/agreements/drafts/${id}/actions`, body);

  it('two data administrators draft from a template, counter, accept, sign and register; the history and the audit name them', async () => {
    const templates = await call(SANDU, tokens.sandu!, 'GET', '/v1/operator/agreements/templates');
    expect(templates.status).toBe(200);
    expect(templates.json.map((x: { id: string }) => x.id)).toContain('national-baseline');
    const now = Date.now();
    const params = { id: AGREEMENT, convener: SANDU, partners: [ANJI], validFrom: new Date(now - 60_000).toISOString(), validUntil: new Date(now + 365 * 86_400_000).toISOString() };
    // Not in someone else's name.
    const impersonated = await call(SANDU, tokens.sandu!, 'POST', '/v1/operator/agreements/drafts', { template: 'national-baseline', params, operator: 'someone-else' });
    expect([impersonated.status, impersonated.json.code]).toEqual([400, 'OPERATOR_NOT_CALLER']);
    const drafted = await call(SANDU, tokens.sandu!, 'POST', '/v1/operator/agreements/drafts', { template: 'national-baseline', params });
    expect(drafted.status, JSON.stringify(drafted.json)).toBe(201);
    const id: string = drafted.json.id;
    expect(drafted.json.history[0].actor).toEqual({ node: SANDU, id: `dataadmin@${SANDU}`, role: 'dataAdmin' });
    const edited = { ...drafted.json.terms, items: drafted.json.terms.items.map((i: { itemCode: string }) => (i.itemCode === 'N034' ? { ...i, timeLimitDays: 10 } : i)) };
    expect((await act('sandu', id, { action: 'edit', terms: edited })).status).toBe(200);
    expect((await act('sandu', id, { action: 'propose' })).status).toBe(200);

    // Anji's data administrator sees round 1 and counters it (a shorter time limit).
    const atAnji = await until('Anji holds round 1', () => show('anji', id), (n) => n.rounds?.length === 1);
    expect(atAnji.changesFromTemplate).toEqual([expect.stringMatching(/^items\[N034\]\.timeLimitDays: \d+ → 10$/)]);
    const countered = { ...atAnji.terms, items: atAnji.terms.items.map((i: { itemCode: string }) => (i.itemCode === 'N034' ? { ...i, timeLimitDays: 7 } : i)) };
    const counter = await act('anji', id, { action: 'counter', terms: countered, answers: 1 });
    expect([counter.status, counter.json.forwardedTo]).toEqual([200, SANDU]);
    const round2 = await until('Sandu holds round 2', () => show('sandu', id), (n) => n.rounds?.length === 2);
    expect(round2.rounds[1].changes).toEqual(['items[N034].timeLimitDays: 10 → 7']);
    const accepted = await act('sandu', id, { action: 'accept', round: 2, hash: round2.rounds[1].hash });
    expect(accepted.json.negotiation.state).toBe('accepted');
    expect((await act('sandu', id, { action: 'sign' })).status).toBe(200);
    await until('Anji sees it accepted', () => show('anji', id), (n) => n.state === 'accepted');
    expect((await act('anji', id, { action: 'sign' })).json.forwardedTo).toBe(SANDU);
    await until('signed by both', () => show('sandu', id), (n) => n.state === 'signed');
    const registered = await act('sandu', id, { action: 'register' });
    expect(registered.json.negotiation.state).toBe('active');

    const history = (await show('sandu', id)).history as Array<{ action: string; actor: { node: string; id: string; role: string } }>;
    expect(history.filter((h) => h.actor.node === ANJI).map((h) => [h.action, h.actor.id, h.actor.role])).toEqual([
      ['counter', `dataadmin@${ANJI}`, 'dataAdmin'],
      ['sign', `dataadmin@${ANJI}`, 'dataAdmin'],
    ]);
    expect(history.filter((h) => h.actor.node === SANDU && h.actor.role !== 'system').every((h) => h.actor.id === `dataadmin@${SANDU}`)).toBe(true);
    const audited = (await t.auditEntries(SANDU)).filter((e) => e.kind === 'agreement.negotiate' && e.detail.negotiation === id && e.outcome === 'allowed' && e.requester === SANDU && e.actor?.role !== 'system');
    expect(audited.map((e) => e.detail.action)).toEqual(['draft', 'edit', 'propose', 'accept', 'sign', 'register']);
    for (const e of audited) expect(e.actor).toEqual({ subject: subjects.sandu, node: SANDU, role: 'dataAdmin' });
    // At Anji, the steps its data administrator sent to the convener, under their subject.
    const atAnjiLog = (await t.auditEntries(ANJI)).filter((e) => e.kind === 'agreement.negotiate' && e.detail.negotiation === id && e.outcome === 'allowed');
    expect(atAnjiLog.map((e) => [e.detail.action, e.operator, e.actor])).toEqual([
      ['counter', `dataAdmin:dataadmin@${ANJI}`, { subject: subjects.anji, node: ANJI, role: 'dataAdmin' }],
      ['sign', `dataAdmin:dataadmin@${ANJI}`, { subject: subjects.anji, node: ANJI, role: 'dataAdmin' }],
    ]);

    // Both nodes list it in force; Sandu's services show the grants it makes.
    for (const [node, token] of [
      [SANDU, tokens.sandu!],
      [ANJI, tokens.anji!],
    ] as const) {
      const listed = await until(`${node} relies on it`, () => call(node, token, 'GET', '/v1/operator/agreements'), (r) => r.json.agreements?.some((a: { terms: { id: string } }) => a.terms.id === AGREEMENT));
      expect(listed.json.agreements.find((a: { terms: { id: string } }) => a.terms.id === AGREEMENT)).toMatchObject({ state: 'active', signedBy: expect.arrayContaining([SANDU, ANJI]) });
    }
    const services = (await call(SANDU, tokens.sandu!, 'GET', '/v1/operator/services')).json as Array<{ id: string; grants: Array<{ agreementId: string; requesters: string[]; consentRequired: boolean }> }>;
    expect(services.find((s) => s.id === 'household.residence-proof')!.grants.find((g) => g.agreementId === AGREEMENT)).toMatchObject({ requesters: [ANJI], consentRequired: false });
  }, 240_000);

  it('a data administrator suspends the agreement in their name; only their node resumes it', async () => {
    const suspended = await call(SANDU, tokens.sandu!, 'POST', `/v1/operator/agreements/${AGREEMENT}/suspend`, { reason: '安全事件核查' });
    expect(suspended.status, JSON.stringify(suspended.json)).toBe(200);
    expect(suspended.json).toMatchObject({ action: 'suspend', to: 'suspended', party: SANDU, actor: `dataadmin@${SANDU}` });
    const atAnji = await until('Anji sees it suspended', () => call(ANJI, tokens.anji!, 'GET', '/v1/operator/agreements'), (r) => r.json.agreements.find((a: { terms: { id: string } }) => a.terms.id === AGREEMENT)?.state === 'suspended');
    expect(atAnji.json.agreements.find((a: { terms: { id: string } }) => a.terms.id === AGREEMENT).stateChange).toMatchObject({ party: SANDU, actor: `dataadmin@${SANDU}`, reason: '安全事件核查' });
    const byAnji = await call(ANJI, tokens.anji!, 'POST', `/v1/operator/agreements/${AGREEMENT}/resume`, { reason: '恢复' });
    expect([byAnji.status, byAnji.json.code]).toEqual([409, 'AGREEMENT_TRANSITION_NOT_ALLOWED']);
    const named = await call(SANDU, tokens.sandu!, 'POST', `/v1/operator/agreements/${AGREEMENT}/resume`, { reason: '恢复', actor: 'operator' });
    expect([named.status, named.json.code]).toEqual([400, 'OPERATOR_NOT_CALLER']);
    // The node's operations staff (role operator) may act too, recorded as themselves.
    const resumed = await call(SANDU, tokens.operatorStaff!, 'POST', `/v1/operator/agreements/${AGREEMENT}/resume`, { reason: '核查完毕' });
    expect(resumed.json).toMatchObject({ to: 'active', actor: `operator@${SANDU}` });
    const states = (await t.auditEntries(SANDU)).filter((e) => e.kind === 'agreement.state' && e.agreementId === AGREEMENT && e.outcome === 'allowed' && e.detail.source === 'local');
    expect(states.map((e) => [e.detail.action, e.operator, e.actor])).toEqual([
      ['suspend', `dataadmin@${SANDU}`, { subject: subjects.sandu, node: SANDU, role: 'dataAdmin' }],
      ['resume', `operator@${SANDU}`, { subject: subjects.operatorStaff, node: SANDU, role: 'operator' }],
    ]);
  }, 120_000);

  it('a clerk, a supervisor and another node’s data administrator are refused with 403 and a stable code', async () => {
    for (const [who, code] of [
      ['clerk', 'ADMIN_ROLE_REQUIRED'],
      ['supervisor', 'ADMIN_ROLE_REQUIRED'],
      ['anji', 'STAFF_OF_ANOTHER_NODE'],
    ] as const) {
      const read = await call(SANDU, tokens[who]!, 'GET', '/v1/operator/agreements');
      expect([read.status, read.json.code], who).toEqual([403, code]);
      const step = await call(SANDU, tokens[who]!, 'POST', `/v1/operator/agreements/${AGREEMENT}/suspend`, { reason: 'x' });
      expect([step.status, step.json.code], who).toEqual([403, code]);
    }
    const agreements = (await call(SANDU, tokens.sandu!, 'GET', '/v1/operator/agreements')).json.agreements as Array<{ terms: { id: string }; state: string }>;
    expect(agreements.find((a) => a.terms.id === AGREEMENT)!.state).toBe('active');
  }, 60_000);
}
