import { createHash, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { importJWK, SignJWT } from 'jose';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.ts';
import { sampleSubjects } from '../src/demo/registries.ts';
import { signedRequestHeaders } from '../src/exchange/index.ts';
import { oidcKeyFiles } from '../src/identity/index.ts';
import { startTestFederation, type Backend, type TestFederation } from './support/federation.ts';
import { cliClient, signIn } from './support/identity.ts';

const SANDU = '522732';
const ANJI = '330523';

/**
 * A browser for the relying-party flow: cookies kept per origin (scheme, host and port — stricter
 * than a browser, which keeps them per host: the test below sends one host's cookies to every port), redirects followed
 * by hand so the test sees every hop.
 */
export class Browser {
  readonly jar = new Map<string, Map<string, string>>();

  cookies(url: URL): Map<string, string> {
    let cookies = this.jar.get(url.origin);
    if (!cookies) this.jar.set(url.origin, (cookies = new Map()));
    return cookies;
  }

  async fetch(url: URL, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string>; body?: string } = {}): Promise<Response> {
    const cookie = [...this.cookies(url)].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await fetch(url, {
      method: init.method ?? 'GET',
      redirect: 'manual',
      headers: { ...(cookie ? { cookie } : {}), ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}), ...init.headers },
      ...(init.form ? { body: new URLSearchParams(init.form).toString() } : init.body !== undefined ? { body: init.body } : {}),
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';').map((s) => s.trim());
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      const expired = value === '' || attributes.some((a) => /^max-age=(0|-)/i.test(a));
      if (expired) this.cookies(url).delete(name);
      else this.cookies(url).set(name, value);
    }
    return response;
  }
}

/**
 * Signs in at a node the way a person's browser does: the node's GET /v1/auth/login, the hub's
 * authorization endpoint and login form (filled when the hub asks and a password is given), the
 * node's callback. Returns how many times the hub asked for the password, the callback's answer
 * and where it sent the browser.
 */
export async function signInAtNode(browser: Browser, node: string, login: string, password: string | undefined, returnPath = '/v1/auth/me', options: { fresh?: boolean } = {}) {
  const { prompts, callbackUrl } = await signInUpToCallback(browser, node, login, password, returnPath, options);
  const callback = await browser.fetch(callbackUrl);
  const location = callback.headers.get('location');
  return { prompts, callback, location: callback.status >= 300 && callback.status < 400 && location ? new URL(location, callbackUrl) : undefined };
}

/** As `signInAtNode`, stopping where the hub sends the browser back to the node: the callback URL, not opened. */
async function signInUpToCallback(browser: Browser, node: string, login: string, password: string | undefined, returnPath = '/v1/auth/me', options: { fresh?: boolean } = {}) {
  let url = new URL(`/v1/auth/login?return=${encodeURIComponent(returnPath)}${options.fresh ? '&fresh=1' : ''}`, node);
  let response = await browser.fetch(url);
  let prompts = 0;
  for (let hops = 0; hops < 25; hops++) {
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      const next = new URL(location, url);
      if (next.origin === new URL(node).origin && next.pathname === '/v1/auth/callback') return { prompts, callbackUrl: next };
      url = next;
      response = await browser.fetch(url);
      continue;
    }
    if (url.origin === new URL(node).origin) throw new Error(`the node answered ${response.status} before the hub sent the browser back`);
    const page = await response.text();
    const action = /<form method="post" action="([^"]+)"/.exec(page)?.[1];
    if (!action || password === undefined || prompts > 0) throw new Error(`the hub did not sign ${login} in (${response.status})`);
    prompts += 1;
    url = new URL(action.replace(/&amp;/g, '&'), url);
    response = await browser.fetch(url, { method: 'POST', form: { login, password } });
  }
  throw new Error('sign-in: too many redirects');
}

/**
 * Every node as an OpenID Connect relying party of the hub (issue 12 item 2) and who is calling
 * (item 3): a real federation, real sign-in over HTTP through the nodes' own login and callback,
 * sessions, hub access tokens, machine clients; SQLite and PostgreSQL.
 */
