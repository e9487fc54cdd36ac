import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedRequestHeaders } from '../src/exchange/index.ts';
import type { Person } from '../src/identity/index.ts';
import { generateSigningKey, startTestFederation, type TestFederation } from './support/federation.ts';
import { cliClient, signIn } from './support/identity.ts';

/**
 * Every endpoint against every kind of caller. Each route is public, or needs one credential:
 * the operator token, the hub administrator's token, a person (a machine client's token — one
 * staff role, never a citizen —, a session cookie of the node, a hub access token), or a request
 * signed by an approved node. Anything else is refused with 401/403 — never a 2xx.
 */
type Caller =
  | 'anonymous'
  | 'random-bearer'
  | 'latin1-bearer'
  | 'operator'
  | 'admin'
  | 'clerk'
  | 'citizen-session'
  | 'foreign-clerk'
  | 'staff-session'
  | 'citizen-token'
  | 'foreign-staff-token'
  | 'unknown-node-signature'
  | 'node-signature'
  | 'hub-signature'
  | 'data-admin-session'
  | 'data-admin-client'
  | 'foreign-data-admin-token';
type Need = 'public' | 'operator' | 'admin' | 'person' | 'node-signature' | 'hub-signature' | 'citizen' | 'data-admin';

/** Data administrators: of Sandu (a session, a machine client) and of Anji (its own hub access token), tried on the operator, administrator and data-admin routes. */
const DATA_ADMIN_CALLERS: Caller[] = ['data-admin-session', 'data-admin-client', 'foreign-data-admin-token'];
const CALLERS: Caller[] = ['anonymous', 'random-bearer', 'latin1-bearer', 'operator', 'admin', 'clerk', 'foreign-clerk', 'staff-session', 'citizen-session', 'citizen-token', 'foreign-staff-token', 'unknown-node-signature', 'node-signature', 'hub-signature', ...DATA_ADMIN_CALLERS];
const ALLOWED: Record<Need, Caller[]> = {
  public: CALLERS,
  operator: ['operator'],
  // The operator token, or a data administrator of Sandu; clerks, citizens and Anji's data administrator: 403.
  'data-admin': ['operator', 'data-admin-session', 'data-admin-client'],
  admin: ['admin'],
  // A machine client of Sandu (clerk) and sessions of Sandu (staff, citizen); a citizen's hub token anywhere.
  // Staff of Anji (foreign-staff-token) are nobody at Sandu: 403 STAFF_OF_ANOTHER_NODE.
  person: ['clerk', 'staff-session', 'citizen-session', 'citizen-token'],
  // The hub signs as a node too (its checkpoints' witness, its relay): any approved signer.
  'node-signature': ['node-signature', 'hub-signature'],
  'hub-signature': ['hub-signature'],
  // A citizen signed in at the hub (its JWT access token), at any node and at the hub.
  citizen: ['citizen-token'],
};

/**
 * What an allowed caller gets, exactly (the request carries no valid body or an id that does
 * not exist, so "past authorization" shows as 400/404, or 200 for reads): a 403 for a caller
 * who should be let in fails here. Per caller where they differ.
 */
