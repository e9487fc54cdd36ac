import { afterAll, beforeAll, expect, it } from 'vitest';
import { sampleSubjects } from '../src/demo/registries.ts';
import { NodeSessions, openHubToken, secretHash, sessionCookieName } from '../src/identity/sessions.ts';
import { hubTokens, type HubTokens } from './support/citizen-tokens.ts';
import { startTestFederation, type Backend, type TestFederation } from './support/federation.ts';
import { cliClient, signIn } from './support/identity.ts';
import { Browser, signInAtNode } from './identity-rp-contract.ts';

const SANDU = '522732';
const ANJI = '330523';
const HUB = '100000';
const SANDU_ANJI = 'AGR-522732-330523-001';
type Json = any;

/**
 * A citizen's hub views through the node they signed in at (the console's wallet, tracker and
 * consents): the node keeps the sign-in's hub access token sealed in the session and relays, signed
 * by itself, to the hub's POST /v1/citizen/relay, which takes the token only from the node it was
 * issued to. Who can read whose data, with what, for how long; SQLite and PostgreSQL.
 */
export function citizenRelayContract(backend: Backend): void {
  let t: TestFederation;
  let clockOffset = 0;
  let anji: string;
  let tokens: HubTokens;
  const citizens: Array<{ idNumber: string; name: string; password: string; browser: Browser }> = [];

  const atAnji = async (browser: Browser, method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = { 'x-tongban-csrf': '1' }) => {
    const r = await browser.fetch(new URL(path, anji), { method, headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: r.status, json: (await r.json()) as Json };
  };
  const withBearer = async (token: string, method: 'GET' | 'POST', path: string, body?: unknown) => {
    const r = await fetch(new URL(path, anji), { method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: r.status, json: (await r.json()) as Json };
  };
  /** The hub's relay, signed by `from`, with `accessToken`. */
  const relay = (from: string, accessToken: string, call: unknown) => t.raw({ from, to: HUB, path: '/v1/citizen/relay', body: { accessToken, call } });
  const consent = (overrides: Record<string, unknown> = {}) => ({
    requester: ANJI,
    provider: SANDU,
    agreementId: SANDU_ANJI,
    itemCode: 'N037',
    purpose: '婚姻登记',
    fields: ['maritalStatus'],
    expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
    use: 'single',
    ...overrides,
  });
  const sessionIdOf = (browser: Browser) => browser.cookies(new URL(anji)).get(sessionCookieName(ANJI))!;

  beforeAll(async () => {
    // Every server's clock, moved on in the last test (the hub's OpenID provider keeps real time).
    t = await startTestFederation(backend, { directory: { refreshSeconds: 0.5, snapshotTtlSeconds: 600 } }, { clock: () => new Date(Date.now() + clockOffset) });
    anji = t.f.nodes.get(ANJI)!.endpoint;
    tokens = await hubTokens(t);
    for (const [i, person] of sampleSubjects(t.f.registryPath(SANDU), 2).people.entries()) {
      const citizen = { idNumber: person.idNumber, name: person.name, password: `relay-citizen-${i}-password`, browser: new Browser() };
      const enrolled = await fetch(new URL('/v1/identity/citizens', t.f.hub.endpoint), {
        method: 'POST',
        headers: { authorization: `Bearer ${t.f.adminToken()}`, 'content-type': 'application/json' },
        body: JSON.stringify({ idNumber: citizen.idNumber, name: citizen.name, password: citizen.password }),
      });
      expect(enrolled.status).toBe(201);
      const signedIn = await signInAtNode(citizen.browser, anji, citizen.idNumber, citizen.password);
      expect(signedIn.callback.status).toBe(302);
      citizens.push(citizen);
    }
  }, 180_000);
  afterAll(async () => {
    await t?.stop();
  });

  it('the session keeps the hub token sealed: the store alone opens nothing, only the cookie’s session id does', async () => {
    const store = t.f.nodes.get(ANJI)!.runtime!.store;
    const id = sessionIdOf(citizens[0]!.browser);
    const stored = await store.sessions.get(secretHash(id));
    expect(stored?.hubToken?.sealed).toBeDefined();
    expect(stored!.hubToken!.sealed).not.toContain('eyJ');
    expect(stored!.hubToken!.expiresAt).toBeGreaterThan(Date.now());
    expect(stored!.hubToken!.expiresAt).toBeLessThanOrEqual(Date.now() + 600_000);
    const token = openHubToken(id, stored!.hubToken!.sealed)!;
    expect(token.split('.')).toHaveLength(3);
    // Another session's id opens nothing, nor does the stored hash.
    expect(openHubToken(sessionIdOf(citizens[1]!.browser), stored!.hubToken!.sealed)).toBeUndefined();
    expect(openHubToken(secretHash(id), stored!.hubToken!.sealed)).toBeUndefined();
    // Past the token's expiry the session relays nothing (it lives on for the node's own views).
    const later = new NodeSessions(store, () => new Date(stored!.hubToken!.expiresAt + 1000));
    expect(await later.hubToken(id)).toBeUndefined();
    expect(await t.f.nodes.get(ANJI)!.runtime!.identity.sessions.hubToken(id)).toBe(token);
  });

  it('a citizen gives, lists and revokes a consent through the node; another citizen sees none of it and cannot revoke it', async () => {
    const [a, b] = citizens as [(typeof citizens)[number], (typeof citizens)[number]];
    const given = await atAnji(a.browser, 'POST', '/v1/me/consents', consent());
    expect(given.status, JSON.stringify(given.json)).toBe(201);
    expect(given.json).toMatchObject({ status: 'active', requester: ANJI, provider: SANDU, fields: ['maritalStatus'] });
    const listed = await atAnji(a.browser, 'GET', '/v1/me/consents');
    expect(listed.status).toBe(200);
    expect(listed.json.consents.map((c: Json) => c.id)).toEqual([given.json.id]);
    expect((await atAnji(b.browser, 'GET', '/v1/me/consents')).json).toEqual({ consents: [], total: 0 });
    const stolen = await atAnji(b.browser, 'POST', `/v1/me/consents/${given.json.id}/revoke`, {});
    expect(stolen.status).toBe(404);
    expect(stolen.json.code).toBe('CONSENT_NOT_FOUND');
    // Without the CSRF header a cookie session changes nothing.
    expect((await atAnji(a.browser, 'POST', `/v1/me/consents/${given.json.id}/revoke`, {}, {})).json.code).toBe('CSRF_REJECTED');
    const revoked = await atAnji(a.browser, 'POST', `/v1/me/consents/${given.json.id}/revoke`, {});
    expect(revoked.status).toBe(200);
    expect(revoked.json.status).toBe('revoked');
    // The hub's refusal of a grant comes through with its own code.
    const needless = await atAnji(a.browser, 'POST', '/v1/me/consents', consent({ itemCode: 'N034', purpose: '户籍类证明开具', fields: ['name'] }));
    expect(needless.status).toBe(422);
    expect(needless.json.code).toBe('CONSENT_NOT_REQUIRED');
  });

  it('wallet and tracker through the node: each citizen their own; the hub records which node relayed', async () => {
    const [a, b] = citizens as [(typeof citizens)[number], (typeof citizens)[number]];
    const wallet = await atAnji(a.browser, 'GET', '/v1/me/wallet');
    expect(wallet.status, JSON.stringify(wallet.json)).toBe(200);
    expect(wallet.json).toEqual({ certificates: [], total: 0 });
    const tracker = await atAnji(a.browser, 'GET', '/v1/me/tracker?limit=50');
    expect(tracker.status, JSON.stringify(tracker.json)).toBe(200);
    // The consent A gave and revoked is on A's record, and the node's relays too; nothing of it on B's.
    const kinds = tracker.json.entries.map((e: Json) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['consent.grant', 'consent.revoke', 'citizen.relay']));
    expect(tracker.json.sources.map((s: Json) => s.division).sort()).toEqual([HUB, '310118', '320400', ANJI, SANDU].sort());
    const other = await atAnji(b.browser, 'GET', '/v1/me/tracker?limit=50');
    expect(other.json.entries.map((e: Json) => e.kind)).not.toContain('consent.grant');
    const hubLog = await t.auditEntries(HUB);
    expect(hubLog.filter((e: Json) => e.kind === 'citizen.relay' && e.outcome === 'allowed').every((e: Json) => e.requester === ANJI)).toBe(true);
  });

  it('the hub takes a relayed token only from the node it was issued to, signed by it, unexpired, a citizen’s', async () => {
    const a = citizens[0]!;
    const token = openHubToken(sessionIdOf(a.browser), (await t.f.nodes.get(ANJI)!.runtime!.store.sessions.get(secretHash(sessionIdOf(a.browser))))!.hubToken!.sealed)!;
    expect((await relay(ANJI, token, { op: 'consents' })).status).toBe(200);
    // Sandu holding Anji's citizen token (copied, leaked) cannot use it: the token is for Anji's client.
    const bySandu = await relay(SANDU, token, { op: 'consents' });
    expect([bySandu.status, bySandu.json.code]).toEqual([401, 'UNAUTHORIZED']);
    // The token without Anji's signature: refused before anything is read.
    const unsigned = await fetch(new URL('/v1/citizen/relay', t.f.hub.endpoint), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ accessToken: token, call: { op: 'wallet' } }) });
    expect(unsigned.status).toBe(401);
    // The citizen's own federation-wide token (the CLI's) is not relayed by a node.
    const cli = (await signIn(t.f.hub.endpoint, a.idNumber, a.password, cliClient())).accessToken;
    expect((await relay(ANJI, cli, { op: 'wallet' })).json.code).toBe('UNAUTHORIZED');
    // Expired, forged, a staff member's: refused.
    const claims = { tongban_kind: 'citizen', tongban_id_number: a.idNumber, name: a.name };
    const expired = await tokens.craft(claims, { audience: `urn:tongban:node:${ANJI}`, issuedAt: new Date(Date.now() - 3600_000) });
    expect((await relay(ANJI, expired, { op: 'wallet' })).json.code).toBe('UNAUTHORIZED');
    const forged = await tokens.craft(claims, { audience: `urn:tongban:node:${ANJI}`, key: tokens.strangerKey });
    expect((await relay(ANJI, forged, { op: 'wallet' })).json.code).toBe('UNAUTHORIZED');
    const staff = await tokens.craft({ tongban_kind: 'staff', tongban_node: ANJI, tongban_roles: ['clerk'], name: '李' }, { audience: `urn:tongban:node:${ANJI}` });
    const byStaff = await relay(ANJI, staff, { op: 'wallet' });
    expect([byStaff.status, byStaff.json.code]).toEqual([403, 'CITIZEN_ONLY']);
    // A replay of a signed relay is refused.
    const first = await relay(ANJI, token, { op: 'wallet' });
    const replayed = await t.raw({ from: ANJI, to: HUB, body: undefined, replayOf: first.request });
    expect(replayed.json.code).toBe('REPLAYED_REQUEST');
    const refused = (await t.auditEntries(HUB)).filter((e: Json) => e.kind === 'citizen.relay' && e.outcome === 'refused');
    expect(refused.map((e: Json) => [e.requester, e.code])).toEqual(expect.arrayContaining([[SANDU, 'UNAUTHORIZED'], [ANJI, 'CITIZEN_ONLY']]));
  });

  it('the node relays for a signed-in citizen only: staff are CITIZEN_ONLY, a bearer token HUB_SIGN_IN_NEEDED, nobody 401', async () => {
    const clerk = (await t.operator(ANJI, '/v1/operator/accounts', { id: 'relay-clerk', role: 'clerk', name: 'clerk' })).json.token as string;
    for (const path of ['/v1/me/wallet', '/v1/me/tracker', '/v1/me/consents']) {
      expect((await withBearer(clerk, 'GET', path)).json.code, path).toBe('CITIZEN_ONLY');
      const own = (await signIn(t.f.hub.endpoint, citizens[0]!.idNumber, citizens[0]!.password, { clientId: ANJI, redirectUri: `${anji}/v1/auth/callback` })).accessToken;
      const bearer = await withBearer(own, 'GET', path);
      expect([bearer.status, bearer.json.code], path).toEqual([401, 'HUB_SIGN_IN_NEEDED']);
      expect((await fetch(new URL(path, anji))).status, path).toBe(401);
    }
    // The options any signed-in person may read: the directory's nodes and the grants that need consent.
    const options = await withBearer(clerk, 'GET', '/v1/me/options');
    expect(options.json.nodes.map((n: Json) => n.division)).toEqual([SANDU, '310118', '320400', ANJI].sort());
    expect(options.json.consentGrants).toEqual(expect.arrayContaining([expect.objectContaining({ agreementId: SANDU_ANJI, provider: SANDU, requester: ANJI, service: 'marriage.status', itemCode: 'N037' })]));
    expect(options.json.consentGrants.every((g: Json) => typeof g.providerName === 'string' && g.purposes.length > 0)).toBe(true);
    expect(options.json.previewItems).toEqual(['N035']);
  });

  it('a citizen applies as themselves: the applicant is the sign-in, never a name or number the body sets', async () => {
    const a = citizens[0]!;
    const applied = await atAnji(a.browser, 'POST', '/v1/cases', { itemCode: 'N034', mode: 'online', competentNodes: [SANDU], phone: '13800000000' });
    expect(applied.status, JSON.stringify(applied.json)).toBe(201);
    expect(applied.json.case.applicant).toEqual({ idNumber: a.idNumber, name: a.name, phone: '13800000000' });
    const renamed = await atAnji(a.browser, 'POST', '/v1/cases', { itemCode: 'N034', mode: 'online', competentNodes: [SANDU], applicant: { idNumber: a.idNumber, name: '别人的名字' } });
    expect(renamed.json.case.applicant.name).toBe(a.name);
    const forged = await atAnji(a.browser, 'POST', '/v1/cases', { itemCode: 'N034', mode: 'online', competentNodes: [SANDU], applicant: { idNumber: citizens[1]!.idNumber, name: citizens[1]!.name } });
    expect([forged.status, forged.json.code]).toEqual([403, 'CASE_FORBIDDEN']);
    // Staff still name the applicant they accept for.
    const clerk = (await t.operator(ANJI, '/v1/operator/accounts', { id: 'relay-apply-clerk', role: 'clerk', name: 'clerk' })).json.token as string;
    const nobody = await withBearer(clerk, 'POST', '/v1/cases', { itemCode: 'N034', mode: 'online', competentNodes: [SANDU] });
    expect([nobody.status, nobody.json.code]).toEqual([400, 'VALIDATION_FAILED']);
  });

  it('a consent relayed by a node needs a password sign-in at the hub in the last 5 minutes: a silent sign-in does not renew it, a fresh one (?fresh=1) does', async () => {
    const a = citizens[0]!;
    const authTimeOf = async (browser: Browser) => {
      const token = (await t.f.nodes.get(ANJI)!.runtime!.identity.sessions.hubToken(sessionIdOf(browser)))!;
      return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')).auth_time as number;
    };
    const signedInAt = await authTimeOf(a.browser);
    expect(signedInAt).toBeGreaterThan(Date.now() / 1000 - 600);
    // Six minutes on (every server's clock): the node may still read for the citizen, not grant in their name.
    clockOffset = 6 * 60_000;
    try {
      const stale = await atAnji(a.browser, 'POST', '/v1/me/consents', consent());
      expect([stale.status, stale.json.code]).toEqual([403, 'RECENT_SIGN_IN_REQUIRED']);
      expect((await atAnji(a.browser, 'GET', '/v1/me/consents')).status).toBe(200);
      // A sign-in the hub lets pass on its session (no password typed) keeps the old auth_time: still refused.
      const silent = await signInAtNode(a.browser, anji, a.idNumber, undefined);
      expect(silent.prompts).toBe(0);
      expect(await authTimeOf(a.browser)).toBe(signedInAt);
      expect((await atAnji(a.browser, 'POST', '/v1/me/consents', consent())).json.code).toBe('RECENT_SIGN_IN_REQUIRED');
      const refused = (await t.auditEntries(HUB)).filter((e: Json) => e.kind === 'citizen.relay' && e.code === 'RECENT_SIGN_IN_REQUIRED');
      expect(refused).toHaveLength(2);
      expect(refused.every((e: Json) => e.requester === ANJI && e.detail.op === 'consent-grant')).toBe(true);
    } finally {
      clockOffset = 0;
    }
    // ?fresh=1: the hub asks for the password although it has a session; the new auth_time lets the grant through.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const fresh = await signInAtNode(a.browser, anji, a.idNumber, a.password, '/v1/auth/me', { fresh: true });
    expect(fresh.prompts).toBe(1);
    expect(await authTimeOf(a.browser)).toBeGreaterThan(signedInAt);
    const given = await atAnji(a.browser, 'POST', '/v1/me/consents', consent());
    expect(given.status, JSON.stringify(given.json)).toBe(201);
  }, 60_000);
}