export function identityRelyingPartyContract(backend: Backend): void {
  let t: TestFederation;
  let hub: string;
  let sandu: string;
  let anji: string;
  let citizen: { idNumber: string; name: string; password: string };
  const sanduClerk = { login: 'clerk-wang@522732', name: '王', password: 'sandu-clerk-password', roles: ['clerk'] };
  const anjiStaff = { login: 'li@330523', name: '李', password: 'anji-staff-password', roles: ['clerk', 'approver'] };

  const admin = async (path: string, body: unknown) => {
    const r = await fetch(new URL(path, hub), { method: 'POST', headers: { authorization: `Bearer ${t.f.adminToken()}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: r.status, json: (await r.json()) as any };
  };
  /** Staff are enrolled at the hub by their own node (a request signed with its key). */
  const enrolStaff = async (division: string, staff: unknown) => {
    const url = new URL('/v1/identity/staff', hub).toString();
    const text = JSON.stringify(staff);
    const r = await fetch(url, { method: 'POST', headers: await signedRequestHeaders(t.key(division), url, text, new Date()), body: text });
    expect(r.status).toBe(201);
  };
  /** A JSON call with the browser's cookies (and the CSRF header unless told otherwise). */
  const withCookie = async (browser: Browser, node: string, method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = { 'x-tongban-csrf': '1' }) => {
    const r = await browser.fetch(new URL(path, node), { method, headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: r.status, json: (await r.json()) as any };
  };
  const withBearer = async (token: string, node: string, method: 'GET' | 'POST', path: string, body?: unknown) => {
    const r = await fetch(new URL(path, node), { method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: r.status, json: (await r.json()) as any };
  };
  const eventually = async <T>(read: () => Promise<T>, ok: (value: T) => boolean): Promise<T> => {
    for (let i = 0; i < 100; i++) {
      const value = await read();
      if (ok(value)) return value;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('never reached the expected state');
  };

  beforeAll(async () => {
    t = await startTestFederation(backend, { directory: { refreshSeconds: 0.5, snapshotTtlSeconds: 600 } });
    hub = t.f.hub.endpoint;
    sandu = t.f.nodes.get(SANDU)!.endpoint;
    anji = t.f.nodes.get(ANJI)!.endpoint;
    const person = sampleSubjects(t.f.registryPath(SANDU), 1).people[0]!;
    citizen = { idNumber: person.idNumber, name: person.name, password: 'citizen-password-1' };
    expect((await admin('/v1/identity/citizens', citizen)).status).toBe(201);
    await enrolStaff(SANDU, sanduClerk);
    await enrolStaff(ANJI, anjiStaff);
  }, 300_000);
  afterAll(async () => {
    await t?.stop();
  });

  it('sign in once at the hub, act at two nodes: a citizen applies at Sandu through its session; Anji’s staff, signed in already, act at Anji without the password', async () => {
    // The citizen signs in at Sandu: node login → hub form → callback → the node's cookie.
    const citizenBrowser = new Browser();
    const first = await signInAtNode(citizenBrowser, sandu, citizen.idNumber, citizen.password, '/v1/cases?limit=5');
    expect(first.prompts).toBe(1);
    expect(first.location!.href).toBe(new URL('/v1/cases?limit=5', sandu).href);
    const setCookie = first.callback.headers.getSetCookie().find((c) => c.startsWith(`tongban_session_${SANDU}=`))!;
    expect(setCookie).toMatch(/; Path=\//);
    expect(setCookie).toMatch(/; HttpOnly/);
    expect(setCookie).toMatch(/; SameSite=Lax/);
    expect(setCookie).not.toMatch(/Secure/); // the node is reached over plain http here
    // The node stores the cookie's SHA-256 only.
    const cookieValue = citizenBrowser.cookies(new URL(sandu)).get(`tongban_session_${SANDU}`)!;
    const store = t.f.nodes.get(SANDU)!.runtime!.store;
    expect(await store.sessions.get(cookieValue)).toBeUndefined();
    expect(await store.sessions.get(createHash('sha256').update(cookieValue).digest('hex'))).toMatchObject({ person: { kind: 'citizen', idNumber: citizen.idNumber } });

    const me = await withCookie(citizenBrowser, sandu, 'GET', '/v1/auth/me');
    expect(me.json).toMatchObject({ kind: 'citizen', name: citizen.name, idNumber: citizen.idNumber, via: 'session', actsHere: true });
    // A body naming someone else is refused: the citizen applies for themselves only.
    const forged = await withCookie(citizenBrowser, sandu, 'POST', '/v1/cases', { itemCode: 'N034', mode: 'online', competentNodes: [ANJI], applicant: { idNumber: '11010519491231002X', name: 'x' } });
    expect([forged.status, forged.json.code]).toEqual([403, 'CASE_FORBIDDEN']);
    const applied = await withCookie(citizenBrowser, sandu, 'POST', '/v1/cases', { itemCode: 'N034', mode: 'online', competentNodes: [ANJI], applicant: { idNumber: citizen.idNumber, name: citizen.name } });
    expect(applied.status).toBe(201);
    const id: string = applied.json.case.id;
    expect(applied.json.case.history[0].actor).toEqual({ node: SANDU, id: citizen.idNumber, role: 'applicant' });

    // Sandu's clerk, with a hub access token (Bearer JWT, verified offline against the hub's JWKS), accepts.
    const clerk = await signIn(hub, sanduClerk.login, sanduClerk.password, { clientId: SANDU, redirectUri: `${sandu}/v1/auth/callback` });
    const checks = { materials: applied.json.case.materials.map((m: any) => ({ name: m.name, checked: true })), identityVerified: true };
    expect((await withBearer(clerk.accessToken, sandu, 'POST', `/v1/cases/${id}/actions/precheck`, checks)).status).toBe(200);
    const accepted = await withBearer(clerk.accessToken, sandu, 'POST', `/v1/cases/${id}/actions/accept`, {});
    expect(accepted.json.case.state).toBe('accepted');
    expect(accepted.json.case.history.at(-1).actor).toEqual({ node: SANDU, id: clerk.claims.sub, role: 'clerk' });

    // Anji's staff member (clerk and approver) first signs in through Sandu: the hub asks the
    // password once; Sandu gives a session, but staff of Anji are nobody at Sandu.
    const staffBrowser = new Browser();
    const atSandu = await signInAtNode(staffBrowser, sandu, anjiStaff.login, anjiStaff.password);
    expect(atSandu.prompts).toBe(1);
    expect((await withCookie(staffBrowser, sandu, 'GET', '/v1/auth/me')).json).toMatchObject({ kind: 'staff', node: ANJI, actsHere: false });
    const refused = await withCookie(staffBrowser, sandu, 'GET', `/v1/cases/${id}`);
    expect([refused.status, refused.json.code]).toEqual([403, 'STAFF_OF_ANOTHER_NODE']);
    // At Anji: no password (the hub's session), a session of Anji, and the case handed over.
    const atAnji = await signInAtNode(staffBrowser, anji, anjiStaff.login, undefined);
    expect(atAnji.prompts).toBe(0);
    expect(atAnji.location!.href).toBe(new URL('/v1/auth/me', anji).href);
    await eventually(() => withCookie(staffBrowser, anji, 'GET', `/v1/cases/${id}`), (r) => r.status === 200 && r.json.case.state === 'accepted');
    const reviewed = await withCookie(staffBrowser, anji, 'POST', `/v1/cases/${id}/actions/start-review`, {});
    expect(reviewed.json.case.state).toBe('in_review');
    // The person holds two roles; the step is recorded in the one it used.
    const staffSub = (await withCookie(staffBrowser, anji, 'GET', '/v1/auth/me')).json.subject;
    expect(reviewed.json.case.history.at(-1).actor).toEqual({ node: ANJI, id: staffSub, role: 'approver' });

    // The citizen too signs in at Anji without the password, and sees their case there.
    const citizenAtAnji = await signInAtNode(citizenBrowser, anji, citizen.idNumber, undefined);
    expect(citizenAtAnji.prompts).toBe(0);
    const mine = await withCookie(citizenBrowser, anji, 'GET', '/v1/cases');
    expect(mine.json.cases.map((c: any) => c.case.id)).toContain(id);
    // Sandu's history names who signed in, and Anji's copy records Anji's approver.
    const atSanduNow = await eventually(() => withBearer(clerk.accessToken, sandu, 'GET', `/v1/cases/${id}`), (r) => r.json.case?.state === 'in_review');
    expect(atSanduNow.json.case.history.map((h: any) => [h.action, h.actor.role, h.actor.id])).toEqual([
      ['apply', 'applicant', citizen.idNumber],
      ['precheck', 'clerk', clerk.claims.sub],
      ['accept', 'clerk', clerk.claims.sub],
      ['start-review', 'approver', staffSub],
    ]);
  });

  it('two nodes on one host keep their own sessions in one browser: each node names its cookie after its division (browsers keep cookies per host, not per port)', async () => {
    const browser = new Browser();
    await signInAtNode(browser, sandu, citizen.idNumber, citizen.password);
    const again = await signInAtNode(browser, anji, citizen.idNumber, undefined);
    expect(again.prompts).toBe(0);
    // What a real browser sends to either port of 127.0.0.1: every cookie of the host.
    const jar = [...browser.cookies(new URL(sandu)), ...browser.cookies(new URL(anji))].map(([name, value]) => `${name}=${value}`);
    expect(jar.filter((c) => c.startsWith('tongban_session_')).map((c) => c.split('=')[0]).sort()).toEqual([`tongban_session_${ANJI}`, `tongban_session_${SANDU}`]);
    for (const node of [sandu, anji]) {
      const r = await fetch(new URL('/v1/auth/me', node), { headers: { cookie: jar.join('; ') } });
      expect([node, r.status, ((await r.json()) as any).idNumber]).toEqual([node, 200, citizen.idNumber]);
    }
  });

  it('a token a node received at sign-in is for that node only: refused at another node and at the hub (401); the person’s own CLI token works anywhere, staff act at their own node only', async () => {
    // What Anji's client receives when the person signs in at Anji: tokens for Anji.
    const citizenAtAnji = (await signIn(hub, citizen.idNumber, citizen.password, { clientId: ANJI, redirectUri: `${anji}/v1/auth/callback` })).accessToken;
    const staffAtAnji = (await signIn(hub, anjiStaff.login, anjiStaff.password, { clientId: ANJI, redirectUri: `${anji}/v1/auth/callback` })).accessToken;
    expect((await withBearer(citizenAtAnji, anji, 'GET', '/v1/cases')).status).toBe(200);
    expect((await withBearer(staffAtAnji, anji, 'GET', '/v1/cases')).status).toBe(200);
    // Anji replaying them anywhere else gets nowhere: as the citizen or the staff member, at Sandu or the hub.
    for (const [who, token] of [['citizen', citizenAtAnji], ['staff', staffAtAnji]] as const) {
      for (const [server, method, path] of [
        [sandu, 'GET', '/v1/cases'],
        [sandu, 'GET', '/v1/auth/me'],
        [sandu, 'POST', '/v1/cases'],
        [hub, 'GET', '/v1/auth/me'],
        [hub, 'GET', '/v1/consents'],
        [hub, 'GET', '/v1/tracker'],
      ] as const) {
        const r = await withBearer(token, server, method, path, method === 'POST' ? { itemCode: 'N034', mode: 'online', competentNodes: [ANJI], applicant: { idNumber: citizen.idNumber, name: citizen.name } } : undefined);
        expect([who, server, path, r.status, r.json.code]).toEqual([who, server, path, 401, 'UNAUTHORIZED']);
      }
    }
    // The person's own credential (the CLI's client): taken at every node; staff still act at their own node only.
    const citizenToken = (await signIn(hub, citizen.idNumber, citizen.password, cliClient())).accessToken;
    for (const node of [sandu, anji]) {
      const r = await withBearer(citizenToken, node, 'GET', '/v1/cases');
      expect(r.status).toBe(200);
      expect(r.json.cases.every((c: any) => c.case.applicant.idNumber === citizen.idNumber)).toBe(true);
    }
    const staffToken = (await signIn(hub, anjiStaff.login, anjiStaff.password, cliClient())).accessToken;
    const atSandu = await withBearer(staffToken, sandu, 'GET', '/v1/cases');
    expect([atSandu.status, atSandu.json.code]).toEqual([403, 'STAFF_OF_ANOTHER_NODE']);
    expect((await withBearer(staffToken, anji, 'GET', '/v1/cases')).status).toBe(200);
  });

  it('forged, expired, foreign-audience and foreign-issuer tokens are refused (401)', async () => {
    const real = await signIn(hub, citizen.idNumber, citizen.password, { clientId: SANDU, redirectUri: `${sandu}/v1/auth/callback` });
    const claims = { name: citizen.name, tongban_kind: 'citizen', tongban_id_number: citizen.idNumber, client_id: SANDU };
    const hubKey = (JSON.parse(readFileSync(oidcKeyFiles(loadConfig(t.f.hub.configPath, {})).signing, 'utf8')) as { privateJwk: Record<string, string> }).privateJwk;
    const key = await importJWK(hubKey, 'EdDSA');
    const now = Math.floor(Date.now() / 1000);
    const token = (edit: { iss?: string; aud?: string; exp?: number; iat?: number; kid?: string; key?: Parameters<SignJWT['sign']>[0] }) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: edit.kid ?? hubKey.kid! })
        .setSubject(real.claims.sub as string)
        .setIssuer(edit.iss ?? `${hub}/oidc`)
        .setAudience(edit.aud ?? 'urn:tongban:federation')
        .setIssuedAt(edit.iat ?? now)
        .setExpirationTime(edit.exp ?? now + 600)
        .sign(edit.key ?? key);
    // The same token as the hub makes it is taken (for the federation, or for Sandu): the checks below refuse for their reason only.
    expect((await withBearer(await token({}), sandu, 'GET', '/v1/auth/me')).json).toMatchObject({ kind: 'citizen', idNumber: citizen.idNumber, via: 'access-token' });
    expect((await withBearer(await token({ aud: `urn:tongban:node:${SANDU}` }), sandu, 'GET', '/v1/auth/me')).json).toMatchObject({ kind: 'citizen', idNumber: citizen.idNumber, via: 'access-token' });
    const stranger = generateKeyPairSync('ed25519').privateKey;
    const refused = {
      expired: await token({ iat: now - 1200, exp: now - 600 }),
      'another audience': await token({ aud: SANDU }),
      "another node's audience": await token({ aud: `urn:tongban:node:${ANJI}` }),
      'another issuer': await token({ iss: 'http://127.0.0.1:1/oidc' }),
      'another key, the hub’s kid': await token({ key: stranger }),
      'altered payload': real.accessToken.replace(/\.([^.]+)\./, (_m, payload: string) => `.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), tongban_id_number: '11010519491231002X' })).toString('base64url')}.`),
      'an ID token': real.idToken,
    };
    for (const [what, jwt] of Object.entries(refused)) {
      const r = await withBearer(jwt, sandu, 'GET', '/v1/cases');
      expect([what, r.status, r.json.code]).toEqual([what, 401, 'UNAUTHORIZED']);
    }
    expect((await withBearer(real.accessToken, sandu, 'GET', '/v1/cases')).status).toBe(200);
  });

  it('machine clients: named, one role, listed without tokens, refused at once when revoked', async () => {
    const created = await t.operator(SANDU, '/v1/operator/accounts', { id: 'kiosk-1', role: 'clerk', name: '自助终端' });
    expect(created.status).toBe(201);
    const me = await withBearer(created.json.token, sandu, 'GET', '/v1/auth/me');
    expect(me.json).toMatchObject({ subject: 'client:kiosk-1', kind: 'machine', node: SANDU, roles: ['clerk'], via: 'machine-token' });
    expect((await withBearer(created.json.token, sandu, 'GET', '/v1/cases')).status).toBe(200);
    // A token of Sandu means nothing at Anji.
    expect((await withBearer(created.json.token, anji, 'GET', '/v1/cases')).status).toBe(401);
    const listed = await t.operator(SANDU, '/v1/operator/accounts');
    expect(listed.json.clients.find((c: any) => c.id === 'kiosk-1')).toMatchObject({ role: 'clerk', name: '自助终端', revoked: false });
    expect(JSON.stringify(listed.json)).not.toContain(created.json.token);
    const revoked = await t.operator(SANDU, '/v1/operator/accounts/kiosk-1/revoke', {});
    expect(revoked.json).toMatchObject({ id: 'kiosk-1', revoked: true });
    const after = await withBearer(created.json.token, sandu, 'GET', '/v1/cases');
    expect([after.status, after.json.code]).toEqual([401, 'UNAUTHORIZED']);
    expect((await t.operator(SANDU, '/v1/operator/accounts/nobody/revoke', {})).json.code).toBe('MACHINE_CLIENT_NOT_FOUND');
    // A data administrator's client holds no role in cases.
    const dataAdmin = await t.operator(SANDU, '/v1/operator/accounts', { id: 'etl', role: 'dataAdmin', name: 'ETL' });
    expect((await withBearer(dataAdmin.json.token, sandu, 'GET', '/v1/cases')).json.code).toBe('CASE_FORBIDDEN');
  });

  it('CSRF: a change made with the session cookie needs the node’s Origin or x-tongban-csrf; reads do not', async () => {
    const browser = new Browser();
    await signInAtNode(browser, sandu, citizen.idNumber, citizen.password);
    const body = { itemCode: 'N034', mode: 'online', competentNodes: [ANJI], applicant: { idNumber: citizen.idNumber, name: citizen.name } };
    const before = (await withCookie(browser, sandu, 'GET', '/v1/cases', undefined, {})).json.total;
    for (const headers of [{}, { origin: 'http://evil.example' }, { origin: 'null' }, { 'x-tongban-csrf': '0' }] as Array<Record<string, string>>) {
      const r = await withCookie(browser, sandu, 'POST', '/v1/cases', body, headers);
      expect([r.status, r.json.code]).toEqual([403, 'CSRF_REJECTED']);
    }
    expect((await withCookie(browser, sandu, 'GET', '/v1/cases', undefined, {})).json.total).toBe(before);
    expect((await withCookie(browser, sandu, 'POST', '/v1/cases', body, { origin: new URL(sandu).origin })).status).toBe(201);
    expect((await withCookie(browser, sandu, 'POST', '/v1/cases', body, { 'x-tongban-csrf': '1' })).status).toBe(201);
    // Sign-out needs the same proof; afterwards the cookie is worth nothing.
    const cookie = browser.cookies(new URL(sandu)).get(`tongban_session_${SANDU}`)!;
    expect((await withCookie(browser, sandu, 'POST', '/v1/auth/logout', undefined, {})).json.code).toBe('CSRF_REJECTED');
    expect((await withCookie(browser, sandu, 'POST', '/v1/auth/logout')).json).toEqual({ signedOut: true });
    const stale = await fetch(new URL('/v1/cases', sandu), { headers: { cookie: `tongban_session_${SANDU}=${cookie}` } });
    expect(stale.status).toBe(401);
  });

  it('server-sent events work with the session cookie alone', async () => {
    const browser = new Browser();
    await signInAtNode(browser, anji, anjiStaff.login, anjiStaff.password);
    const controller = new AbortController();
    const cookie = `tongban_session_${ANJI}=${browser.cookies(new URL(anji)).get(`tongban_session_${ANJI}`)}`;
    const response = await fetch(new URL('/v1/cases/events', anji), { headers: { cookie }, signal: controller.signal });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = response.body!.getReader();
    // A case handed over to Anji shows on the stream.
    const clerk = await signIn(hub, sanduClerk.login, sanduClerk.password, { clientId: SANDU, redirectUri: `${sandu}/v1/auth/callback` });
    const applied = await withBearer(clerk.accessToken, sandu, 'POST', '/v1/cases', { itemCode: 'N034', mode: 'online', competentNodes: [ANJI], applicant: { idNumber: citizen.idNumber, name: citizen.name } });
    const id = applied.json.case.id;
    await withBearer(clerk.accessToken, sandu, 'POST', `/v1/cases/${id}/actions/precheck`, { materials: applied.json.case.materials.map((m: any) => ({ name: m.name, checked: true })), identityVerified: true });
    await withBearer(clerk.accessToken, sandu, 'POST', `/v1/cases/${id}/actions/accept`, {});
    let text = '';
    const deadline = Date.now() + 10_000;
    while (!text.includes(id) && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    controller.abort();
    expect(text).toContain('event: case');
    expect(text).toContain(id);
    // Without the cookie: 401, problem+json.
    const anonymous = await fetch(new URL('/v1/cases/events', anji));
    expect([anonymous.status, ((await anonymous.json()) as any).code]).toEqual([401, 'UNAUTHORIZED']);
  });

  it('sign-in refuses a return address off the node, an unknown or replayed state, and an error from the hub', async () => {
    // Not ASCII: it could not be written in the callback's Location header (a 500 after the session was made).
    for (const target of ['//evil.example/x', 'https://evil.example/', '/\\evil.example', 'relative', '/€', '/é', '/a b']) {
      const r = await fetch(new URL(`/v1/auth/login?return=${encodeURIComponent(target)}`, sandu), { redirect: 'manual' });
      expect([target, r.status, ((await r.json()) as any).code]).toEqual([target, 400, 'VALIDATION_FAILED']);
    }
    const unknown = await fetch(new URL('/v1/auth/callback?code=abc&state=made-up', sandu), { redirect: 'manual' });
    expect([unknown.status, ((await unknown.json()) as any).code]).toEqual([400, 'LOGIN_FAILED']);
    // A callback URL used once cannot be used again (the state is spent, the code too).
    const browser = new Browser();
    const login = await browser.fetch(new URL('/v1/auth/login?return=/', sandu));
    const authorize = new URL(login.headers.get('location')!);
    expect(authorize.origin).toBe(new URL(hub).origin);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('client_id')).toBe(SANDU);
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${sandu}/v1/auth/callback`);
    const done = await signInAtNode(browser, sandu, citizen.idNumber, citizen.password);
    const callbackUrl = new URL(done.callback.url);
    const replay = await fetch(callbackUrl, { redirect: 'manual' });
    expect([replay.status, ((await replay.json()) as any).code]).toEqual([400, 'LOGIN_FAILED']);
    // The hub's refusal comes back as an error: no session.
    const started = await fetch(new URL('/v1/auth/login', sandu), { redirect: 'manual' });
    const state = new URL(started.headers.get('location')!).searchParams.get('state')!;
    const denied = await fetch(new URL(`/v1/auth/callback?error=access_denied&state=${state}`, sandu), { redirect: 'manual' });
    expect([denied.status, ((await denied.json()) as any).code, denied.headers.getSetCookie()]).toEqual([400, 'LOGIN_FAILED', []]);
  });

  it('sign-in is bound to the browser that started it: a callback URL handed to another browser opens no session (login CSRF)', async () => {
    // An attacker starts a sign-in at Sandu, signs in at the hub as themselves, and stops before the callback…
    const attacker = new Browser();
    const { callbackUrl } = await signInUpToCallback(attacker, sandu, citizen.idNumber, citizen.password, '/v1/auth/me');
    expect(callbackUrl.searchParams.get('code')).toBeTruthy();
    // … and makes a victim's browser open it (a link, an image, a redirect): no session for the victim,
    // whether it never started a sign-in or started one of its own.
    const fresh = new Browser();
    const victim = new Browser();
    const own = await victim.fetch(new URL('/v1/auth/login?return=/', sandu));
    expect(own.status).toBe(302);
    for (const [who, browser] of [['fresh', fresh], ['victim', victim]] as const) {
      const r = await browser.fetch(callbackUrl);
      expect([who, r.status, ((await r.json()) as any).code, r.headers.getSetCookie().some((c) => c.startsWith(`tongban_session_${SANDU}=`))]).toEqual([who, 400, 'LOGIN_FAILED', false]);
      expect(browser.cookies(new URL(sandu)).has(`tongban_session_${SANDU}`)).toBe(false);
    }
    // The binding cookie: HttpOnly, SameSite=Lax, only for the sign-in routes, short-lived.
    expect(attacker.cookies(new URL(sandu)).get(`tongban_login_${SANDU}`)).toBeTruthy();
    const setLogin = own.headers.getSetCookie().find((c) => c.startsWith(`tongban_login_${SANDU}=`))!;
    expect(setLogin).toMatch(/; Path=\/v1\/auth\//);
    expect(setLogin).toMatch(/; HttpOnly/);
    expect(setLogin).toMatch(/; SameSite=Lax/);
    expect(setLogin).toMatch(/; Max-Age=600/);
    // The browser that started it still completes it (the others' attempts did not spend it).
    const done = await attacker.fetch(callbackUrl);
    expect(done.status).toBe(302);
    expect(attacker.cookies(new URL(sandu)).has(`tongban_session_${SANDU}`)).toBe(true);
    // Two sign-ins started in one browser (two tabs) share its binding: both complete.
    const tabs = new Browser();
    const first = await signInUpToCallback(tabs, sandu, citizen.idNumber, citizen.password, '/one');
    const second = await signInUpToCallback(tabs, sandu, citizen.idNumber, undefined, '/two');
    expect((await tabs.fetch(second.callbackUrl)).headers.get('location')).toBe('/two');
    expect((await tabs.fetch(first.callbackUrl)).headers.get('location')).toBe('/one');
  });
}