const EXPECTED: Record<string, number | Partial<Record<Caller, number>>> = {
  // public
  'GET /health': 200,
  'GET /health/live': 200,
  'GET /health/ready': 200,
  'GET /metrics': 200,
  'GET /v1/node': 200,
  'GET /v1/catalog/items': 200,
  'GET /v1/catalog/items/{code}': 200,
  'GET /v1/divisions': 400, // the query is required
  'GET /v1/divisions/{code}': 200,
  'POST /v1/standards/validate': 400,
  'GET /v1/directory/snapshot': 200,
  'GET /v1/agreements/{id}': 200,
  'GET /v1/audit/checkpoints/{division}': 200,
  // sign-in at the node (nodes only): to the hub; a callback without a state it issued; sign-out
  'GET /v1/auth/login': 302,
  'GET /v1/auth/callback': 400,
  'POST /v1/auth/logout': 200,
  // who is calling: anyone provable, staff of another node included (actsHere: false)
  'GET /v1/auth/me': 200,
  // operator
  'GET /v1/operator/audit': 200,
  'GET /v1/operator/outbox': 200,
  'GET /v1/operator/keys': 200,
  'POST /v1/operator/keys/rotate': 400,
  'GET /v1/operator/directory': 200,
  'POST /v1/operator/directory/refresh': 200,
  'POST /v1/operator/exchange': 400,
  'POST /v1/operator/accounts': 400,
  'GET /v1/operator/accounts': 200,
  'POST /v1/operator/accounts/{id}/revoke': 404, // no such machine client
  // staff at the hub, through the node (nodes only): an empty body is no enrolment; Sandu's list;
  // a login of Qingpu is IDENTITY_NODE_MISMATCH (403) before the hub is asked.
  'POST /v1/operator/staff': 400,
  'GET /v1/operator/staff': 200,
  'POST /v1/operator/staff/{login}/disable': 403,
  // The matrix fills {login} with a placeholder that is no login of this node; an empty body is no grant.
  'GET /v1/operator/admin-grants': 200,
  'POST /v1/operator/staff/{login}/admin-grant': 400,
  'POST /v1/operator/staff/{login}/admin-grant/revoke': 403,
  'POST /v1/operator/agreements/sign': 400,
  'POST /v1/operator/agreements/submit': 400,
  // No reason given: refused before anything changes (the agreement stays active for the rest of the matrix).
  'POST /v1/operator/agreements/{id}/suspend': 400,
  'POST /v1/operator/agreements/{id}/resume': 400,
  'POST /v1/operator/agreements/{id}/terminate': 400,
  'POST /v1/operator/agreements/accept': 400,
  'GET /v1/operator/agreements/templates': 200,
  'GET /v1/operator/agreements/templates/{id}': 404, // an agreement id is no template
  'POST /v1/operator/agreements/drafts': 400,
  'GET /v1/operator/agreements/drafts': 200,
  'GET /v1/operator/agreements/drafts/{id}': 404,
  'POST /v1/operator/agreements/drafts/{id}/actions': 400,
  'GET /v1/operator/agreements/report': 200,
  'GET /v1/operator/agreements': 200,
  'GET /v1/operator/services': 200,
  // hub administrator
  'GET /v1/directory/nodes': 200,
  // Anji is approved: approving it again is not a step the enrolment table allows.
  'POST /v1/directory/nodes/{division}/approve': 409,
  'POST /v1/directory/nodes/{division}/suspend': 200,
  // Suspended by then: revoked; a revoked enrolment can only be removed, not rejected.
  'POST /v1/directory/nodes/{division}/revoke': 200,
  'POST /v1/directory/nodes/{division}/reject': 409,
  'POST /v1/directory/nodes/{division}/remove': 200,
  'GET /v1/directory/changes': 200,
  'POST /v1/directory/changes/{division}/approve': 404,
  'POST /v1/directory/changes/{division}/reject': 404,
  'GET /v1/audit/incidents': 200,
  'POST /v1/identity/citizens': 400,
  // signed by an approved node (or the hub)
  'POST /v1/exchange': 400,
  'POST /v1/exchange/relayed': 400,
  'POST /v1/relay': 400,
  'POST /v1/cases/inbox': 400,
  'POST /v1/messages/inbox': 400,
  'POST /v1/messages/relay': 400,
  'POST /v1/agreements': 400,
  'POST /v1/agreements/{id}/state': 400,
  'POST /v1/audit/checkpoints': 400,
  'POST /v1/directory/rotations': 400,
  'POST /v1/directory/rotations/status': 400,
  'POST /v1/identity/staff': 400,
  // A Qingpu login: Qingpu has no such staff member (404); the hub signs for its own logins only (403).
  'POST /v1/identity/staff/{login}/disable': { 'node-signature': 404, 'hub-signature': 403 },
  // The signer's own staff (an empty body: the first page).
  'POST /v1/identity/staff/list': 200,
  // The {id} is no consent: CONSENT_NOT_FOUND once the signature is checked.
  'POST /v1/consents/{id}/status': 404,
  // A citizen signed in at the hub (hub only): an empty body is no grant (400), their own list (200),
  // an {id} that is no UUID (400). Staff of a node are STAFF_OF_ANOTHER_NODE (403) there; the hub's
  // own staff and machine clients, CONSENT_FORBIDDEN (403): test/consent-contract.ts.
  'POST /v1/consents': 400,
  'GET /v1/consents': 200,
  'POST /v1/consents/{id}/revoke': 400,
  // E-certificates at the hub: the administrator's issuers (an empty body is no authorisation; Anji,
  // a demo issuer, is withdrawn), the public trust list, a citizen's own (empty) wallet.
  'POST /v1/certificates/issuers': 400,
  'POST /v1/certificates/issuers/{division}/withdraw': 200,
  'GET /v1/certificates/trust-list': 200,
  'GET /v1/wallet': 200,
  // accounts at the node (the {id} is no case: 404 once the caller is let in)
  'GET /v1/cases': 200,
  'POST /v1/cases': 400,
  'GET /v1/cases/events': 200,
  // No itemCode: refused once the caller is let in.
  'GET /v1/cases/competent-nodes': 400,
  'GET /v1/cases/{id}': 404,
  'POST /v1/cases/{id}/actions/{action}': 404,
  'POST /v1/cases/{id}/evidence': 400,
  // Applicants never read threads: refused before the case is looked up (nothing is revealed).
  'GET /v1/cases/{id}/thread': { clerk: 404, 'staff-session': 404, 'citizen-session': 403, 'citizen-token': 403 },
  'POST /v1/cases/{id}/thread': 400,
  // e-certificates a node issued (nodes only; the {id} is no certificate, an empty body no request):
  // staff of the node list them, a citizen lists their own; a status list id that is no number.
  'GET /v1/certificates/status-lists/{listId}': 400,
  'GET /v1/certificates': { clerk: 200, 'staff-session': 200, 'citizen-session': 403, 'citizen-token': 403 },
  'GET /v1/certificates/mine': { clerk: 403, 'staff-session': 403, 'citizen-session': 200, 'citizen-token': 200 },
  'GET /v1/certificates/{id}': 404,
  'POST /v1/certificates/issue': 400,
  'POST /v1/certificates/{id}/revoke': 400,
  'POST /v1/certificates/{id}/suspend': 400,
  'POST /v1/certificates/{id}/reinstate': 400,
  'POST /v1/certificates/{id}/bind': 400,
  // this node as a verifier (nodes only): its staff get a challenge, citizens do not; an empty body
  // is no verification and no presentation for a case.
  'POST /v1/certificates/challenges': { clerk: 201, 'staff-session': 201, 'citizen-session': 403, 'citizen-token': 403 },
  'POST /v1/certificates/verify': 400,
  'POST /v1/cases/{id}/certificates': 400,
  // the citizen's data tracker (a hub access token of a citizen)
  'GET /v1/tracker/entries': 200,
  'GET /v1/tracker': 200,
  // A citizen's hub views through their node (nodes only): the citizen's session carries the hub token
  // of its sign-in (200); staff have none (403 CITIZEN_ONLY); a bearer token is relayed by no node
  // (401 HUB_SIGN_IN_NEEDED: call the hub itself). An empty body is no consent; the {id} is no UUID.
  'GET /v1/me/wallet': { clerk: 403, 'staff-session': 403, 'citizen-session': 200, 'citizen-token': 401 },
  'GET /v1/me/tracker': { clerk: 403, 'staff-session': 403, 'citizen-session': 200, 'citizen-token': 401 },
  'GET /v1/me/consents': { clerk: 403, 'staff-session': 403, 'citizen-session': 200, 'citizen-token': 401 },
  'POST /v1/me/consents': 400,
  'POST /v1/me/consents/{id}/revoke': 400,
  'GET /v1/me/options': 200,
  // The hub's end of that relay, signed by the node: an empty body is no relayed call.
  'POST /v1/citizen/relay': 400,
  // Governance (docs/governance.md): the node's report for the hub (an empty body is no nonce); the
  // node's figures and the relayed hub report are for its supervisors and data administrators only
  // (a clerk, a staff session of a clerk, a citizen: GOVERNANCE_FORBIDDEN). The hub's report is public.
  'POST /v1/governance/report': 400,
  'GET /v1/governance/node': { clerk: 403, 'staff-session': 403, 'citizen-session': 403, 'citizen-token': 403 },
  'GET /v1/governance/federation': { clerk: 403, 'staff-session': 403, 'citizen-session': 403, 'citizen-token': 403 },
};

