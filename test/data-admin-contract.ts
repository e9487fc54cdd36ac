import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEMO_PASSPHRASE, DEMO_PASSWORD } from '../src/federation/index.ts';
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
    // Nor can the operator token label a step with a staff member's login.
    const passedOff = await call(SANDU, t.f.operatorToken(SANDU), 'POST', '/v1/operator/agreements/drafts', { template: 'national-baseline', params, operator: `dataadmin@${SANDU}` });
    expect([passedOff.status, passedOff.json.code]).toEqual([400, 'VALIDATION_FAILED']);
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
    // Signing binds the node: a person signed in through the hub also gives the node signing passphrase its operator set (the demo's password here).
    const unconfirmed = await act('sandu', id, { action: 'sign' });
    expect([unconfirmed.status, unconfirmed.json.code]).toEqual([403, 'NODE_PASSPHRASE_REQUIRED']);
    const wrong = await act('sandu', id, { action: 'sign', passphrase: 'not-the-node-passphrase' });
    expect([wrong.status, wrong.json.code]).toEqual([403, 'NODE_PASSPHRASE_INVALID']);
    expect((await show('sandu', id)).state).toBe('accepted');
    expect((await act('sandu', id, { action: 'sign', passphrase: DEMO_PASSPHRASE })).status).toBe(200);
    await until('Anji sees it accepted', () => show('anji', id), (n) => n.state === 'accepted');
    expect((await act('anji', id, { action: 'sign', passphrase: DEMO_PASSPHRASE })).json.forwardedTo).toBe(SANDU);
    await until('signed by both', () => show('sandu', id), (n) => n.state === 'signed');
    expect((await act('sandu', id, { action: 'register' })).json.code).toBe('NODE_PASSPHRASE_REQUIRED');
    const registered = await act('sandu', id, { action: 'register', passphrase: DEMO_PASSPHRASE });
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
    const byAnji = await call(ANJI, tokens.anji!, 'POST', `/v1/operator/agreements/${AGREEMENT}/resume`, { reason: '恢复', passphrase: DEMO_PASSPHRASE });
    expect([byAnji.status, byAnji.json.code]).toEqual([409, 'AGREEMENT_TRANSITION_NOT_ALLOWED']);
    const named = await call(SANDU, tokens.sandu!, 'POST', `/v1/operator/agreements/${AGREEMENT}/resume`, { reason: '恢复', actor: 'operator' });
    expect([named.status, named.json.code]).toEqual([400, 'OPERATOR_NOT_CALLER']);
    // The node's operations staff (role operator) may act too, recorded as themselves.
    // Resuming binds the node again (suspending does not): the passphrase.
    const unconfirmed = await call(SANDU, tokens.operatorStaff!, 'POST', `/v1/operator/agreements/${AGREEMENT}/resume`, { reason: '核查完毕' });
    expect([unconfirmed.status, unconfirmed.json.code]).toEqual([403, 'NODE_PASSPHRASE_REQUIRED']);
    const resumed = await call(SANDU, tokens.operatorStaff!, 'POST', `/v1/operator/agreements/${AGREEMENT}/resume`, { reason: '核查完毕', passphrase: DEMO_PASSPHRASE });
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

  it('the hub’s role claim alone administers nothing: a node-local grant decides, the operator withdraws it, and wrong passphrases lock it', async () => {
    // What a hub that lied could mint: a staff member of Sandu holding dataAdmin in its claims, never granted at Sandu.
    const minted = await call(SANDU, t.f.operatorToken(SANDU), 'POST', '/v1/operator/staff', { login: 'minted', name: '伪管理员', password: 'minted-staff-password', roles: ['clerk'] });
    expect(minted.status).toBe(201);
    const hubStaff = new URL('/v1/identity/staff', t.f.hub.endpoint).toString();
    const body = JSON.stringify({ login: `forged@${SANDU}`, name: '伪管理员', password: 'forged-staff-password', roles: ['dataAdmin'] });
    const { signedRequestHeaders } = await import('../src/exchange/index.ts');
    expect((await fetch(hubStaff, { method: 'POST', headers: await signedRequestHeaders(t.key(SANDU), hubStaff, body, new Date()), body })).status).toBe(201);
    const forged = await signIn(t.f.hub.endpoint, `forged@${SANDU}`, 'forged-staff-password', cliClient());
    expect(forged.claims).toMatchObject({ tongban_roles: ['dataAdmin'] });
    for (const [method, path, payload] of [
      ['GET', '/v1/operator/agreements', undefined],
      ['POST', '/v1/operator/agreements/drafts', { template: 'national-baseline', params: { id: 'AGR-FORGED', convener: SANDU, partners: [ANJI], validFrom: new Date().toISOString(), validUntil: new Date(Date.now() + 86_400_000).toISOString() } }],
      ['POST', `/v1/operator/agreements/${AGREEMENT}/terminate`, { reason: 'x', passphrase: 'anything-at-all' }],
    ] as const) {
      const refused = await call(SANDU, forged.accessToken, method, path, payload);
      expect([refused.status, refused.json.code], path).toEqual([403, 'ADMIN_GRANT_MISSING']);
    }
    expect((await call(SANDU, tokens.sandu!, 'GET', '/v1/operator/agreements/drafts')).json.some((n: { agreementId: string }) => n.agreementId === 'AGR-FORGED')).toBe(false);

    // The node's operator grants it (a passphrase generated and shown once), lists it, and withdraws it.
    const granted = await call(SANDU, t.f.operatorToken(SANDU), 'POST', `/v1/operator/staff/forged/admin-grant`, { roles: ['dataAdmin'] });
    expect(granted.status, JSON.stringify(granted.json)).toBe(201);
    expect(granted.json).toMatchObject({ grant: { login: `forged@${SANDU}`, roles: ['dataAdmin'], revokedAt: null, locked: false }, generatedPassphrase: expect.stringMatching(/^[\w-]{20,}$/) });
    expect((await call(SANDU, forged.accessToken, 'GET', '/v1/operator/agreements')).status).toBe(200);
    const listed = (await call(SANDU, t.f.operatorToken(SANDU), 'GET', '/v1/operator/admin-grants')).json as Array<{ login: string }>;
    expect(listed.map((g) => g.login)).toEqual(expect.arrayContaining([`dataadmin@${SANDU}`, `operator@${SANDU}`, `forged@${SANDU}`]));
    expect(JSON.stringify(listed)).not.toMatch(/scrypt|passphrase/i);
    // Only the operator token grants: a data administrator cannot grant themselves or others.
    const selfGrant = await call(SANDU, tokens.sandu!, 'POST', `/v1/operator/staff/minted/admin-grant`, { roles: ['dataAdmin'] });
    expect(selfGrant.status).toBe(401);

    // Five wrong passphrases lock the grant: every administering route refuses until the operator grants again.
    for (let i = 0; i < 5; i++) {
      const wrong = await call(SANDU, forged.accessToken, 'POST', `/v1/operator/agreements/${AGREEMENT}/terminate`, { reason: '测试', passphrase: `wrong-guess-number-${i}` });
      expect(wrong.json.code).toBe(i < 4 ? 'NODE_PASSPHRASE_INVALID' : 'ADMIN_GRANT_LOCKED');
    }
    const locked = await call(SANDU, forged.accessToken, 'POST', `/v1/operator/agreements/${AGREEMENT}/terminate`, { reason: '测试', passphrase: granted.json.generatedPassphrase });
    expect([locked.status, locked.json.code]).toEqual([403, 'ADMIN_GRANT_LOCKED']);
    expect((await call(SANDU, forged.accessToken, 'GET', '/v1/operator/agreements')).json.code).toBe('ADMIN_GRANT_LOCKED');
    const refusals = (await t.auditEntries(SANDU)).filter((e) => e.kind === 'identity.admin.passphrase');
    expect(refusals.slice(-5).map((e) => e.detail.code)).toEqual([...Array(4).fill("NODE_PASSPHRASE_INVALID"), "ADMIN_GRANT_LOCKED"]);
    expect(JSON.stringify(refusals)).not.toContain('wrong-guess');
    const agreements = (await call(SANDU, tokens.sandu!, 'GET', '/v1/operator/agreements')).json.agreements as Array<{ terms: { id: string }; state: string }>;
    expect(agreements.find((a) => a.terms.id === AGREEMENT)!.state).toBe('active');

    const revoked = await call(SANDU, t.f.operatorToken(SANDU), 'POST', `/v1/operator/staff/forged/admin-grant/revoke`, {});
    expect(revoked.json).toMatchObject({ login: `forged@${SANDU}`, revokedAt: expect.any(String) });
    expect((await call(SANDU, forged.accessToken, 'GET', '/v1/operator/agreements')).json.code).toBe('ADMIN_GRANT_MISSING');
  }, 120_000);
}
