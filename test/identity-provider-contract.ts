import * as oidc from 'openid-client';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { signedRequestHeaders } from '../src/exchange/index.ts';
import { DEMO_PASSWORD } from '../src/federation/index.ts';
import { startTestFederation, type Backend, type TestFederation } from './support/federation.ts';
import { Browser, cliClient, signIn, SignInRefused } from './support/identity.ts';

const HUB = '100000';
const SANDU = '522732';
const ANJI = '330523';
const CITIZEN = { idNumber: '522732198503150027', name: '韦小梅', password: 'citizen-password-1' };

/**
 * The hub's OpenID Connect provider (issue 12, docs/identity.md): a real federation, the test
 * plays the browser (cookie jar, redirects followed by hand) and a node's client (openid-client,
 * public client with PKCE); tokens are checked with jose against the hub's published JWKS.
 */
export function identityProviderContract(backend: Backend): void {
  let t: TestFederation;
  let hub: string;
  const callbackOf = (division: string) => `${t.f.nodes.get(division)!.endpoint}/v1/auth/callback`;
  const admin = (path: string, body: unknown, token = t.f.adminToken()) =>
    fetch(new URL(path, hub), { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, json: (await r.json()) as any }));
  /** A call to the hub signed by `signer`'s node key. */
  const signed = async (signer: string, path: string, body: unknown) => {
    const url = new URL(path, hub).toString();
    const text = JSON.stringify(body);
    const headers = await signedRequestHeaders(t.key(signer), url, text, new Date());
    const response = await fetch(url, { method: 'POST', headers, body: text });
    return { status: response.status, json: (await response.json()) as any };
  };

  beforeAll(async () => {
    t = await startTestFederation(backend, { demoPeople: { password: DEMO_PASSWORD } });
    hub = t.f.hub.endpoint;
    const enrolled = await admin('/v1/identity/citizens', CITIZEN);
    expect(enrolled.status).toBe(201);
  }, 300_000);
  afterAll(async () => {
    await t?.stop();
  });

  it('publishes a discovery document and a JWKS that openid-client accepts: issuer <hub>/oidc, PKCE S256, EdDSA', async () => {
    const config = await oidc.discovery(new URL(`${hub}/oidc`), SANDU, undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
    const metadata = config.serverMetadata();
    expect(metadata.issuer).toBe(`${hub}/oidc`);
    expect(metadata.jwks_uri).toBe(`${hub}/oidc/jwks`);
    expect(metadata.code_challenge_methods_supported).toEqual(['S256']);
    expect(metadata.id_token_signing_alg_values_supported).toEqual(['EdDSA']);
    expect(metadata.scopes_supported).toEqual(expect.arrayContaining(['openid', 'profile', 'tongban', 'offline_access']));
    expect(metadata.claims_supported).toEqual(expect.arrayContaining(['name', 'tongban_kind', 'tongban_id_number', 'tongban_node', 'tongban_roles']));
    const jwks = (await (await fetch(`${hub}/oidc/jwks`)).json()) as { keys: Array<Record<string, string>> };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    // Public half only; and not the hub's directory signing key.
    expect(jwks.keys[0]!.d).toBeUndefined();
    expect(jwks.keys[0]!.kid).not.toBe(t.key(HUB).kid);
  });

  it('a citizen signs in through a node (authorization code + PKCE): the ID token and the JWT access token (for that node only) carry the claims, verified against the JWKS', async () => {
    const session = await signIn(hub, CITIZEN.idNumber, CITIZEN.password, { clientId: ANJI, redirectUri: callbackOf(ANJI) });
    expect(session.passwordPrompts).toBe(1);
    expect(session.claims).toMatchObject({ iss: `${hub}/oidc`, aud: ANJI, name: CITIZEN.name, tongban_kind: 'citizen', tongban_id_number: CITIZEN.idNumber });
    expect(session.claims.tongban_node).toBeUndefined();
    const jwks = createRemoteJWKSet(new URL(`${hub}/oidc/jwks`));
    const { payload, protectedHeader } = await jwtVerify(session.accessToken, jwks, { issuer: `${hub}/oidc`, audience: `urn:tongban:node:${ANJI}`, typ: 'at+jwt' });
    expect(protectedHeader.alg).toBe('EdDSA');
    // One audience: Anji's. Anji cannot replay it at another node or the hub.
    expect(payload.aud).toBe(`urn:tongban:node:${ANJI}`);
    expect(payload).toMatchObject({ sub: session.claims.sub, client_id: ANJI, name: CITIZEN.name, tongban_kind: 'citizen', tongban_id_number: CITIZEN.idNumber });
    expect(payload.exp! - payload.iat!).toBe(600);
    // A token altered by one character does not verify.
    // (A character in the middle of the signature: the last one carries unused bits, and replacing two may restore them.)
    const at = session.accessToken.length - 20;
    const forged = session.accessToken.slice(0, at) + (session.accessToken[at] === 'A' ? 'B' : 'A') + session.accessToken.slice(at + 1);
    await expect(jwtVerify(forged, jwks, { issuer: `${hub}/oidc`, audience: `urn:tongban:node:${ANJI}` })).rejects.toThrow();
  });

  it("a node's client cannot ask for another node's or the federation's tokens (invalid_target), at the authorization or the token endpoint", async () => {
    const challenge = { code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' };
    for (const resource of ['urn:tongban:federation', `urn:tongban:node:${SANDU}`, 'https://elsewhere.example/']) {
      const params = new URLSearchParams({ response_type: 'code', scope: 'openid tongban', state: 's', nonce: 'n', client_id: ANJI, redirect_uri: callbackOf(ANJI), resource, ...challenge });
      const r = await fetch(new URL(`/oidc/auth?${params}`, hub), { redirect: 'manual' });
      expect([resource, r.status]).toEqual([resource, 303]);
      const back = new URL(r.headers.get('location')!);
      expect(back.href.startsWith(callbackOf(ANJI))).toBe(true);
      expect([resource, back.searchParams.get('error')]).toEqual([resource, 'invalid_target']);
    }
    // Its own audience, asked for by name, is what it gets anyway.
    const own = await signIn(hub, CITIZEN.idNumber, CITIZEN.password, { clientId: ANJI, redirectUri: callbackOf(ANJI) });
    expect(decodeJwt(own.accessToken).aud).toBe(`urn:tongban:node:${ANJI}`);
    // At the token endpoint: a code exchanged for the federation's resource is refused.
    const refused = await signIn(hub, CITIZEN.idNumber, CITIZEN.password, { clientId: ANJI, redirectUri: callbackOf(ANJI), tokenParameters: { resource: 'urn:tongban:federation' } }).catch((e: unknown) => e);
    expect((refused as oidc.ResponseBodyError).error).toBe('invalid_target');
  });

  it('the CLI signs in by the authorization code flow to a loopback address on any port (RFC 8252), with PKCE: its token is for the federation', async () => {
    const first = await signIn(hub, CITIZEN.idNumber, CITIZEN.password, cliClient(51001));
    const { payload } = await jwtVerify(first.accessToken, createRemoteJWKSet(new URL(`${hub}/oidc/jwks`)), { issuer: `${hub}/oidc`, audience: 'urn:tongban:federation', typ: 'at+jwt' });
    expect(payload).toMatchObject({ client_id: 'tongban-cli', aud: 'urn:tongban:federation', tongban_kind: 'citizen', tongban_id_number: CITIZEN.idNumber });
    expect(first.claims).toMatchObject({ aud: 'tongban-cli', tongban_id_number: CITIZEN.idNumber });
    // Another port the same day: the same client (the port is the CLI's choice for one sign-in).
    const second = await signIn(hub, CITIZEN.idNumber, undefined, { ...cliClient(62002), browser: first.browser });
    expect(second.passwordPrompts).toBe(0);
    expect(decodeJwt(second.accessToken).aud).toBe('urn:tongban:federation');
    // The one credential is taken at every node and at the hub.
    for (const server of [...[...t.f.nodes.values()].map((n) => n.endpoint), hub]) {
      const me = await fetch(new URL('/v1/auth/me', server), { headers: { authorization: `Bearer ${first.accessToken}` } });
      expect([server, me.status]).toEqual([server, 200]);
    }
    // Anything but the loopback callback is refused at the hub, never redirected to.
    const challenge = { code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' };
    const auth = (params: Record<string, string>) => fetch(new URL(`/oidc/auth?${new URLSearchParams({ response_type: 'code', scope: 'openid tongban', state: 's', nonce: 'n', client_id: 'tongban-cli', ...params })}`, hub), { redirect: 'manual' });
    for (const redirect of ['http://localhost:5000/callback', 'http://evil.example:5000/callback', 'http://127.0.0.1:5000/other', 'https://127.0.0.1:5000/callback', callbackOf(SANDU)]) {
      expect([redirect, (await auth({ redirect_uri: redirect, ...challenge })).status]).toEqual([redirect, 400]);
    }
    // PKCE is required here too; and the CLI's client cannot ask for one node's resource.
    const noPkce = await auth({ redirect_uri: 'http://127.0.0.1:5000/callback' });
    expect(new URL(noPkce.headers.get('location')!).searchParams.get('error')).toBe('invalid_request');
    const nodeResource = await auth({ redirect_uri: 'http://127.0.0.1:5000/callback', resource: `urn:tongban:node:${SANDU}`, ...challenge });
    expect(new URL(nodeResource.headers.get('location')!).searchParams.get('error')).toBe('invalid_target');
  });

  it('a wrong password shows the form again with an error, is audited without the login, password or ID number, and five failures lock the login', async () => {
    const before = (await t.auditEntries(HUB)).length;
    const other = { idNumber: '330523199207080036', name: '李四', password: 'another-password-2' };
    expect((await admin('/v1/identity/citizens', other)).status).toBe(201);
    const attempt = (password: string) => signIn(hub, other.idNumber, password, { clientId: SANDU, redirectUri: callbackOf(SANDU) });
    const refused = await attempt('wrong-password-0').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SignInRefused);
    expect((refused as SignInRefused).status).toBe(401);
    expect((refused as SignInRefused).page).toContain('Wrong login or password');
    expect((refused as SignInRefused).page).toContain('登录名或密码错误');
    for (let i = 1; i < 5; i++) await expect(attempt(`wrong-password-${i}`)).rejects.toBeInstanceOf(SignInRefused);
    // Locked: even the right password is refused now.
    const locked = (await attempt(other.password).catch((e: unknown) => e)) as SignInRefused;
    expect(locked.status).toBe(429);
    expect(locked.page).toContain('Too many failed attempts');
    const entries = (await t.auditEntries(HUB)).slice(before).filter((e) => e.kind === 'identity.login');
    expect(entries.map((e) => e.code)).toEqual(['LOGIN_FAILED', 'LOGIN_FAILED', 'LOGIN_FAILED', 'LOGIN_FAILED', 'LOGIN_FAILED', 'LOGIN_LOCKED']);
    expect(new Set(entries.map((e) => e.subjectHash)).size).toBe(1);
    const text = JSON.stringify(await t.auditEntries(HUB));
    for (const secret of [other.idNumber, other.password, 'wrong-password-0', CITIZEN.idNumber, CITIZEN.password]) expect(text).not.toContain(secret);
    expect(t.logs.join('\n')).not.toContain(other.idNumber);
  });

  it('the lock holds against concurrent guesses: of many wrong passwords sent at once for one login, at most five are checked', async () => {
    const target = { idNumber: '330523198811110014', name: '赵六', password: 'target-password-9' };
    expect((await admin('/v1/identity/citizens', target)).status).toBe(201);
    // Twelve sign-in forms opened first (each its own interaction and cookies), then submitted at once.
    const forms = await Promise.all(
      Array.from({ length: 12 }, async () => {
        const browser = new Browser();
        const params = new URLSearchParams({ response_type: 'code', client_id: SANDU, redirect_uri: callbackOf(SANDU), scope: 'openid', state: 'state-value', nonce: 'nonce-value', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' });
        let url = new URL(`/oidc/auth?${params}`, hub);
        let response = await browser.fetch(url);
        while (response.status >= 300 && response.status < 400) {
          url = new URL(response.headers.get('location')!, url);
          response = await browser.fetch(url);
        }
        const action = /<form method="post" action="([^"]+)"/.exec(await response.text())![1]!;
        return { browser, url: new URL(action.replace(/&amp;/g, '&'), url) };
      }),
    );
    const statuses = await Promise.all(forms.map(async ({ browser, url }, i) => (await browser.fetch(url, { method: 'POST', form: { login: target.idNumber, password: `wrong-guess-${i}` } })).status));
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(5);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(7);
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
  });

  it('PKCE is required, and only approved nodes (at their callback) are clients', async () => {
    const auth = (params: Record<string, string>) => fetch(new URL(`/oidc/auth?${new URLSearchParams({ response_type: 'code', scope: 'openid', state: 's', nonce: 'n', ...params })}`, hub), { redirect: 'manual' });
    const noPkce = await auth({ client_id: SANDU, redirect_uri: callbackOf(SANDU) });
    expect(noPkce.status).toBe(303);
    expect(new URL(noPkce.headers.get('location')!).searchParams.get('error')).toBe('invalid_request');
    const challenge = { code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' };
    // Another node's callback, a division that is no node: refused at the hub, never redirected there.
    expect((await auth({ client_id: SANDU, redirect_uri: callbackOf(ANJI), ...challenge })).status).toBe(400);
    expect((await auth({ client_id: '440300', redirect_uri: 'http://127.0.0.1:1/v1/auth/callback', ...challenge })).status).toBe(400);
    // Only the hub is a provider.
    expect((await fetch(`${t.f.nodes.get(SANDU)!.endpoint}/oidc/.well-known/openid-configuration`)).status).toBe(404);
    // A path the hub's provider does not serve is a 404 like any other: problem+json with a code.
    for (const path of ['/oidc', '/oidc/', '/oidc/nothing-here']) {
      const r = await fetch(new URL(path, hub));
      expect([path, r.status, r.headers.get('content-type')]).toEqual([path, 404, expect.stringMatching(/^application\/problem\+json/)]);
      expect(((await r.json()) as { code: string }).code).toBe('NOT_FOUND');
    }
  });

  it('the CLI (client tongban-cli) starts a device authorization; a node client cannot', async () => {
    const start = (clientId: string) =>
      fetch(`${hub}/oidc/device/auth`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: clientId, scope: 'openid tongban offline_access' }).toString() });
    const cli = await start('tongban-cli');
    expect(cli.status).toBe(200);
    const body = (await cli.json()) as { device_code: string; user_code: string; verification_uri: string };
    expect(body.verification_uri).toBe(`${hub}/oidc/device`);
    expect(body.user_code).toMatch(/\S{4}/);
    expect((await start(SANDU)).status).toBe(400);
    const page = await fetch(body.verification_uri);
    expect(await page.text()).toContain('Enter the code');
  });

  it('device-flow phishing: the confirmation page names the client and tells the person to cancel a code they did not ask for themselves', async () => {
    // Someone starts `tongban login` and sends a victim the page with the code filled in.
    const started = await fetch(`${hub}/oidc/device/auth`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: 'tongban-cli', scope: 'openid tongban offline_access' }).toString() });
    const { user_code: userCode, verification_uri_complete: complete } = (await started.json()) as { user_code: string; verification_uri_complete: string };
    const browser = new Browser();
    const form = await (await browser.fetch(new URL(complete))).text();
    // The code is shown filled in for the person to submit: the page does not submit itself.
    expect(form).not.toMatch(/<script/i);
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(form)![1]!;
    const confirm = await browser.fetch(new URL(`${hub}/oidc/device`), { method: 'POST', form: { xsrf, user_code: userCode } });
    const text = await confirm.text();
    expect(text).toContain('tongban CLI');
    expect(text).toContain(userCode);
    expect(text).toContain('If you did not start this sign-in yourself');
    expect(text).toContain('如果不是您本人');
    // A warning, not a refusal: role="alert" marks the hub's refusals (a wrong code, a wrong password).
    expect(text).not.toContain('role="alert"');
    expect(confirm.headers.get('x-frame-options')).toBe('DENY');
  });

  it('staff are enrolled by their own node only: the node is the signer, never the body', async () => {
    const staff = { login: 'clerk-t@522732', name: '王五', password: 'staff-password-3', roles: ['clerk', 'approver'] };
    // Anji signs an enrolment for a Sandu login: refused.
    const foreign = await signed(ANJI, '/v1/identity/staff', { ...staff, node: SANDU });
    expect(foreign.status).toBe(403);
    expect(foreign.json.code).toBe('IDENTITY_NODE_MISMATCH');
    // Unsigned: refused before anything is looked at.
    const unsigned = await fetch(new URL('/v1/identity/staff', hub), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(staff) });
    expect(unsigned.status).toBe(401);
    // Sandu enrols its own clerk; a `node` field in the body changes nothing.
    const own = await signed(SANDU, '/v1/identity/staff', { ...staff, node: ANJI });
    expect(own.status).toBe(201);
    expect(own.json).toMatchObject({ login: staff.login, kind: 'staff', node: SANDU, roles: ['clerk', 'approver'] });
    expect((await signed(SANDU, '/v1/identity/staff', staff)).json.code).toBe('PERSON_LOGIN_TAKEN');
    const session = await signIn(hub, staff.login, staff.password, { clientId: SANDU, redirectUri: callbackOf(SANDU) });
    expect(session.claims).toMatchObject({ tongban_kind: 'staff', tongban_node: SANDU, tongban_roles: ['clerk', 'approver'], name: staff.name });
    expect(session.claims.tongban_id_number).toBeUndefined();
    // Anji cannot disable Sandu's clerk; Sandu can, and the clerk can no longer sign in.
    expect((await signed(ANJI, `/v1/identity/staff/${staff.login}/disable`, {})).json.code).toBe('IDENTITY_NODE_MISMATCH');
    expect((await signed(SANDU, '/v1/identity/staff/nobody@522732/disable', {})).status).toBe(404);
    const disabled = await signed(SANDU, `/v1/identity/staff/${staff.login}/disable`, {});
    expect(disabled.status).toBe(200);
    expect(disabled.json.disabled).toBe(true);
    await expect(signIn(hub, staff.login, staff.password, { clientId: SANDU, redirectUri: callbackOf(SANDU) })).rejects.toBeInstanceOf(SignInRefused);
  });

  it('citizen enrolment: the administrator only, a valid GB 11643 number, once', async () => {
    expect((await admin('/v1/identity/citizens', { ...CITIZEN, idNumber: '110105194912310021' })).status).toBe(400);
    expect((await admin('/v1/identity/citizens', CITIZEN)).json.code).toBe('PERSON_LOGIN_TAKEN');
    expect((await admin('/v1/identity/citizens', { ...CITIZEN, idNumber: '440524188001010014' }, t.f.operatorToken(HUB))).status).toBe(401);
  });

  it('the hub restarted mid-session keeps the session: a second sign-in needs no password', async () => {
    const browser = new Browser();
    const first = await signIn(hub, CITIZEN.idNumber, CITIZEN.password, { clientId: SANDU, redirectUri: callbackOf(SANDU), browser });
    expect(first.passwordPrompts).toBe(1);
    await t.f.hub.stop();
    await t.f.hub.start();
    expect(t.f.hub.endpoint).toBe(hub);
    // The client's pooled keep-alive connections to the stopped server are dead: the first use of each fails.
    for (let i = 0; i < 10; i++) if (await fetch(new URL('/health', hub)).then((r) => r.ok, () => false)) break;
    const second = await signIn(hub, CITIZEN.idNumber, undefined, { clientId: ANJI, redirectUri: callbackOf(ANJI), browser });
    expect(second.passwordPrompts).toBe(0);
    expect(second.claims.sub).toBe(first.claims.sub);
    // A fresh browser has no session: asked for the password.
    await expect(signIn(hub, CITIZEN.idNumber, undefined, { clientId: ANJI, redirectUri: callbackOf(ANJI) })).rejects.toBeInstanceOf(SignInRefused);
  }, 60_000);

  it('the demo enrols one staff member per role at every node (signed by that node) and citizens of the sample registries', async () => {
    expect(t.f.people.filter((p) => p.kind === 'staff')).toHaveLength(5 * t.f.nodes.size);
    expect(t.f.people.filter((p) => p.kind === 'citizen').length).toBeGreaterThanOrEqual(2);
    const clerk = await signIn(hub, 'clerk@330523', DEMO_PASSWORD, { clientId: ANJI, redirectUri: callbackOf(ANJI) });
    expect(clerk.claims).toMatchObject({ tongban_kind: 'staff', tongban_node: ANJI, tongban_roles: ['clerk'] });
    const admin = await signIn(hub, 'dataadmin@522732', DEMO_PASSWORD, { clientId: SANDU, redirectUri: callbackOf(SANDU) });
    expect(admin.claims).toMatchObject({ tongban_node: SANDU, tongban_roles: ['dataAdmin'] });
    const citizen = t.f.people.find((p) => p.kind === 'citizen')!;
    const signedIn = await signIn(hub, citizen.login.toLowerCase(), DEMO_PASSWORD, { clientId: SANDU, redirectUri: callbackOf(SANDU) });
    expect(signedIn.claims).toMatchObject({ tongban_kind: 'citizen', tongban_id_number: citizen.login, name: citizen.name });
  });

  it('the provider state in the store: expiry, single use, by uid, revocation by grant', async () => {
    const store = t.f.hub.runtime!.store;
    const now = Date.now();
    const record = { model: 'AuthorizationCode', payload: { grantId: 'g-test', x: 1 }, grantId: 'g-test', userCode: null, uid: null, consumedAt: null };
    await store.oidcPayloads.upsert({ ...record, id: 'c-live', expiresAt: now + 60_000 });
    await store.oidcPayloads.upsert({ ...record, id: 'c-old', expiresAt: now - 1 });
    await store.oidcPayloads.upsert({ model: 'Session', id: 's-1', payload: { uid: 'u-1' }, grantId: null, userCode: null, uid: 'u-1', expiresAt: null, consumedAt: null });
    expect((await store.oidcPayloads.find('AuthorizationCode', 'c-live', now))?.payload).toEqual({ grantId: 'g-test', x: 1 });
    expect(await store.oidcPayloads.find('AuthorizationCode', 'c-old', now)).toBeUndefined();
    expect((await store.oidcPayloads.findBy('Session', 'uid', 'u-1', now))?.id).toBe('s-1');
    await store.oidcPayloads.consume('AuthorizationCode', 'c-live', now);
    expect((await store.oidcPayloads.find('AuthorizationCode', 'c-live', now))?.consumedAt).toBe(now);
    expect(await store.oidcPayloads.purgeExpired(now)).toBeGreaterThanOrEqual(1);
    await store.oidcPayloads.revokeByGrantId('g-test');
    expect(await store.oidcPayloads.find('AuthorizationCode', 'c-live', now)).toBeUndefined();
    expect((await store.oidcPayloads.findBy('Session', 'uid', 'u-1', now))?.id).toBe('s-1');
  });
}