/** Where the hub answers a path differently from the node (the same path, another auth kind). */
const EXPECTED_AT_HUB: Record<string, number> = {
  'GET /v1/governance/federation': 200,
};

const ISSUER_ROUTES: ReadonlySet<string> = new Set(['/v1/certificates', '/v1/certificates/mine', '/v1/certificates/{id}', '/v1/certificates/issue', '/v1/certificates/{id}/revoke', '/v1/certificates/{id}/suspend', '/v1/certificates/{id}/reinstate', '/v1/certificates/{id}/bind']);
const VERIFIER_ROUTES: ReadonlySet<string> = new Set(['/v1/certificates/challenges', '/v1/certificates/verify']);

/** What a node's data administrator uses (src/server/data-admin.ts): agreements, negotiations, templates, services, the directory, the keys' status. */
function dataAdminRoute(method: string, path: string): boolean {
  if (path === '/v1/operator/agreements' || path === '/v1/operator/services' || path.startsWith('/v1/operator/directory')) return true;
  if (path === '/v1/operator/keys') return method === 'GET';
  if (/^\/v1\/operator\/agreements\/(templates|drafts|report)/.test(path)) return true;
  return /^\/v1\/operator\/agreements\/\{id\}\/(suspend|resume|terminate)$/.test(path);
}

function need(method: string, path: string, division: string): Need {
  if (dataAdminRoute(method, path)) return 'data-admin';
  if (path === '/v1/governance/report') return 'hub-signature';
  if (path === '/v1/governance/node') return 'person';
  // The hub publishes its report; a node relays it to its own staff.
  if (path === '/v1/governance/federation') return division === '100000' ? 'public' : 'person';
  // /metrics: the operator token (or a metrics token, not configured here).
  if (path.startsWith('/v1/operator/') || path === '/metrics') return 'operator';
  if (path.startsWith('/v1/directory/nodes') || path.startsWith('/v1/directory/changes') || path === '/v1/audit/incidents' || path === '/v1/identity/citizens') return 'admin';
  if (path.startsWith('/v1/certificates/issuers')) return 'admin';
  if (path === '/v1/wallet') return 'person';
  if (path.startsWith('/v1/identity/staff')) return 'node-signature';
  if (path === '/v1/auth/me') return 'person';
  if (path === '/v1/exchange/relayed') return 'hub-signature';
  if (['/v1/exchange', '/v1/relay', '/v1/directory/enrolments', '/v1/directory/rotations', '/v1/directory/rotations/status', '/v1/cases/inbox', '/v1/messages/inbox', '/v1/messages/relay'].includes(path)) return 'node-signature';
  if ((path === '/v1/agreements' || path === '/v1/agreements/{id}/state' || path === '/v1/audit/checkpoints') && method === 'POST') return 'node-signature';
  if (path === '/v1/consents/{id}/status' || path === '/v1/citizen/relay') return 'node-signature';
  // A citizen signed in at the node (their hub views relayed by it); the options, anyone signed in.
  if (path.startsWith('/v1/me/')) return 'person';
  // Citizens signed in at the hub.
  if (path.startsWith('/v1/consents')) return 'person';
  // The issuing node's certificates: its status lists are public; the rest is for its staff and the holders.
  if (path.startsWith('/v1/certificates/status-lists/')) return 'public';
  if (ISSUER_ROUTES.has(path) || VERIFIER_ROUTES.has(path)) return 'person';
  if (path.startsWith('/v1/cases')) return 'person';
  if (path === '/v1/tracker' || path === '/v1/tracker/entries') return 'citizen';
  return 'public';
}

let t: TestFederation;
const tokens: Record<string, string> = {};
let citizenSubject = '';
/** The citizen's hub access token for Sandu's own client, as Sandu's sign-in gets it: kept in the citizen's session. */
let citizenNodeToken = '';

beforeAll(async () => {
  t = await startTestFederation('sqlite', { directory: { refreshSeconds: 0.5, snapshotTtlSeconds: 600 } });
  tokens.clerk = (await t.operator('522732', '/v1/operator/accounts', { id: 'matrix-clerk', role: 'clerk', name: 'm' })).json.token;
  tokens['foreign-clerk'] = (await t.operator('330523', '/v1/operator/accounts', { id: 'matrix-foreign', role: 'clerk', name: 'm' })).json.token;
  // People at the hub: a citizen (acts anywhere) and a staff member of Anji (nobody at Sandu).
  const hub = t.f.hub.endpoint;
  const citizen = { idNumber: '11010519491231002X', name: 'm', password: 'matrix-citizen-password' };
  await fetch(new URL('/v1/identity/citizens', hub), { method: 'POST', headers: { authorization: `Bearer ${t.f.adminToken()}`, 'content-type': 'application/json' }, body: JSON.stringify(citizen) });
  const staffUrl = new URL('/v1/identity/staff', hub).toString();
  const staff = JSON.stringify({ login: 'matrix@330523', name: 'm', password: 'matrix-staff-password', roles: ['clerk'] });
  await fetch(staffUrl, { method: 'POST', headers: await signedRequestHeaders(t.key('330523'), staffUrl, staff, new Date()), body: staff });
  // Their own credentials (the CLI's client, audience the federation): taken at every node and the hub.
  const signedIn = await signIn(hub, citizen.idNumber, citizen.password, cliClient());
  tokens['citizen-token'] = signedIn.accessToken;
  citizenSubject = String(signedIn.claims.sub);
  const sandu = t.f.nodes.get('522732')!.endpoint;
  citizenNodeToken = (await signIn(hub, citizen.idNumber, citizen.password, { clientId: '522732', redirectUri: `${sandu}/v1/auth/callback` })).accessToken;
  tokens['foreign-staff-token'] = (await signIn(hub, 'matrix@330523', 'matrix-staff-password', cliClient())).accessToken;
  // Sandu's own grant of dataAdmin to the login the data-admin session names (the hub's claim alone administers nothing).
  expect((await t.operator('522732', '/v1/operator/staff/dataadmin/admin-grant', { roles: ['dataAdmin'], passphrase: 'matrix-node-passphrase' })).status).toBe(201);
  tokens['data-admin-client'] = (await t.operator('522732', '/v1/operator/accounts', { id: 'matrix-data', role: 'dataAdmin', name: 'm' })).json.token;
  const anjiAdmin = JSON.stringify({ login: 'matrixdata@330523', name: 'm', password: 'matrix-staff-password', roles: ['dataAdmin'] });
  await fetch(staffUrl, { method: 'POST', headers: await signedRequestHeaders(t.key('330523'), staffUrl, anjiAdmin, new Date()), body: anjiAdmin });
  tokens['foreign-data-admin-token'] = (await signIn(hub, 'matrixdata@330523', 'matrix-staff-password', cliClient())).accessToken;
}, 300_000);

/** A session of Sandu (the cookie, made for each request: sign-out ends the one it is sent): its clerk, or the citizen signed in above. */
async function sessionCookie(caller: 'staff-session' | 'citizen-session' | 'data-admin-session'): Promise<string> {
  const person: Person =
    caller === 'staff-session'
      ? { subject: 'p-matrix-clerk', kind: 'staff', name: 'm', node: '522732', roles: ['clerk'], via: 'session' }
      : caller === 'data-admin-session'
        ? { subject: 'p-matrix-data', kind: 'staff', name: 'm', node: '522732', roles: ['dataAdmin'], login: 'dataadmin@522732', via: 'session' }
        : { subject: citizenSubject, kind: 'citizen', name: 'm', idNumber: '11010519491231002X', roles: [], via: 'session' };
  const hubToken = caller === 'citizen-session' ? { token: citizenNodeToken, expiresAt: Date.now() + 300_000 } : undefined;
  const { id } = await t.f.nodes.get('522732')!.runtime!.identity.sessions.create(person, hubToken);
  return `tongban_session_522732=${id}`;
}
afterAll(async () => {
  await t?.stop();
});

describe('authorization matrix', () => {
  for (const division of ['522732', '100000']) {
    it(`${division === '100000' ? 'hub' : 'node'}: every endpoint × every caller`, async () => {
      const server = division === '100000' ? t.f.hub : t.f.nodes.get(division)!;
      const doc = (await (await fetch(new URL('/openapi.json', server.endpoint))).json()) as { paths: Record<string, Record<string, unknown>> };
      const strangerKey = await generateSigningKey('Ed25519', '440300');
      const table: string[] = [];
      const problems: string[] = [];
      for (const [template, methods] of Object.entries(doc.paths)) {
        for (const method of Object.keys(methods).map((m) => m.toUpperCase())) {
          const path = template.replace('{division}', '330523').replace('{code}', template.includes('divisions') ? '522732' : 'N034').replace('{id}', 'AGR-522732-330523-001').replace('{action}', 'accept').replace('{login}', 'matrix@310118');
          const required = need(method, template, division);
          for (const caller of CALLERS) {
            // The data administrators are tried where their role matters; elsewhere they are people like the clerk.
            if (DATA_ADMIN_CALLERS.includes(caller) && !['data-admin', 'operator', 'admin'].includes(required)) continue;
            const url = new URL(path, server.endpoint).toString();
            const body = method === 'GET' ? undefined : '{}';
            let headers: Record<string, string> = method === 'GET' ? {} : { 'content-type': 'application/json' };
            const bearer =
              caller === 'operator' ? t.f.operatorToken(division) : caller === 'admin' ? t.f.adminToken() : caller === 'random-bearer'
                      ? 'x'.repeat(32)
                      : // Latin-1 characters, as many as the real token has: once a 500 that measured the length.
                        caller === 'latin1-bearer'
                        ? 'é'.repeat(t.f.operatorToken(division).length)
                        : tokens[caller];
            if (bearer && caller !== 'unknown-node-signature') headers.authorization = `Bearer ${bearer}`;
            // A browser of the node's own pages: the cookie, and the CSRF header on changes.
            if (caller === 'staff-session' || caller === 'citizen-session' || caller === 'data-admin-session') headers = { ...headers, cookie: await sessionCookie(caller), 'x-tongban-csrf': '1' };
            if (caller === 'unknown-node-signature' && body) headers = await signedRequestHeaders(strangerKey, url, body, new Date());
            // A valid signature of an approved node (Qingpu: the hub matrix suspends Anji on the way).
            if (caller === 'node-signature' && body) headers = await signedRequestHeaders(t.key('310118'), url, body, new Date());
            if (caller === 'hub-signature' && body) headers = await signedRequestHeaders(t.key('100000'), url, body, new Date());
            const response = await fetch(url, { method, headers, redirect: 'manual', ...(body ? { body } : {}) });
            // Do not leave event streams open.
            if (response.headers.get('content-type')?.startsWith('text/event-stream')) await response.body?.cancel();
            // Machine clients and sessions belong to one node: Sandu's clerk and sessions are nobody at the hub.
            // A citizen's hub token is taken anywhere (the hub serves cases too); who-am-I answers staff of another node.
            const allowed =
              (ALLOWED[required].includes(caller) && !(required === 'person' && division !== '522732' && caller !== 'citizen-token') && !(required === 'data-admin' && division !== '522732' && caller !== 'operator')) ||
              (template === '/v1/auth/me' && caller === 'foreign-staff-token');
            table.push(`${method} ${template} ${caller} → ${response.status}`);
            if (template === '/v1/directory/enrolments') {
              // Enrolment is open to new keys by design (proof of possession of the key in the body):
              // without a valid self-signed entry nobody gets in.
              if (![400, 401].includes(response.status)) problems.push(`${method} ${path} as ${caller}: ${response.status}, expected 400 or 401`);
            } else if (!allowed) {
              if (![401, 403].includes(response.status)) problems.push(`${method} ${path} as ${caller} must be refused (got ${response.status})`);
            } else {
              // Allowed callers get exactly what the route gives them: not a 401 or a 403.
              const entry = (division === '100000' ? EXPECTED_AT_HUB[`${method} ${template}`] : undefined) ?? EXPECTED[`${method} ${template}`];
              const expected = typeof entry === 'number' ? entry : entry?.[caller];
              if (expected === undefined) problems.push(`${method} ${template} as ${caller}: no expected status in EXPECTED (got ${response.status})`);
              else if (response.status !== expected) problems.push(`${method} ${path} as ${caller}: ${response.status}, expected ${expected}`);
            }
          }
        }
      }
      expect(problems).toEqual([]);
      expect(table.length).toBeGreaterThan(100);
    }, 60_000);
  }
});


describe('the data administrator’s routes (auth kind data-admin)', () => {
  it('refuse a clerk, a citizen and another node’s data administrator with 403 and a stable code, at every such route', async () => {
    const sandu = t.f.nodes.get('522732')!.endpoint;
    const doc = (await (await fetch(new URL('/openapi.json', sandu))).json()) as { paths: Record<string, Record<string, { security?: Array<Record<string, string[]>> }>> };
    const routes = Object.entries(doc.paths).flatMap(([template, methods]) => Object.keys(methods).map((m) => [m.toUpperCase(), template] as const)).filter(([m, p]) => need(m, p, '522732') === 'data-admin');
    expect(routes.length).toBeGreaterThanOrEqual(14);
    const problems: string[] = [];
    for (const [method, template] of routes) {
      // Documented as the operator token or a person: each of them (operatorBearer first, for the CLI's tools).
      const security = doc.paths[template]![method.toLowerCase()]!.security!;
      expect(security.map((s) => Object.keys(s)[0]), template).toEqual(['operatorBearer', 'sessionCookie', 'hubAccessToken', 'machineToken']);
      const url = new URL(template.replace('{id}', 'AGR-522732-330523-001'), sandu);
      for (const [caller, code] of [
        ['clerk', 'ADMIN_ROLE_REQUIRED'],
        ['staff-session', 'ADMIN_ROLE_REQUIRED'],
        ['citizen-token', 'ADMIN_ROLE_REQUIRED'],
        ['citizen-session', 'ADMIN_ROLE_REQUIRED'],
        ['foreign-data-admin-token', 'STAFF_OF_ANOTHER_NODE'],
      ] as const) {
        const session = caller === 'staff-session' || caller === 'citizen-session';
        const headers: Record<string, string> = session ? { cookie: await sessionCookie(caller), 'x-tongban-csrf': '1' } : { authorization: `Bearer ${tokens[caller]}` };
        const response = await fetch(url, { method, headers: method === 'GET' ? headers : { ...headers, 'content-type': 'application/json' }, ...(method === 'GET' ? {} : { body: '{}' }) });
        const body = (await response.json()) as { code?: string };
        if (response.status !== 403 || body.code !== code) problems.push(`${method} ${template} as ${caller}: ${response.status} ${body.code}, expected 403 ${code}`);
      }
      // A change with the session cookie but without the CSRF header (a cross-site form): refused before anything is read.
      if (method === 'POST') {
        const response = await fetch(url, { method, headers: { cookie: await sessionCookie('data-admin-session'), 'content-type': 'application/json' }, body: '{}' });
        if (response.status !== 403 || ((await response.json()) as { code?: string }).code !== 'CSRF_REJECTED') problems.push(`${method} ${template}: a data administrator's session without the CSRF header is not CSRF_REJECTED`);
      }
    }
    expect(problems).toEqual([]);
  }, 60_000);
});
