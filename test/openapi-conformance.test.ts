import { randomUUID } from 'node:crypto';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { Validator } from '@seriousme/openapi-schema-validator';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agreement, emptyLifecycle, nextStateChange, signStateChange } from '../src/agreements/index.ts';
import { generateEncryptionKey, signJws, type SigningKey } from '../src/crypto/index.ts';
import { buildRotationRequest, type DirectoryEntry } from '../src/directory/index.ts';
import { buildCreditCode } from '../src/standards/index.ts';
import { sealEnvelope } from '../src/messaging/index.ts';
import { CHECKPOINT_TYP } from '../src/node/jobs.ts';
import { makeHolderProof } from '../src/issuer/index.ts';
import { presentCertificate } from '../src/certificates/index.ts';
import { hubTokens } from './support/citizen-tokens.ts';
import { generateSigningKey, startTestFederation, type TestFederation } from './support/federation.ts';
import { Browser } from './support/identity.ts';

/**
 * Documentation and behaviour agree (issue 8 item 19, issue 10 item 3): real servers — the hub and
 * the nodes — are sent real HTTP calls, and each real answer is checked against the answering
 * server's own /openapi.json: the status must be documented for the operation, the media type
 * too, and the body must validate against the schema (a field the schema forbids fails).
 * The last tests require that every operation has a representative call and that EVERY documented
 * (server, operation, status) pair was answered for real and validated: a status no call can
 * provoke is a documentation bug (fix the route's `errors: [...]`, never this test).
 *
 * How to add a call for a new route (or a new documented status):
 *  - append to `calls` below, in the section of its domain:
 *      call('what it shows', SANDU, 'POST', '/v1/things/{id}', http(SANDU, 'POST', '/v1/things/T-1', { token: () => tokens.clerk, body: {…} })),
 *    or `both(...)` for a route the hub and the nodes both serve (the maker gets the server);
 *    `signed(from, to, path, () => body)` sends an RFC 9421-signed node-to-node call;
 *  - tokens are functions (`() => tokens.x`), read when the call runs: calls run in order, so a
 *    call may use what an earlier one created (stateful steps keep their ids in `state`);
 *  - 401 (no credentials), 400 (malformed path parameter or JSON body), 413, 415 and 429 are
 *    provoked for every operation by the generic tests below (they fill path parameters with
 *    `pathOf`: extend it for a parameter name it does not know): add calls only for the statuses
 *    your route answers in its own situations (200/201, 400 for a bad query or body, 403, 404, 409…);
 *  - a status no real call can provoke is a documentation bug: fix the route's `errors`;
 *  - 500, 502 and 503 are documented once for every operation (`default`, components/responses),
 *    not per operation, and are not counted here.
 */
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
const SANDU = '522732';
const ANJI = '330523';
const QINGPU = '310118';
const CHANGZHOU = '320400';
const HUB = '100000';
const SANDU_ANJI = 'AGR-522732-330523-001';
/** The bridge agreement of Sandu and Changzhou: terminated by the last calls. */
const CHANGZHOU_BRIDGE = 'AGR-522732-320400-001';
const HUB_AGREEMENT = 'AGR-HUB-DELTA-001';
/** Divisions this test enrols itself (keys it holds), and one that never enrols. */
const REJECTED = '440100';
const ROTATED = '440104';
const REMOVED = '440106';
const NEVER = '440300';
/** Rate limit of the unauthenticated routes in this federation: low, so that 429 is provoked for real. */
const RATE_MAX = 40;
const ENROLMENT_MAX = 20;

/** A division: the hub, Sandu, or another node (whose document is the same as Sandu's). */
type Server = string;
type OpenApi = {
  paths: Record<string, Record<string, { security?: Array<Record<string, string[]>>; parameters?: Array<{ name: string; in: string }>; requestBody?: unknown; responses: Record<string, { $ref?: string; content?: Record<string, { schema?: Record<string, unknown> }> }> }>>;
  components: { schemas: Record<string, Record<string, unknown>>; responses: Record<string, { content: Record<string, { schema: Record<string, unknown> }> }> };
};
interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly body: unknown;
}
interface Call {
  readonly server: Server;
  readonly method: 'GET' | 'POST';
  /** The documented path template the call exercises. */
  readonly template: string;
  readonly send: () => Promise<Answer>;
}

let t: TestFederation;
const docs = new Map<Server, OpenApi>();
const tokens: Record<string, string> = {};
/** What stateful calls create for later ones (case ids, keys, entries, messages). */
const state: Record<string, any> = {};
let person: { idNumber: string; name: string };

const endpointOf = (server: Server) => (server === HUB ? t.f.hub.endpoint : t.f.nodes.get(server)!.endpoint);
const docKey = (server: Server) => (server === HUB ? HUB : SANDU);
const docOf = (server: Server) => docs.get(docKey(server))!;
const nameOf = (server: Server) => (server === HUB ? 'hub' : 'node');

async function answerOf(response: Response): Promise<Answer> {
  const contentType = response.headers.get('content-type') ?? '';
  if (contentType.startsWith('text/event-stream')) {
    await response.body?.cancel();
    return { status: response.status, contentType, body: undefined };
  }
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Left as text: a JSON media type with a non-JSON body fails validation below.
  }
  return { status: response.status, contentType, body };
}

type Lazy<T> = T | (() => T);
const value = <T>(v: Lazy<T>): T => (typeof v === 'function' ? (v as () => T)() : v);

/** A plain HTTP call, with a bearer token and/or a body of the given media type; path, token and body may be read when it runs. */
function http(server: Server, method: 'GET' | 'POST', path: Lazy<string>, options: { token?: Lazy<string | undefined>; body?: Lazy<unknown>; type?: string; raw?: string } = {}): () => Promise<Answer> {
  return async () => {
    const body = options.body === undefined ? undefined : value(options.body);
    const hasBody = body !== undefined || options.raw !== undefined;
    const token = options.token === undefined ? undefined : value(options.token);
    const response = await fetch(new URL(value(path), endpointOf(server)), {
      method,
      // Redirects (sign-in) are answers of their own.
      redirect: 'manual',
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(hasBody ? { 'content-type': options.type ?? 'application/json' } : {}),
      },
      ...(hasBody ? { body: options.raw ?? JSON.stringify(body) } : {}),
    });
    return answerOf(response);
  };
}

/**
 * Sends again when the connection was reset before the answer was read. A server refuses an
 * oversized body on its Content-Length and closes the connection while the client may still be
 * writing: the kernel's reset can then discard the 413 already sent (a race of the test's client,
 * seen under load, not a behaviour of the server). Any answer still has to be the documented one.
 */
async function resetTolerant(status: number, send: () => Promise<Answer>): Promise<Answer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (error) {
      const code = (error as { cause?: { code?: string } }).cause?.code;
      if (status !== 413 || attempt >= 5 || (code !== 'ECONNRESET' && code !== 'EPIPE' && code !== 'UND_ERR_SOCKET')) throw error;
    }
  }
}

/** A node-to-node call signed (RFC 9421) by `from` (or with `key`); `keep` names where the request is kept, to replay it. */
function signed(from: string, to: Server, path: string, body: () => unknown, options: { key?: () => SigningKey; keep?: string; replay?: string } = {}): () => Promise<Answer> {
  return async () => {
    const r = await t.raw({
      from,
      to,
      path,
      body: options.replay ? undefined : body(),
      ...(options.key ? { key: options.key() } : {}),
      ...(options.replay ? { replayOf: state[options.replay] } : {}),
    });
    if (options.keep) state[options.keep] = r.request;
    return { status: r.status, contentType: r.headers.get('content-type') ?? '', body: r.json };
  };
}

/** What a citizen asks the hub to sign: Anji may have Sandu's marriage record (a grant that requires consent). */
const consentInput = (overrides: Record<string, unknown> = {}) => ({
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

/** The id of a consent the signed-in citizen granted over HTTP (`POST /v1/consents`, once). */
async function citizenConsent(): Promise<string> {
  if (!state.consent) {
    const answer = await http(HUB, 'POST', '/v1/consents', { token: () => tokens.citizen, body: consentInput() })();
    expect(answer.status).toBe(201);
    state.consent = (answer.body as { id: string }).id;
  }
  return state.consent as string;
}

/** `POST /v1/consents/{id}/status` at the hub, signed by `from`, for the consent the citizen gave Anji. */
function consentStatus(from: string, options: { key?: () => SigningKey; keep?: string; replay?: string } = {}): () => Promise<Answer> {
  return async () => signed(from, HUB, `/v1/consents/${await citizenConsent()}/status`, () => ({}), options)();
}

/** Runs `send`, then hands its answer to `then` (to keep an id for later calls). */
function keeping(send: () => Promise<Answer>, then: (answer: Answer) => void | Promise<void>): () => Promise<Answer> {
  return async () => {
    const answer = await send();
    await then(answer);
    return answer;
  };
}

/** POST /v1/auth/logout with a fresh session of the server (made by its runtime) and these headers. */
function withSession(server: Server, headers: Record<string, string>): () => Promise<Answer> {
  return async () => {
    const runtime = server === HUB ? t.f.hub.runtime! : t.f.nodes.get(server)!.runtime!;
    const { id } = await runtime.identity.sessions.create({ subject: 'p-conformance', kind: 'citizen', name: '王', idNumber: '11010519491231002X', roles: [], via: 'session' });
    return answerOf(await fetch(new URL('/v1/auth/logout', endpointOf(server)), { method: 'POST', redirect: 'manual', headers: { cookie: `tongban_session_${runtime.config.node.division}=${id}`, ...headers } }));
  };
}

/**
 * A call to Sandu as the citizen signed in there in a browser: the session cookie (with the CSRF
 * header), whose session keeps the hub token Sandu's sign-in got for them (made by Sandu's runtime once).
 */
function asSignedInCitizen(method: 'GET' | 'POST', path: Lazy<string>, body?: unknown): () => Promise<Answer> {
  return async () => {
    if (!state.citizenSession) {
      const runtime = t.f.nodes.get(SANDU)!.runtime!;
      const person = { subject: String(decodeJwt(tokens.citizenAtSandu!).sub), kind: 'citizen' as const, name: '测试公民', idNumber: '11010519491231002X', roles: [], via: 'session' as const };
      state.citizenSession = (await runtime.identity.sessions.create(person, { token: tokens.citizenAtSandu!, expiresAt: Date.now() + 300_000 })).id;
    }
    const response = await fetch(new URL(value(path), endpointOf(SANDU)), {
      method,
      headers: { cookie: `tongban_session_${SANDU}=${state.citizenSession}`, 'x-tongban-csrf': '1', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return answerOf(response);
  };
}

/** The hub's relay of a citizen's call, signed by Sandu, with the citizen's token for Sandu's client (or `token`). */
function citizenRelay(call: () => unknown, options: { token?: () => string; keep?: string; replay?: string } = {}): () => Promise<Answer> {
  return signed(SANDU, HUB, '/v1/citizen/relay', () => ({ accessToken: (options.token ?? (() => tokens.citizenAtSandu!))(), call: call() }), options);
}

/** Signs in at the node as a browser does (its login, the hub's form, back): the answer of the node's callback. */
function signInThroughNode(server: Server, login: string, password: string): () => Promise<Answer> {
  return async () => {
    const browser = new Browser();
    let url = new URL('/v1/auth/login?return=/v1/auth/me', endpointOf(server));
    let response = await browser.fetch(url);
    for (let hops = 0; hops < 20; hops++) {
      if (url.pathname === '/v1/auth/callback') return answerOf(response);
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        url = new URL(location, url);
        response = await browser.fetch(url);
        continue;
      }
      const action = /<form method="post" action="([^"]+)"/.exec(await response.text())?.[1];
      if (!action) throw new Error(`no sign-in form at ${url.href} (${response.status})`);
      url = new URL(action.replace(/&amp;/g, '&'), url);
      response = await browser.fetch(url, { method: 'POST', form: { login, password } });
    }
    throw new Error('sign-in: too many redirects');
  };
}

const call = (name: string, server: Server, method: 'GET' | 'POST', template: string, send: () => Promise<Answer>): [string, Call] => [name, { server, method, template, send }];
/** The same call on the hub and on Sandu (routes both serve). */
const both = (name: string, method: 'GET' | 'POST', template: string, make: (server: Server) => () => Promise<Answer>): Array<[string, Call]> =>
  [SANDU, HUB].map((server) => call(name, server, method, template, make(server)));

const validators = new Map<string, ValidateFunction>();
/** `document|METHOD template|status` of every real answer checked, for the coverage test. */
const seen = new Set<string>();
function record(server: Server, method: string, template: string, answer: Answer): string[] {
  const problems = nonConformance(docOf(server), method, template, answer);
  if (problems.length === 0) seen.add(`${docKey(server)}|${method.toUpperCase()} ${template}|${answer.status}`);
  return problems;
}

/** What is wrong with `answer` as an answer of `method template` according to the server's own document; empty when it conforms. */
function nonConformance(doc: OpenApi, method: string, template: string, answer: Answer): string[] {
  const operation = doc.paths[template]?.[method.toLowerCase()];
  if (!operation) return [`${method} ${template} is not documented`];
  let response = operation.responses[String(answer.status)];
  if (!response) return [`status ${answer.status} is not documented for ${method} ${template} (documented: ${Object.keys(operation.responses).join(', ')}); body ${JSON.stringify(answer.body).slice(0, 300)}`];
  if (response.$ref) response = doc.components.responses[response.$ref.split('/').at(-1)!]!;
  // A response documented without content (a redirect) must come without a body.
  if (!response.content) return answer.body === '' || answer.body === undefined ? [] : [`${method} ${template} ${answer.status}: a body where none is documented`];
  const mediaType = answer.contentType.split(';')[0]!.trim();
  const media = response.content?.[mediaType];
  if (!media) return [`media type ${mediaType} is not documented for ${answer.status} of ${method} ${template} (documented: ${Object.keys(response.content ?? {}).join(', ')})`];
  if (mediaType === 'text/event-stream') return [];
  let schema = media.schema ?? {};
  if (typeof schema.$ref === 'string') schema = doc.components.schemas[schema.$ref.split('/').at(-1)!]!;
  const key = JSON.stringify(schema);
  let validate = validators.get(key);
  if (!validate) {
    validate = ajv.compile(schema);
    validators.set(key, validate);
  }
  if (validate(answer.body)) return [];
  return (validate.errors ?? []).map((e) => `${method} ${template} ${answer.status}: ${e.instancePath || '(body)'} ${e.message} ${JSON.stringify(e.params)}`);
}

beforeAll(async () => {
  t = await startTestFederation('sqlite', {
    // Nodes refresh when told to (operator refresh): their snapshot fetches stay far below RATE_MAX.
    directory: { refreshSeconds: 60, snapshotTtlSeconds: 600 },
    // Low enough to reach in a few hundred calls; the nodes' own calls to the hub (snapshot
    // refreshes, checkpoints) are signed or below it within the window.
    rateLimit: { max: RATE_MAX, enrolmentMax: ENROLMENT_MAX, windowSeconds: 600 },
  });
  for (const server of [SANDU, HUB] as const) docs.set(server, (await (await fetch(new URL('/openapi.json', endpointOf(server)))).json()) as OpenApi);
  const { sampleSubjects } = await import('../src/demo/registries.ts');
  person = sampleSubjects(t.f.registryPath(SANDU), 1).people[0]!;
  const account = async (server: Server, id: string, role: string) => (await t.operator(server, '/v1/operator/accounts', { id, role, name: '王' })).json.token as string;
  tokens.clerk = await account(SANDU, 'conf-clerk', 'clerk');
  tokens.anjiClerk = await account(ANJI, 'conf-anji-clerk', 'clerk');
  tokens.hubClerk = await account(HUB, 'conf-hub-clerk', 'clerk');
  tokens.supervisor = await account(SANDU, 'conf-supervisor', 'supervisor');
  const apply = async (server: Server, token: string) => {
    const applied = await fetch(new URL('/v1/cases', endpointOf(server)), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ itemCode: 'N034', mode: 'online', competentNodes: [ANJI], applicant: person }),
    });
    expect(applied.status, `apply at ${server}`).toBe(201);
    return ((await applied.json()) as { case: { id: string } }).case.id;
  };
  state.case = { [SANDU]: await apply(SANDU, tokens.clerk), [HUB]: await apply(HUB, tokens.hubClerk) };
  state.withdrawn = { [SANDU]: await apply(SANDU, tokens.clerk), [HUB]: await apply(HUB, tokens.hubClerk) };
  state.anjiCase = await apply(ANJI, tokens.anjiClerk);
  // A key no directory lists.
  state.stranger = await generateSigningKey('Ed25519', NEVER);
  // A citizen signed in at the hub (a real access token of their own, for the federation: the applicant at Sandu and at the hub alike), and a staff token signed with the hub's OIDC key.
  const hub = await hubTokens(t);
  tokens.citizen = await hub.signInCitizen('11010519491231002X');
  // Another citizen (Sandu's sample person): someone else's consent is not found for them.
  tokens.otherCitizen = await hub.signInCitizen(person.idNumber);
  tokens.staffJwt = await hub.craft({ tongban_kind: 'staff', tongban_node: SANDU, tongban_roles: ['clerk'] });
  // The same citizen signed in through Sandu's client (a token for Sandu only: what Sandu's session keeps and relays),
  // a staff member's token for Sandu's client, and one of Anji's staff (nobody at Sandu).
  tokens.citizenAtSandu = await hub.signInCitizen('11010519491231002X', { node: SANDU });
  tokens.sanduStaffForSandu = await hub.craft({ tongban_kind: 'staff', tongban_node: SANDU, tongban_roles: ['clerk'], name: '王' }, { audience: `urn:tongban:node:${SANDU}` });
  tokens.anjiStaffJwt = await hub.craft({ tongban_kind: 'staff', tongban_node: ANJI, tongban_roles: ['clerk'], name: '李' });
  // E-certificates: Anji grants and concludes the citizen's N037 case and issues the 结婚证; another case stays decided.
  tokens.anjiApprover = await account(ANJI, 'conf-anji-approver', 'approver');
  tokens.anjiDataAdmin = await account(ANJI, 'conf-anji-data', 'dataAdmin');
  const decided = async () => {
    const step = async (token: string, path: string, body: unknown) => {
      const r = await fetch(new URL(path, endpointOf(ANJI)), { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(r.status, path).toBeLessThan(300);
      return (await r.json()) as { case: { id: string; materials: Array<{ name: string }> } };
    };
    const { case: c } = await step(tokens.anjiClerk!, '/v1/cases', { itemCode: 'N037', mode: 'online', competentNodes: [ANJI], applicant: { idNumber: '11010519491231002X', name: '测试公民' } });
    await step(tokens.anjiClerk!, `/v1/cases/${c.id}/actions/precheck`, { materials: c.materials.map((m) => ({ name: m.name, checked: true })), identityVerified: true });
    await step(tokens.anjiClerk!, `/v1/cases/${c.id}/actions/accept`, {});
    await step(tokens.anjiApprover!, `/v1/cases/${c.id}/actions/start-review`, {});
    await step(tokens.anjiApprover!, `/v1/cases/${c.id}/actions/decide`, { outcome: 'grant', reason: '符合条件' });
    return { id: c.id, step };
  };
  const granted = await decided();
  await granted.step(tokens.anjiApprover!, `/v1/cases/${granted.id}/actions/conclude`, { result: { code: 'A01', description: '颁发结婚证' }, certificateFields: { spouseName: person.name, spouseIdNumber: person.idNumber, registrationDate: '2026-11-28' } });
  state.certificateCase = granted.id;
  state.openCertificateCase = (await decided()).id;
  const listed = (await (await fetch(new URL('/v1/certificates', endpointOf(ANJI)), { headers: { authorization: `Bearer ${tokens.anjiClerk}` } })).json()) as { certificates: Array<{ id: string; caseId: string; statusList: { uri: string } }> };
  const certificate = listed.certificates.find((c) => c.caseId === granted.id)!;
  state.certificate = encodeURIComponent(certificate.id);
  state.statusList = new URL(certificate.statusList.uri).pathname;
  // The holder's own copy (before the calls below bind it), and a case at Sandu the holder applied for: what Sandu verifies.
  const held = (await (await fetch(new URL(`/v1/certificates/${state.certificate}`, endpointOf(ANJI)), { headers: { authorization: `Bearer ${tokens.citizen}` } })).json()) as { sdJwt: string };
  state.presentation = await presentCertificate(held.sdJwt, { disclose: ['holderName', 'holderIdNumber'], now: new Date() });
  const holderCase = await fetch(new URL('/v1/cases', endpointOf(SANDU)), {
    method: 'POST',
    headers: { authorization: `Bearer ${tokens.clerk}`, 'content-type': 'application/json' },
    body: JSON.stringify({ itemCode: 'N034', mode: 'online', competentNodes: [ANJI], applicant: { idNumber: '11010519491231002X', name: '测试公民' } }),
  });
  state.holderCase = ((await holderCase.json()) as { case: { id: string } }).case.id;
  state.holderKey = await generateSigningKey('Ed25519', 'holder');
}, 60_000);
afterAll(async () => {
  await t?.stop();
});

const exchangeBody = (overrides: Record<string, unknown> = {}) => ({
  requestId: randomUUID(),
  requester: ANJI,
  provider: SANDU,
  agreementId: SANDU_ANJI,
  itemCode: 'N034',
  service: 'household.residence-proof',
  purpose: '户籍类证明开具',
  caseId: 'CASE-CONFORMANCE',
  operator: { id: 'clerk-1', role: 'clerk' },
  subject: { type: 'idNumber', value: person.idNumber },
  fields: ['name'],
  ...overrides,
});
const envelope = (overrides: Record<string, unknown> = {}) => ({
  requestId: randomUUID(),
  requester: QINGPU,
  provider: SANDU,
  agreementId: HUB_AGREEMENT,
  itemCode: 'N034',
  service: 'household.residence-proof',
  purpose: '户籍类证明开具',
  fields: ['name'],
  ...overrides,
});
const operatorToken = (server: Server) => () => t.f.operatorToken(server);
const adminToken = () => t.f.adminToken();
const clerkOf = (server: Server) => () => (server === HUB ? tokens.hubClerk : tokens.clerk);
/** The applicant: a citizen signed in at the hub, whose one access token is taken at every server. */
const applicantOf = (_server: Server) => () => tokens.citizen!;
const caseOf = (server: Server) => () => state.case[server] as string;
const outgoing = (overrides: Record<string, unknown> = {}) => ({ provider: SANDU, service: 'household.residence-proof', subject: { type: 'idNumber', value: person.idNumber }, purpose: '户籍类证明开具', ...overrides });
const day = 86_400_000;
/** Fixed once: every party signs the same terms. */
const VALIDITY = { validFrom: new Date(Date.now() - day).toISOString(), validUntil: new Date(Date.now() + 365 * day).toISOString() };
/** A new bridge agreement: Qingpu may ask Sandu for a contribution history. */
const confAgreement = (title = '三都—青浦 社保缴费查询（一致性测试）') => ({
  id: 'AGR-CONF-001',
  version: 1,
  title,
  parties: [SANDU, QINGPU],
  topology: 'bridge',
  ...VALIDITY,
  items: [{ itemCode: 'N010', grants: [{ provider: SANDU, service: 'social-insurance.contribution-history', requesters: [QINGPU], fields: ['name'], purposes: ['养老保险关系转移接续'], consentRequired: false }] }],
});
/** The same, naming the hub as a party. */
const withHub = {
  ...confAgreement('国家平台—三都（一致性测试）'),
  id: 'AGR-CONF-HUB-001',
  parties: [HUB, SANDU],
  items: [{ itemCode: 'N034', grants: [{ provider: SANDU, service: 'household.residence-proof', requesters: [HUB], fields: ['name'], purposes: ['户籍类证明开具'], consentRequired: false }] }],
};
const NEG = 'NEG-conformance-01';
/** Template parameters for a new Sandu—Anji agreement (Sandu convenes). */
const templateParams = () => ({ id: 'AGR-CONF-TEMPLATE-001', convener: SANDU, partners: [ANJI], ...VALIDITY });
/** Every party accepts and signs `agreement` through its own operator API. */
async function signedAgreement(agreement: ReturnType<typeof confAgreement>) {
  const signatures = [];
  for (const party of agreement.parties) {
    // A node signs only terms it accepted.
    await t.operator(party, '/v1/operator/agreements/accept', { agreement });
    signatures.push((await t.operator(party, '/v1/operator/agreements/sign', { agreement })).json);
  }
  return { agreement, signatures };
}
/** A directory entry for a division this test enrols, with keys it holds. */
async function strayEntry(division: string) {
  const key = await generateSigningKey('Ed25519', division);
  const encryption = await generateEncryptionKey(division);
  const entry = {
    division,
    name: `conformance ${division}`,
    role: 'node',
    endpoint: 'http://127.0.0.1:9/nowhere',
    signingKey: { kid: key.kid, jwk: key.publicJwk },
    encryptionKey: { kid: encryption.kid, jwk: encryption.publicJwk },
    services: [],
  };
  return { key, entry };
}
/** Enrols `division` with fresh keys, kept in state[as]. */
const enrol = (division: string, as: string) => async () => {
  state[as] = await strayEntry(division);
  return signed('x', HUB, '/v1/directory/enrolments', () => state[as].entry, { key: () => state[as].key })();
};
/** Asks the hub to rotate the key of a division this test enrolled (signed with its current key); the new key goes to state[as + 'Next'], the request to state[as + 'Request']. */
const rotate = (division: string, as: string) => async () => {
  const { key, entry } = state[as] as { key: SigningKey; entry: DirectoryEntry };
  state[as + 'Next'] = await generateSigningKey('Ed25519', division);
  const body = await buildRotationRequest(entry, state[as + 'Next']);
  return signed('x', HUB, '/v1/directory/rotations', () => body, { key: () => key, keep: as + 'Request' })();
};
/** Waits until `check` holds (a hand-off or a refresh travelling between nodes). */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}
const holds = (server: Server, token: () => string, id: () => string) => async () => (await http(server, 'GET', () => `/v1/cases/${id()}`, { token })()).status === 200;
/** The clerk checks every material and the applicant's identity (a real step: 200). */
const precheck = (server: Server) => async () => {
  const current = (await http(server, 'GET', () => `/v1/cases/${caseOf(server)()}`, { token: clerkOf(server) })()).body as { case: { materials: Array<{ name: string }> } };
  const materials = current.case.materials.map((m) => ({ name: m.name, checked: true }));
  return http(server, 'POST', () => `/v1/cases/${caseOf(server)()}/actions/precheck`, { token: clerkOf(server), body: { materials, identityVerified: true } })();
};

/** A node-to-node message (src/messaging) from Anji to `to`: Anji's thread message on the case at `to` unless told otherwise. */
const message = (to: Server, overrides: Record<string, unknown> = {}) => ({ id: randomUUID(), kind: 'case.message', conversation: 'case:conformance', from: ANJI, to, payload: state.message[to], ...overrides });
/** The same sealed for `to` (what a node sends through the hub), signed by Anji. */
const sealed = async (m: ReturnType<typeof message>) => sealEnvelope(t.key(ANJI), m, (await t.f.nodes.get(ANJI)!.runtime!.exchange.directory.current()).node(m.to)!.encryptionKey);
/** One message id sent twice, the second time with other content (the answer to the second). */
const reused = (to: Server, path: string, wrap: (m: ReturnType<typeof message>) => unknown | Promise<unknown>) => async () => {
  const first = message(to);
  const send = async (m: ReturnType<typeof message>) => t.raw({ from: ANJI, to: path === '/v1/messages/relay' ? HUB : to, path, body: await wrap(m) });
  await send(first);
  const r = await send({ ...first, payload: { ...state.message[to], text: '另一条' } });
  return { status: r.status, contentType: r.headers.get('content-type') ?? '', body: r.json } as Answer;
};
/** Relays an envelope through the hub, signed and sealed by Anji. */
const relayed = (m: () => ReturnType<typeof message>) => async (): Promise<Answer> => {
  const r = await t.raw({ from: ANJI, to: HUB, path: '/v1/messages/relay', body: await sealed(m()) });
  return { status: r.status, contentType: r.headers.get('content-type') ?? '', body: r.json };
};
const legacy = (m: ReturnType<typeof message>) => ({ id: m.id, kind: m.kind, payload: m.payload });

/** Real calls, in order: at least one per documented operation, and one per documented status that only a situation provokes. */
const calls: Array<[string, Call]> = [
  // Public reference data (every server).
  ...both('health', 'GET', '/health', (s) => http(s, 'GET', '/health')),
  ...both('liveness', 'GET', '/health/live', (s) => http(s, 'GET', '/health/live')),
  ...both('readiness', 'GET', '/health/ready', (s) => http(s, 'GET', '/health/ready')),
  ...both('metrics', 'GET', '/metrics', (s) => http(s, 'GET', '/metrics', { token: operatorToken(s) })),
  ...both('node identity', 'GET', '/v1/node', (s) => http(s, 'GET', '/v1/node')),
  ...both('validate a standard', 'POST', '/v1/standards/validate', (s) => http(s, 'POST', '/v1/standards/validate', { body: { kind: 'uscc', value: '914403001922038216' } })),
  ...both('validate: wrong types', 'POST', '/v1/standards/validate', (s) => http(s, 'POST', '/v1/standards/validate', { body: { kind: 'id', value: 42 } })),
  ...both('a division', 'GET', '/v1/divisions/{code}', (s) => http(s, 'GET', '/v1/divisions/522732')),
  ...both('no such division', 'GET', '/v1/divisions/{code}', (s) => http(s, 'GET', '/v1/divisions/999999')),
  ...both('division search', 'GET', '/v1/divisions', (s) => http(s, 'GET', '/v1/divisions?q=' + encodeURIComponent('三都'))),
  ...both('division search: no query', 'GET', '/v1/divisions', (s) => http(s, 'GET', '/v1/divisions')),
  ...both('catalogue', 'GET', '/v1/catalog/items', (s) => http(s, 'GET', '/v1/catalog/items?mode=joint')),
  ...both('catalogue: bad mode', 'GET', '/v1/catalog/items', (s) => http(s, 'GET', '/v1/catalog/items?mode=fax')),
  ...both('an item', 'GET', '/v1/catalog/items/{code}', (s) => http(s, 'GET', '/v1/catalog/items/N034')),
  ...both('no such item', 'GET', '/v1/catalog/items/{code}', (s) => http(s, 'GET', '/v1/catalog/items/N999')),

  // Operator API (every server).
  ...both('operator directory', 'GET', '/v1/operator/directory', (s) => http(s, 'GET', '/v1/operator/directory', { token: operatorToken(s) })),
  call('data administrator: the agreements this node relies on', SANDU, 'GET', '/v1/operator/agreements', http(SANDU, 'GET', '/v1/operator/agreements?limit=50', { token: operatorToken(SANDU) })),
  call('data administrator: agreements: page too large', SANDU, 'GET', '/v1/operator/agreements', http(SANDU, 'GET', '/v1/operator/agreements?limit=201', { token: operatorToken(SANDU) })),
  call('data administrator: the services this node publishes and their grants', SANDU, 'GET', '/v1/operator/services', http(SANDU, 'GET', '/v1/operator/services', { token: operatorToken(SANDU) })),
  ...both('refresh', 'POST', '/v1/operator/directory/refresh', (s) => http(s, 'POST', '/v1/operator/directory/refresh', { token: operatorToken(s) })),
  ...both('operator audit', 'GET', '/v1/operator/audit', (s) => http(s, 'GET', '/v1/operator/audit?from=1&limit=3', { token: operatorToken(s) })),
  ...both('operator audit: page too large', 'GET', '/v1/operator/audit', (s) => http(s, 'GET', '/v1/operator/audit?limit=100000', { token: operatorToken(s) })),
  ...both('operator outbox', 'GET', '/v1/operator/outbox', (s) => http(s, 'GET', '/v1/operator/outbox', { token: operatorToken(s) })),
  ...both('operator outbox: page too large', 'GET', '/v1/operator/outbox', (s) => http(s, 'GET', '/v1/operator/outbox?limit=1001', { token: operatorToken(s) })),
  ...both('account', 'POST', '/v1/operator/accounts', (s) => http(s, 'POST', '/v1/operator/accounts', { token: operatorToken(s), body: { id: 'conf-twice', role: 'approver', name: '李' } })),
  ...both('account: the id is taken', 'POST', '/v1/operator/accounts', (s) => http(s, 'POST', '/v1/operator/accounts', { token: operatorToken(s), body: { id: 'conf-twice', role: 'approver', name: '李' } })),
  call('account: an applicant (citizens sign in at the hub)', SANDU, 'POST', '/v1/operator/accounts', http(SANDU, 'POST', '/v1/operator/accounts', { token: operatorToken(SANDU), body: { id: 'conf-bad', role: 'applicant', name: '李' } })),
  ...both('machine clients', 'GET', '/v1/operator/accounts', (s) => http(s, 'GET', '/v1/operator/accounts?limit=5', { token: operatorToken(s) })),
  ...both('machine clients: page too large', 'GET', '/v1/operator/accounts', (s) => http(s, 'GET', '/v1/operator/accounts?limit=5000', { token: operatorToken(s) })),
  ...both('revoke a machine client', 'POST', '/v1/operator/accounts/{id}/revoke', (s) => http(s, 'POST', '/v1/operator/accounts/conf-twice/revoke', { token: operatorToken(s), body: {} })),
  ...both('revoke: no such machine client', 'POST', '/v1/operator/accounts/{id}/revoke', (s) => http(s, 'POST', '/v1/operator/accounts/nobody/revoke', { token: operatorToken(s), body: {} })),
  // Staff of the node at the hub, through its operator (nodes only; forwarded signed by the node).
  call('operator: enrol a staff member', SANDU, 'POST', '/v1/operator/staff', http(SANDU, 'POST', '/v1/operator/staff', { token: operatorToken(SANDU), body: { login: 'conf-staff', name: '冯', roles: ['clerk'] } })),
  call('operator: enrol a staff member: login taken', SANDU, 'POST', '/v1/operator/staff', http(SANDU, 'POST', '/v1/operator/staff', { token: operatorToken(SANDU), body: { login: 'conf-staff', name: '冯', password: 'conformance-pw-3', roles: ['clerk'] } })),
  call('operator: enrol a staff member of another node', SANDU, 'POST', '/v1/operator/staff', http(SANDU, 'POST', '/v1/operator/staff', { token: operatorToken(SANDU), body: { login: 'conf@330523', name: '冯', roles: ['clerk'] } })),
  call('operator: enrol a staff member: invalid', SANDU, 'POST', '/v1/operator/staff', http(SANDU, 'POST', '/v1/operator/staff', { token: operatorToken(SANDU), body: { login: 'conf-staff', name: '冯', roles: ['applicant'] } })),
  call('operator: staff of the node', SANDU, 'GET', '/v1/operator/staff', http(SANDU, 'GET', '/v1/operator/staff?limit=5', { token: operatorToken(SANDU) })),
  call('operator: staff: page too large', SANDU, 'GET', '/v1/operator/staff', http(SANDU, 'GET', '/v1/operator/staff?limit=201', { token: operatorToken(SANDU) })),
  call('operator: disable a staff member', SANDU, 'POST', '/v1/operator/staff/{login}/disable', http(SANDU, 'POST', '/v1/operator/staff/conf-staff/disable', { token: operatorToken(SANDU), body: {} })),
  call('operator: disable a staff member of another node', SANDU, 'POST', '/v1/operator/staff/{login}/disable', http(SANDU, 'POST', '/v1/operator/staff/conf@330523/disable', { token: operatorToken(SANDU), body: {} })),
  call('operator: disable: no such staff member', SANDU, 'POST', '/v1/operator/staff/{login}/disable', http(SANDU, 'POST', '/v1/operator/staff/nobody/disable', { token: operatorToken(SANDU), body: {} })),
  call('operator: grant the administering role at this node', SANDU, 'POST', '/v1/operator/staff/{login}/admin-grant', http(SANDU, 'POST', '/v1/operator/staff/conf-admin/admin-grant', { token: operatorToken(SANDU), body: { roles: ['dataAdmin'] } })),
  call('operator: grant to staff of another node', SANDU, 'POST', '/v1/operator/staff/{login}/admin-grant', http(SANDU, 'POST', '/v1/operator/staff/conf@330523/admin-grant', { token: operatorToken(SANDU), body: { roles: ['dataAdmin'] } })),
  call('operator: grant: a short passphrase', SANDU, 'POST', '/v1/operator/staff/{login}/admin-grant', http(SANDU, 'POST', '/v1/operator/staff/conf-admin/admin-grant', { token: operatorToken(SANDU), body: { roles: ['dataAdmin'], passphrase: 'short' } })),
  call('operator: the admin grants', SANDU, 'GET', '/v1/operator/admin-grants', http(SANDU, 'GET', '/v1/operator/admin-grants', { token: operatorToken(SANDU) })),
  call('operator: revoke a grant', SANDU, 'POST', '/v1/operator/staff/{login}/admin-grant/revoke', http(SANDU, 'POST', '/v1/operator/staff/conf-admin/admin-grant/revoke', { token: operatorToken(SANDU), body: {} })),
  call('operator: revoke a grant of another node', SANDU, 'POST', '/v1/operator/staff/{login}/admin-grant/revoke', http(SANDU, 'POST', '/v1/operator/staff/conf@330523/admin-grant/revoke', { token: operatorToken(SANDU), body: {} })),
  call('operator: revoke: no grant', SANDU, 'POST', '/v1/operator/staff/{login}/admin-grant/revoke', http(SANDU, 'POST', '/v1/operator/staff/nobody/admin-grant/revoke', { token: operatorToken(SANDU), body: {} })),
  ...both('who am I', 'GET', '/v1/auth/me', (s) => http(s, 'GET', '/v1/auth/me', { token: clerkOf(s) })),
  ...both('sign out', 'POST', '/v1/auth/logout', (s) => withSession(s, { 'x-tongban-csrf': '1' })),
  ...both('sign out: asked by another site', 'POST', '/v1/auth/logout', (s) => withSession(s, { origin: 'http://evil.example' })),
  call('sign in: to the hub', SANDU, 'GET', '/v1/auth/login', http(SANDU, 'GET', '/v1/auth/login?return=/v1/cases')),
  call('sign in: a return address off the node', SANDU, 'GET', '/v1/auth/login', http(SANDU, 'GET', `/v1/auth/login?return=${encodeURIComponent('//evil.example/')}`)),
  call('sign-in callback: a state the node never issued', SANDU, 'GET', '/v1/auth/callback', http(SANDU, 'GET', '/v1/auth/callback?code=x&state=made-up')),
  call('operator keys', SANDU, 'GET', '/v1/operator/keys', http(SANDU, 'GET', '/v1/operator/keys', { token: operatorToken(SANDU) })),
  call('rotate: not the current key', SANDU, 'POST', '/v1/operator/keys/rotate', http(SANDU, 'POST', '/v1/operator/keys/rotate', { token: operatorToken(SANDU), body: { currentKid: '522732:not-the-current-key' } })),
  // Sandu asks for a new key; the administrator rejects it below (Sandu keeps its key).
  call('rotate', SANDU, 'POST', '/v1/operator/keys/rotate', http(SANDU, 'POST', '/v1/operator/keys/rotate', { token: operatorToken(SANDU), body: () => ({ currentKid: t.key(SANDU).kid }) })),

  // Directory (hub).
  call('snapshot', HUB, 'GET', '/v1/directory/snapshot', http(HUB, 'GET', '/v1/directory/snapshot')),
  call('directory nodes (admin)', HUB, 'GET', '/v1/directory/nodes', http(HUB, 'GET', '/v1/directory/nodes', { token: adminToken })),
  call('directory nodes: page too large', HUB, 'GET', '/v1/directory/nodes', http(HUB, 'GET', '/v1/directory/nodes?limit=1001', { token: adminToken })),
  call('enrolment', HUB, 'POST', '/v1/directory/enrolments', enrol(REJECTED, 'rejected')),
  call('enrolment: the division is enrolled with another key', HUB, 'POST', '/v1/directory/enrolments', enrol(REJECTED, 'rejectedAgain')),
  call('enrolment: signed by another key than the entry’s', HUB, 'POST', '/v1/directory/enrolments', signed('x', HUB, '/v1/directory/enrolments', () => state.rejected.entry, { key: () => t.key(QINGPU) })),
  call('reject an enrolment', HUB, 'POST', '/v1/directory/nodes/{division}/reject', http(HUB, 'POST', `/v1/directory/nodes/${REJECTED}/reject`, { token: adminToken })),
  call('reject: not enrolled', HUB, 'POST', '/v1/directory/nodes/{division}/reject', http(HUB, 'POST', `/v1/directory/nodes/${NEVER}/reject`, { token: adminToken })),
  call('reject: not pending', HUB, 'POST', '/v1/directory/nodes/{division}/reject', http(HUB, 'POST', `/v1/directory/nodes/${SANDU}/reject`, { token: adminToken })),
  call('enrolment to rotate', HUB, 'POST', '/v1/directory/enrolments', enrol(ROTATED, 'rotated')),
  call('enrolment to remove', HUB, 'POST', '/v1/directory/enrolments', enrol(REMOVED, 'removed')),
  call('approve (admin)', HUB, 'POST', '/v1/directory/nodes/{division}/approve', http(HUB, 'POST', `/v1/directory/nodes/${ROTATED}/approve`, { token: adminToken })),
  call('approve again', HUB, 'POST', '/v1/directory/nodes/{division}/approve', http(HUB, 'POST', `/v1/directory/nodes/${REMOVED}/approve`, { token: adminToken })),
  call('approve: already approved', HUB, 'POST', '/v1/directory/nodes/{division}/approve', http(HUB, 'POST', `/v1/directory/nodes/${ROTATED}/approve`, { token: adminToken })),
  call('approve: not enrolled', HUB, 'POST', '/v1/directory/nodes/{division}/approve', http(HUB, 'POST', `/v1/directory/nodes/${NEVER}/approve`, { token: adminToken })),
  call('suspend', HUB, 'POST', '/v1/directory/nodes/{division}/suspend', http(HUB, 'POST', `/v1/directory/nodes/${CHANGZHOU}/suspend`, { token: adminToken })),
  call('suspend: already suspended', HUB, 'POST', '/v1/directory/nodes/{division}/suspend', http(HUB, 'POST', `/v1/directory/nodes/${CHANGZHOU}/suspend`, { token: adminToken })),
  call('Changzhou learns it is suspended', CHANGZHOU, 'POST', '/v1/operator/directory/refresh', http(CHANGZHOU, 'POST', '/v1/operator/directory/refresh', { token: operatorToken(CHANGZHOU) })),
  call('rotate: a suspended node', CHANGZHOU, 'POST', '/v1/operator/keys/rotate', http(CHANGZHOU, 'POST', '/v1/operator/keys/rotate', { token: operatorToken(CHANGZHOU), body: () => ({ currentKid: t.key(CHANGZHOU).kid }) })),
  call('suspend: not enrolled', HUB, 'POST', '/v1/directory/nodes/{division}/suspend', http(HUB, 'POST', `/v1/directory/nodes/${NEVER}/suspend`, { token: adminToken })),
  // Changzhou is published again: Changzhou and Sandu (which terminates their bridge agreement last) learn it now.
  call('approve the suspended node again', HUB, 'POST', '/v1/directory/nodes/{division}/approve', keeping(http(HUB, 'POST', `/v1/directory/nodes/${CHANGZHOU}/approve`, { token: adminToken }), async () => {
    for (const division of [CHANGZHOU, SANDU]) await t.operator(division, '/v1/operator/directory/refresh', {});
  })),
  call('rotation', HUB, 'POST', '/v1/directory/rotations', rotate(ROTATED, 'rotated')),
  call('rotation: another key while one waits', HUB, 'POST', '/v1/directory/rotations', rotate(ROTATED, 'rotated')),
  call('rotation: replayed', HUB, 'POST', '/v1/directory/rotations', signed('x', HUB, '/v1/directory/rotations', () => undefined, { replay: 'rotatedRequest' })),
  call('rotation of a node about to be removed', HUB, 'POST', '/v1/directory/rotations', rotate(REMOVED, 'removed')),
  call('rotation: malformed, signed', HUB, 'POST', '/v1/directory/rotations', signed(QINGPU, HUB, '/v1/directory/rotations', () => ({}))),
  call('rotation: signed by a key the directory does not list', HUB, 'POST', '/v1/directory/rotations', signed('x', HUB, '/v1/directory/rotations', () => ({}), { key: () => state.stranger })),
  call('rotation status', HUB, 'POST', '/v1/directory/rotations/status', signed(ANJI, HUB, '/v1/directory/rotations/status', () => ({ kid: t.key(ANJI).kid }))),
  call('rotation status: a stranger', HUB, 'POST', '/v1/directory/rotations/status', signed('x', HUB, '/v1/directory/rotations/status', () => ({ kid: 'x' }), { key: () => state.stranger })),
  // Consent (docs/consent.md): the citizen signed in at the hub grants, lists and revokes; nobody else.
  call('consent: granted by the signed-in citizen', HUB, 'POST', '/v1/consents', keeping(http(HUB, 'POST', '/v1/consents', { token: () => tokens.citizen, body: () => consentInput() }), (a) => void (state.consent = (a.body as { id: string }).id))),
  call('consent: malformed', HUB, 'POST', '/v1/consents', http(HUB, 'POST', '/v1/consents', { token: () => tokens.citizen, body: () => consentInput({ use: 'twice' }) })),
  call('consent: outside the agreement', HUB, 'POST', '/v1/consents', http(HUB, 'POST', '/v1/consents', { token: () => tokens.citizen, body: () => consentInput({ fields: ['householdRelation'] }) })),
  call('consent: a grant that requires none', HUB, 'POST', '/v1/consents', http(HUB, 'POST', '/v1/consents', { token: () => tokens.citizen, body: () => consentInput({ itemCode: 'N034', purpose: '户籍类证明开具', fields: ['name'] }) })),
  call('consent: a machine client of the hub', HUB, 'POST', '/v1/consents', http(HUB, 'POST', '/v1/consents', { token: () => tokens.hubApplicant, body: () => consentInput() })),
  call('consents of the citizen', HUB, 'GET', '/v1/consents', http(HUB, 'GET', '/v1/consents?limit=5', { token: () => tokens.citizen })),
  call('consents: page too large', HUB, 'GET', '/v1/consents', http(HUB, 'GET', '/v1/consents?limit=201', { token: () => tokens.citizen })),
  call('consents: a machine client of the hub', HUB, 'GET', '/v1/consents', http(HUB, 'GET', '/v1/consents', { token: () => tokens.hubClerk })),
  call('consent status: a node the consent names', HUB, 'POST', '/v1/consents/{id}/status', consentStatus(ANJI, { keep: 'consentStatus' })),
  call('consent status: replayed', HUB, 'POST', '/v1/consents/{id}/status', consentStatus(ANJI, { replay: 'consentStatus' })),
  call('consent status: a node it does not name', HUB, 'POST', '/v1/consents/{id}/status', consentStatus(QINGPU)),
  call('consent status: a stranger', HUB, 'POST', '/v1/consents/{id}/status', consentStatus('x', { key: () => state.stranger })),
  call('revoke a consent: someone else’s', HUB, 'POST', '/v1/consents/{id}/revoke', async () => http(HUB, 'POST', `/v1/consents/${await citizenConsent()}/revoke`, { token: () => tokens.otherCitizen, body: {} })()),
  call('revoke a consent: a machine client of the hub', HUB, 'POST', '/v1/consents/{id}/revoke', async () => http(HUB, 'POST', `/v1/consents/${await citizenConsent()}/revoke`, { token: () => tokens.hubClerk, body: {} })()),
  call('revoke a consent', HUB, 'POST', '/v1/consents/{id}/revoke', async () => http(HUB, 'POST', `/v1/consents/${await citizenConsent()}/revoke`, { token: () => tokens.citizen, body: {} })()),
  // E-certificates at the hub (docs/certificates.md): the node this test enrolled and approved becomes an issuer and is withdrawn again.
  call('authorise an issuer', HUB, 'POST', '/v1/certificates/issuers', http(HUB, 'POST', '/v1/certificates/issuers', { token: adminToken, body: { division: ROTATED, authority: '越秀区政务服务管理局', authorityCode: buildCreditCode('1', '1', ROTATED, `MB${ROTATED}`), types: ['marriage'] } })),
  call('authorise an issuer: not an approved node', HUB, 'POST', '/v1/certificates/issuers', http(HUB, 'POST', '/v1/certificates/issuers', { token: adminToken, body: { division: NEVER, authority: '深圳市政务服务管理局', authorityCode: buildCreditCode('1', '1', NEVER, `MB${NEVER}`), types: ['marriage'] } })),
  call('authorise an issuer: no such type', HUB, 'POST', '/v1/certificates/issuers', http(HUB, 'POST', '/v1/certificates/issuers', { token: adminToken, body: { division: ROTATED, authority: '越秀区政务服务管理局', authorityCode: buildCreditCode('1', '1', ROTATED, `MB${ROTATED}`), types: ['passport'] } })),
  call('trust list', HUB, 'GET', '/v1/certificates/trust-list', http(HUB, 'GET', '/v1/certificates/trust-list')),
  call('wallet of the citizen', HUB, 'GET', '/v1/wallet', http(HUB, 'GET', '/v1/wallet?limit=5', { token: () => tokens.citizen })),
  call('wallet: page too large', HUB, 'GET', '/v1/wallet', http(HUB, 'GET', '/v1/wallet?limit=201', { token: () => tokens.citizen })),
  call('wallet: a machine client of the hub', HUB, 'GET', '/v1/wallet', http(HUB, 'GET', '/v1/wallet', { token: () => tokens.hubClerk })),
  call('withdraw an issuer', HUB, 'POST', '/v1/certificates/issuers/{division}/withdraw', http(HUB, 'POST', `/v1/certificates/issuers/${ROTATED}/withdraw`, { token: adminToken, body: {} })),
  call('withdraw an issuer: never authorised', HUB, 'POST', '/v1/certificates/issuers/{division}/withdraw', http(HUB, 'POST', `/v1/certificates/issuers/${NEVER}/withdraw`, { token: adminToken, body: {} })),
  call('change requests (admin)', HUB, 'GET', '/v1/directory/changes', http(HUB, 'GET', '/v1/directory/changes', { token: adminToken })),
  call('change requests: page too large', HUB, 'GET', '/v1/directory/changes', http(HUB, 'GET', '/v1/directory/changes?limit=1001', { token: adminToken })),
  call('approve a change', HUB, 'POST', '/v1/directory/changes/{division}/approve', http(HUB, 'POST', `/v1/directory/changes/${ROTATED}/approve`, { token: adminToken })),
  call('approve change: none pending', HUB, 'POST', '/v1/directory/changes/{division}/approve', http(HUB, 'POST', `/v1/directory/changes/${ANJI}/approve`, { token: adminToken })),
  call('reject a change', HUB, 'POST', '/v1/directory/changes/{division}/reject', http(HUB, 'POST', `/v1/directory/changes/${SANDU}/reject`, { token: adminToken })),
  call('reject change: none pending', HUB, 'POST', '/v1/directory/changes/{division}/reject', http(HUB, 'POST', `/v1/directory/changes/${ANJI}/reject`, { token: adminToken })),
  // The node about to be removed is revoked first (for good: neither approved nor revoked again), then removed.
  call('revoke', HUB, 'POST', '/v1/directory/nodes/{division}/revoke', http(HUB, 'POST', `/v1/directory/nodes/${REMOVED}/revoke`, { token: adminToken })),
  call('revoke: already revoked', HUB, 'POST', '/v1/directory/nodes/{division}/revoke', http(HUB, 'POST', `/v1/directory/nodes/${REMOVED}/revoke`, { token: adminToken })),
  call('approve: a revoked node', HUB, 'POST', '/v1/directory/nodes/{division}/approve', http(HUB, 'POST', `/v1/directory/nodes/${REMOVED}/approve`, { token: adminToken })),
  call('revoke: not enrolled', HUB, 'POST', '/v1/directory/nodes/{division}/revoke', http(HUB, 'POST', `/v1/directory/nodes/${NEVER}/revoke`, { token: adminToken })),
  call('remove', HUB, 'POST', '/v1/directory/nodes/{division}/remove', http(HUB, 'POST', `/v1/directory/nodes/${REMOVED}/remove`, { token: adminToken })),
  call('approve change: the node was removed', HUB, 'POST', '/v1/directory/changes/{division}/approve', http(HUB, 'POST', `/v1/directory/changes/${REMOVED}/approve`, { token: adminToken })),
  call('remove: not enrolled', HUB, 'POST', '/v1/directory/nodes/{division}/remove', http(HUB, 'POST', `/v1/directory/nodes/${NEVER}/remove`, { token: adminToken })),

  // Agreements: Sandu and Qingpu accept and sign one; Sandu registers it directly, then through its operator API.
  call('sign: terms never accepted', SANDU, 'POST', '/v1/operator/agreements/sign', http(SANDU, 'POST', '/v1/operator/agreements/sign', { token: operatorToken(SANDU), body: () => ({ agreement: confAgreement() }) })),
  call('accept', SANDU, 'POST', '/v1/operator/agreements/accept', http(SANDU, 'POST', '/v1/operator/agreements/accept', { token: operatorToken(SANDU), body: () => ({ agreement: confAgreement() }) })),
  call('accept (Qingpu)', QINGPU, 'POST', '/v1/operator/agreements/accept', http(QINGPU, 'POST', '/v1/operator/agreements/accept', { token: operatorToken(QINGPU), body: () => ({ agreement: confAgreement() }) })),
  ...both('accept: no token', 'POST', '/v1/operator/agreements/accept', (s) => http(s, 'POST', '/v1/operator/agreements/accept', { body: () => ({ agreement: confAgreement() }) })),
  ...both('accept: malformed', 'POST', '/v1/operator/agreements/accept', (s) => http(s, 'POST', '/v1/operator/agreements/accept', { token: operatorToken(s), body: { agreement: {} } })),
  ...both('accept: not a party', 'POST', '/v1/operator/agreements/accept', (s) => http(s, 'POST', '/v1/operator/agreements/accept', { token: operatorToken(s), body: () => ({ agreement: { ...confAgreement(), parties: [ANJI, CHANGZHOU], items: [{ itemCode: 'N034', grants: [{ provider: ANJI, service: 'household.residence-proof', requesters: [CHANGZHOU], fields: ['name'], purposes: ['x'], consentRequired: false }] }] } }) })),
  call('sign at the hub: not accepted', HUB, 'POST', '/v1/operator/agreements/sign', http(HUB, 'POST', '/v1/operator/agreements/sign', { token: operatorToken(HUB), body: () => ({ agreement: withHub }) })),
  call('accept at the hub', HUB, 'POST', '/v1/operator/agreements/accept', http(HUB, 'POST', '/v1/operator/agreements/accept', { token: operatorToken(HUB), body: () => ({ agreement: withHub }) })),
  call('sign', SANDU, 'POST', '/v1/operator/agreements/sign', keeping(http(SANDU, 'POST', '/v1/operator/agreements/sign', { token: operatorToken(SANDU), body: () => ({ agreement: confAgreement() }) }), (a) => void ((state.signatures ??= []).push(a.body)))),
  call('sign (Qingpu)', QINGPU, 'POST', '/v1/operator/agreements/sign', keeping(http(QINGPU, 'POST', '/v1/operator/agreements/sign', { token: operatorToken(QINGPU), body: () => ({ agreement: confAgreement() }) }), (a) => void ((state.signatures ??= []).push(a.body)))),
  // The hub signs what names it, yet no registration accepts it as a party: it is no approved node.
  call('sign at the hub', HUB, 'POST', '/v1/operator/agreements/sign', keeping(http(HUB, 'POST', '/v1/operator/agreements/sign', { token: operatorToken(HUB), body: () => ({ agreement: withHub }) }), (a) => void (state.withHub = [a.body]))),
  ...both('sign: not a party', 'POST', '/v1/operator/agreements/sign', (s) => http(s, 'POST', '/v1/operator/agreements/sign', { token: operatorToken(s), body: () => ({ agreement: { ...confAgreement(), parties: [ANJI, CHANGZHOU], items: [{ itemCode: 'N034', grants: [{ provider: ANJI, service: 'household.residence-proof', requesters: [CHANGZHOU], fields: ['name'], purposes: ['x'], consentRequired: false }] }] } }) })),
  call('sign: malformed', SANDU, 'POST', '/v1/operator/agreements/sign', http(SANDU, 'POST', '/v1/operator/agreements/sign', { token: operatorToken(SANDU), body: {} })),
  call('register', HUB, 'POST', '/v1/agreements', signed(SANDU, HUB, '/v1/agreements', () => ({ agreement: confAgreement(), signatures: state.signatures }))),
  call('register: a party that is no approved node', HUB, 'POST', '/v1/agreements', async () => {
    await t.operator(SANDU, '/v1/operator/agreements/accept', { agreement: withHub });
    state.withHub.push((await t.operator(SANDU, '/v1/operator/agreements/sign', { agreement: withHub })).json);
    return signed(SANDU, HUB, '/v1/agreements', () => ({ agreement: withHub, signatures: state.withHub }))();
  }),
  call('register: same version, other terms', HUB, 'POST', '/v1/agreements', async () => {
    state.changed = await signedAgreement(confAgreement('另一个标题'));
    return signed(SANDU, HUB, '/v1/agreements', () => state.changed)();
  }),
  call('register: malformed, signed', HUB, 'POST', '/v1/agreements', signed(ANJI, HUB, '/v1/agreements', () => ({ agreement: {} }))),
  call('submit', SANDU, 'POST', '/v1/operator/agreements/submit', http(SANDU, 'POST', '/v1/operator/agreements/submit', { token: operatorToken(SANDU), body: () => ({ agreement: confAgreement(), signatures: state.signatures }) })),
  call('submit: same version, other terms', SANDU, 'POST', '/v1/operator/agreements/submit', http(SANDU, 'POST', '/v1/operator/agreements/submit', { token: operatorToken(SANDU), body: () => state.changed })),
  call('submit: a party that is no approved node', SANDU, 'POST', '/v1/operator/agreements/submit', http(SANDU, 'POST', '/v1/operator/agreements/submit', { token: operatorToken(SANDU), body: () => ({ agreement: withHub, signatures: state.withHub }) })),
  call('submit: malformed', SANDU, 'POST', '/v1/operator/agreements/submit', http(SANDU, 'POST', '/v1/operator/agreements/submit', { token: operatorToken(SANDU), body: {} })),
  call('an agreement', HUB, 'GET', '/v1/agreements/{id}', http(HUB, 'GET', `/v1/agreements/${SANDU_ANJI}`)),
  call('no such agreement', HUB, 'GET', '/v1/agreements/{id}', http(HUB, 'GET', '/v1/agreements/AGR-NO-SUCH')),

  // Negotiation and templates (docs/agreements.md), at Sandu as convener with Anji.
  call('templates', SANDU, 'GET', '/v1/operator/agreements/templates', http(SANDU, 'GET', '/v1/operator/agreements/templates', { token: operatorToken(SANDU) })),
  call('templates: no token', SANDU, 'GET', '/v1/operator/agreements/templates', http(SANDU, 'GET', '/v1/operator/agreements/templates')),
  call('a template', SANDU, 'GET', '/v1/operator/agreements/templates/{id}', http(SANDU, 'GET', '/v1/operator/agreements/templates/yangtze-delta', { token: operatorToken(SANDU) })),
  call('a template: no token', SANDU, 'GET', '/v1/operator/agreements/templates/{id}', http(SANDU, 'GET', '/v1/operator/agreements/templates/yangtze-delta')),
  call('no such template', SANDU, 'GET', '/v1/operator/agreements/templates/{id}', http(SANDU, 'GET', '/v1/operator/agreements/templates/no-such', { token: operatorToken(SANDU) })),
  call('a template: id too long', SANDU, 'GET', '/v1/operator/agreements/templates/{id}', http(SANDU, 'GET', `/v1/operator/agreements/templates/${'t'.repeat(81)}`, { token: operatorToken(SANDU) })),
  call('draft from a template', SANDU, 'POST', '/v1/operator/agreements/drafts', http(SANDU, 'POST', '/v1/operator/agreements/drafts', { token: operatorToken(SANDU), body: () => ({ id: NEG, template: 'labour-cooperation', params: templateParams() }) })),
  call('draft: the same id again', SANDU, 'POST', '/v1/operator/agreements/drafts', http(SANDU, 'POST', '/v1/operator/agreements/drafts', { token: operatorToken(SANDU), body: () => ({ id: NEG, template: 'labour-cooperation', params: templateParams() }) })),
  call('draft: malformed', SANDU, 'POST', '/v1/operator/agreements/drafts', http(SANDU, 'POST', '/v1/operator/agreements/drafts', { token: operatorToken(SANDU), body: { terms: {} } })),
  call('draft: no token', SANDU, 'POST', '/v1/operator/agreements/drafts', http(SANDU, 'POST', '/v1/operator/agreements/drafts', { body: {} })),
  call('draft: no such template', SANDU, 'POST', '/v1/operator/agreements/drafts', http(SANDU, 'POST', '/v1/operator/agreements/drafts', { token: operatorToken(SANDU), body: () => ({ template: 'no-such', params: templateParams() }) })),
  call('draft: not a party', SANDU, 'POST', '/v1/operator/agreements/drafts', http(SANDU, 'POST', '/v1/operator/agreements/drafts', { token: operatorToken(SANDU), body: () => ({ template: 'labour-cooperation', params: { ...templateParams(), convener: ANJI, partners: [CHANGZHOU] } }) })),
  call('drafts', SANDU, 'GET', '/v1/operator/agreements/drafts', http(SANDU, 'GET', '/v1/operator/agreements/drafts', { token: operatorToken(SANDU) })),
  call('drafts: no token', SANDU, 'GET', '/v1/operator/agreements/drafts', http(SANDU, 'GET', '/v1/operator/agreements/drafts')),
  call('drafts: agreement id too long', SANDU, 'GET', '/v1/operator/agreements/drafts', http(SANDU, 'GET', `/v1/operator/agreements/drafts?agreementId=${'A'.repeat(81)}`, { token: operatorToken(SANDU) })),
  call('a draft', SANDU, 'GET', '/v1/operator/agreements/drafts/{id}', http(SANDU, 'GET', `/v1/operator/agreements/drafts/${NEG}`, { token: operatorToken(SANDU) })),
  call('a draft: no token', SANDU, 'GET', '/v1/operator/agreements/drafts/{id}', http(SANDU, 'GET', `/v1/operator/agreements/drafts/${NEG}`)),
  call('no such draft', SANDU, 'GET', '/v1/operator/agreements/drafts/{id}', http(SANDU, 'GET', '/v1/operator/agreements/drafts/NEG-no-such', { token: operatorToken(SANDU) })),
  call('a draft: id too long', SANDU, 'GET', '/v1/operator/agreements/drafts/{id}', http(SANDU, 'GET', `/v1/operator/agreements/drafts/NEG-${'x'.repeat(100)}`, { token: operatorToken(SANDU) })),
  call('propose', SANDU, 'POST', '/v1/operator/agreements/drafts/{id}/actions', http(SANDU, 'POST', `/v1/operator/agreements/drafts/${NEG}/actions`, { token: operatorToken(SANDU), body: { action: 'propose' } })),
  call('accept a stale round', SANDU, 'POST', '/v1/operator/agreements/drafts/{id}/actions', http(SANDU, 'POST', `/v1/operator/agreements/drafts/${NEG}/actions`, { token: operatorToken(SANDU), body: { action: 'accept', round: 7 } })),
  call('action: unknown', SANDU, 'POST', '/v1/operator/agreements/drafts/{id}/actions', http(SANDU, 'POST', `/v1/operator/agreements/drafts/${NEG}/actions`, { token: operatorToken(SANDU), body: { action: 'shred' } })),
  call('action: no token', SANDU, 'POST', '/v1/operator/agreements/drafts/{id}/actions', http(SANDU, 'POST', `/v1/operator/agreements/drafts/${NEG}/actions`, { body: { action: 'propose' } })),
  call('action: no such draft', SANDU, 'POST', '/v1/operator/agreements/drafts/{id}/actions', http(SANDU, 'POST', '/v1/operator/agreements/drafts/NEG-no-such/actions', { token: operatorToken(SANDU), body: { action: 'propose' } })),
  // Anji, a party, holds the copy Sandu sent it once proposed; proposing is Sandu's alone.
  call('action: only the convener proposes', SANDU, 'POST', '/v1/operator/agreements/drafts/{id}/actions', async () => {
    await until(async () => (await http(ANJI, 'GET', `/v1/operator/agreements/drafts/${NEG}`, { token: operatorToken(ANJI) })()).status === 200, 'Anji to hold the proposal');
    return http(ANJI, 'POST', `/v1/operator/agreements/drafts/${NEG}/actions`, { token: operatorToken(ANJI), body: { action: 'propose' } })();
  }),
  call('learning report', SANDU, 'GET', '/v1/operator/agreements/report', http(SANDU, 'GET', '/v1/operator/agreements/report', { token: operatorToken(SANDU) })),
  call('learning report: no token', SANDU, 'GET', '/v1/operator/agreements/report', http(SANDU, 'GET', '/v1/operator/agreements/report')),

  // Exchange.
  call('bridge exchange', SANDU, 'POST', '/v1/exchange', signed(ANJI, SANDU, '/v1/exchange', () => exchangeBody(), { keep: 'exchanged' })),
  call('bridge exchange: replayed', SANDU, 'POST', '/v1/exchange', signed(ANJI, SANDU, '/v1/exchange', () => undefined, { replay: 'exchanged' })),
  call('bridge exchange: field not granted', SANDU, 'POST', '/v1/exchange', signed(ANJI, SANDU, '/v1/exchange', () => exchangeBody({ fields: ['householdRelation'] }))),
  call('bridge exchange: no such subject', SANDU, 'POST', '/v1/exchange', signed(ANJI, SANDU, '/v1/exchange', () => exchangeBody({ subject: { type: 'idNumber', value: '11010519491231002X' } }))),
  call('bridge exchange: malformed, signed', SANDU, 'POST', '/v1/exchange', signed(ANJI, SANDU, '/v1/exchange', () => ({}))),
  call('relayed: sealed refusal', SANDU, 'POST', '/v1/exchange/relayed', signed(HUB, SANDU, '/v1/exchange/relayed', () => ({ envelope: envelope(), payload: 'not-a-jwe-at-all' }), { keep: 'relayed' })),
  call('relayed: replayed', SANDU, 'POST', '/v1/exchange/relayed', signed(HUB, SANDU, '/v1/exchange/relayed', () => undefined, { replay: 'relayed' })),
  call('relayed: an unknown requester', SANDU, 'POST', '/v1/exchange/relayed', signed(HUB, SANDU, '/v1/exchange/relayed', () => ({ envelope: envelope({ requester: NEVER }), payload: 'not-a-jwe-at-all' }))),
  call('relayed: malformed', SANDU, 'POST', '/v1/exchange/relayed', signed(HUB, SANDU, '/v1/exchange/relayed', () => ({}))),
  call('relayed: not from the hub', SANDU, 'POST', '/v1/exchange/relayed', signed(ANJI, SANDU, '/v1/exchange/relayed', () => ({ envelope: envelope(), payload: 'not-a-jwe-at-all' }))),
  call('relay', HUB, 'POST', '/v1/relay', signed(QINGPU, HUB, '/v1/relay', () => ({ envelope: envelope(), payload: 'not-a-jwe-at-all' }), { keep: 'relay' })),
  call('relay: replayed', HUB, 'POST', '/v1/relay', signed(QINGPU, HUB, '/v1/relay', () => undefined, { replay: 'relay' })),
  call('relay: outside the agreement', HUB, 'POST', '/v1/relay', signed(QINGPU, HUB, '/v1/relay', () => ({ envelope: envelope({ fields: ['householdRelation'] }), payload: 'not-a-jwe-at-all' }))),
  call('relay: malformed', HUB, 'POST', '/v1/relay', signed(QINGPU, HUB, '/v1/relay', () => ({}))),
  call('operator exchange', ANJI, 'POST', '/v1/operator/exchange', http(ANJI, 'POST', '/v1/operator/exchange', { token: operatorToken(ANJI), body: () => outgoing() })),
  call('operator exchange: no such subject', ANJI, 'POST', '/v1/operator/exchange', http(ANJI, 'POST', '/v1/operator/exchange', { token: operatorToken(ANJI), body: () => outgoing({ subject: { type: 'idNumber', value: '11010519491231002X' } }) })),
  call('operator exchange: no agreement', ANJI, 'POST', '/v1/operator/exchange', http(ANJI, 'POST', '/v1/operator/exchange', { token: operatorToken(ANJI), body: () => outgoing({ provider: QINGPU }) })),
  call('operator exchange: in the name of someone else', ANJI, 'POST', '/v1/operator/exchange', http(ANJI, 'POST', '/v1/operator/exchange', { token: operatorToken(ANJI), body: () => outgoing({ operator: { id: 'clerk-007', role: 'clerk' } }) })),
  call('operator exchange: invalid', SANDU, 'POST', '/v1/operator/exchange', http(SANDU, 'POST', '/v1/operator/exchange', { token: operatorToken(SANDU), body: { provider: 'x' } })),

  // Audit.
  call('checkpoints of a node', HUB, 'GET', '/v1/audit/checkpoints/{division}', keeping(http(HUB, 'GET', `/v1/audit/checkpoints/${QINGPU}`), (a) => void (state.checkpoint = (a.body as { checkpoints: Array<{ seq: number; jws: string }> }).checkpoints.at(-1)))),
  call('checkpoint', HUB, 'POST', '/v1/audit/checkpoints', signed(QINGPU, HUB, '/v1/audit/checkpoints', () => ({ jws: state.checkpoint.jws }))),
  call('checkpoint: another head at the same sequence number', HUB, 'POST', '/v1/audit/checkpoints', async () => {
    const claim = { division: QINGPU, seq: state.checkpoint.seq as number, hash: 'f'.repeat(64), at: new Date().toISOString() };
    const jws = await signJws(t.key(QINGPU), new TextEncoder().encode(JSON.stringify(claim)), { typ: CHECKPOINT_TYP });
    return signed(QINGPU, HUB, '/v1/audit/checkpoints', () => ({ jws }))();
  }),
  call('checkpoint: a stranger', HUB, 'POST', '/v1/audit/checkpoints', signed('x', HUB, '/v1/audit/checkpoints', () => ({ jws: 'x' }), { key: () => state.stranger })),
  call('checkpoint: malformed, signed', HUB, 'POST', '/v1/audit/checkpoints', signed(QINGPU, HUB, '/v1/audit/checkpoints', () => ({}))),
  call('audit incidents (admin)', HUB, 'GET', '/v1/audit/incidents', http(HUB, 'GET', '/v1/audit/incidents', { token: adminToken })),
  call('audit incidents: page too large', HUB, 'GET', '/v1/audit/incidents', http(HUB, 'GET', '/v1/audit/incidents?limit=1001', { token: adminToken })),

  // People who sign in at the hub (docs/identity.md): citizens by the administrator, staff by their own node.
  call('enrol a citizen', HUB, 'POST', '/v1/identity/citizens', http(HUB, 'POST', '/v1/identity/citizens', { token: adminToken, body: { idNumber: '310118197809200044', name: '陈六', password: 'conformance-pw-1' } })),
  call('enrol a citizen: enrolled already', HUB, 'POST', '/v1/identity/citizens', http(HUB, 'POST', '/v1/identity/citizens', { token: adminToken, body: { idNumber: '310118197809200044', name: '陈六', password: 'conformance-pw-1' } })),
  call('enrol a citizen: not a valid ID number', HUB, 'POST', '/v1/identity/citizens', http(HUB, 'POST', '/v1/identity/citizens', { token: adminToken, body: { idNumber: '110105194912310021', name: '陈六', password: 'conformance-pw-1' } })),
  call('enrol staff of the signing node', HUB, 'POST', '/v1/identity/staff', signed(QINGPU, HUB, '/v1/identity/staff', () => ({ login: 'conf@310118', name: '周七', password: 'conformance-pw-2', roles: ['clerk'] }))),
  call('enrol staff: login taken', HUB, 'POST', '/v1/identity/staff', signed(QINGPU, HUB, '/v1/identity/staff', () => ({ login: 'conf@310118', name: '周七', password: 'conformance-pw-2', roles: ['clerk'] }))),
  call('enrol staff: a login of another node', HUB, 'POST', '/v1/identity/staff', signed(QINGPU, HUB, '/v1/identity/staff', () => ({ login: 'conf@522732', name: '周七', password: 'conformance-pw-2', roles: ['clerk'] }))),
  call('enrol staff: invalid, signed', HUB, 'POST', '/v1/identity/staff', signed(QINGPU, HUB, '/v1/identity/staff', () => ({}))),
  call('disable staff of the signing node', HUB, 'POST', '/v1/identity/staff/{login}/disable', signed(QINGPU, HUB, '/v1/identity/staff/conf@310118/disable', () => ({}))),
  call('disable staff: a login of another node', HUB, 'POST', '/v1/identity/staff/{login}/disable', signed(QINGPU, HUB, '/v1/identity/staff/conf@522732/disable', () => ({}))),
  call('disable staff: no such staff member', HUB, 'POST', '/v1/identity/staff/{login}/disable', signed(QINGPU, HUB, '/v1/identity/staff/nobody@310118/disable', () => ({}))),
  call('disable staff: not a staff login', HUB, 'POST', '/v1/identity/staff/{login}/disable', signed(QINGPU, HUB, '/v1/identity/staff/NOPE/disable', () => ({}))),
  call("staff list: the signer's own staff", HUB, 'POST', '/v1/identity/staff/list', signed(QINGPU, HUB, '/v1/identity/staff/list', () => ({ limit: 5 }))),
  call('staff list: page too large, signed', HUB, 'POST', '/v1/identity/staff/list', signed(QINGPU, HUB, '/v1/identity/staff/list', () => ({ limit: 201 }))),
  call('staff list: a stranger', HUB, 'POST', '/v1/identity/staff/list', signed('x', HUB, '/v1/identity/staff/list', () => ({}), { key: () => state.stranger })),
  // The citizen enrolled above signs in through Sandu: its callback opens a session and redirects.
  call('sign-in callback: signed in at the hub', SANDU, 'GET', '/v1/auth/callback', signInThroughNode(SANDU, '310118197809200044', 'conformance-pw-1')),

  // Cases, at Sandu and at the hub (a node too): each applies a case with Anji competent in beforeAll.
  ...both('list', 'GET', '/v1/cases', (s) => http(s, 'GET', '/v1/cases?limit=5', { token: clerkOf(s) })),
  ...both('list: page too large', 'GET', '/v1/cases', (s) => http(s, 'GET', '/v1/cases?limit=1001', { token: clerkOf(s) })),
  ...both('list: the decision queue', 'GET', '/v1/cases', (s) => http(s, 'GET', '/v1/cases?queue=decision&limit=5', { token: clerkOf(s) })),
  ...both('competent nodes for an item', 'GET', '/v1/cases/competent-nodes', (s) => http(s, 'GET', '/v1/cases/competent-nodes?itemCode=N010&mode=proxy', { token: clerkOf(s) })),
  ...both('competent nodes: no such item', 'GET', '/v1/cases/competent-nodes', (s) => http(s, 'GET', '/v1/cases/competent-nodes?itemCode=N999', { token: clerkOf(s) })),
  ...both('competent nodes: no item', 'GET', '/v1/cases/competent-nodes', (s) => http(s, 'GET', '/v1/cases/competent-nodes', { token: clerkOf(s) })),
  ...both('apply', 'POST', '/v1/cases', (s) => http(s, 'POST', '/v1/cases', { token: clerkOf(s), body: () => ({ itemCode: 'N034', mode: 'online', competentNodes: [ANJI], applicant: person }) })),
  ...both('apply: for someone else', 'POST', '/v1/cases', (s) => http(s, 'POST', '/v1/cases', { token: applicantOf(s), body: () => ({ itemCode: 'N034', mode: 'online', competentNodes: [ANJI], applicant: person }) })),
  ...both('apply: no such item', 'POST', '/v1/cases', (s) => http(s, 'POST', '/v1/cases', { token: clerkOf(s), body: () => ({ itemCode: 'N999', mode: 'online', competentNodes: [ANJI], applicant: person }) })),
  ...both('apply: invalid', 'POST', '/v1/cases', (s) => http(s, 'POST', '/v1/cases', { token: clerkOf(s), body: { itemCode: 'N034' } })),
  ...both('one case', 'GET', '/v1/cases/{id}', (s) => http(s, 'GET', () => `/v1/cases/${caseOf(s)()}`, { token: clerkOf(s) })),
  ...both('no such case', 'GET', '/v1/cases/{id}', (s) => http(s, 'GET', '/v1/cases/C-522732-NOPE', { token: clerkOf(s) })),
  ...both('post to the thread before acceptance', 'POST', '/v1/cases/{id}/thread', (s) => http(s, 'POST', () => `/v1/cases/${caseOf(s)()}/thread`, { token: clerkOf(s), body: { text: '请核对材料' } })),
  ...both('an action the role forbids', 'POST', '/v1/cases/{id}/actions/{action}', (s) => http(s, 'POST', () => `/v1/cases/${caseOf(s)()}/actions/conclude`, { token: clerkOf(s), body: {} })),
  ...both('an action without its reason', 'POST', '/v1/cases/{id}/actions/{action}', (s) => http(s, 'POST', () => `/v1/cases/${caseOf(s)()}/actions/reject`, { token: clerkOf(s), body: {} })),
  ...both('an action on no such case', 'POST', '/v1/cases/{id}/actions/{action}', (s) => http(s, 'POST', '/v1/cases/C-522732-NOPE/actions/accept', { token: clerkOf(s), body: {} })),
  // Preview: the applicant's steps; staff cannot take them for the applicant.
  ...both('release-evidence by a clerk (the applicant’s step)', 'POST', '/v1/cases/{id}/actions/{action}', (s) => http(s, 'POST', () => `/v1/cases/${caseOf(s)()}/actions/release-evidence`, { token: clerkOf(s), body: { requestId: randomUUID() } })),
  ...both('refuse-evidence: no requestId', 'POST', '/v1/cases/{id}/actions/{action}', (s) => http(s, 'POST', () => `/v1/cases/${caseOf(s)()}/actions/refuse-evidence`, { token: clerkOf(s), body: { requestId: '' } })),
  ...both('an action that does not exist', 'POST', '/v1/cases/{id}/actions/{action}', (s) => http(s, 'POST', () => `/v1/cases/${caseOf(s)()}/actions/fly`, { token: clerkOf(s), body: {} })),
  ...both('precheck', 'POST', '/v1/cases/{id}/actions/{action}', precheck),
  ...both('accept', 'POST', '/v1/cases/{id}/actions/{action}', (s) =>
    keeping(http(s, 'POST', () => `/v1/cases/${caseOf(s)()}/actions/accept`, { token: clerkOf(s), body: {} }), () => until(holds(ANJI, () => tokens.anjiClerk, caseOf(s)), `Anji holding ${caseOf(s)()}`)),
  ),
  ...both('withdraw', 'POST', '/v1/cases/{id}/actions/{action}', (s) => http(s, 'POST', () => `/v1/cases/${state.withdrawn[s]}/actions/withdraw`, { token: clerkOf(s), body: { reason: '申请人撤回' } })),
  call('evidence for a closed case', SANDU, 'POST', '/v1/cases/{id}/evidence', http(SANDU, 'POST', () => `/v1/cases/${state.withdrawn[SANDU]}/evidence`, { token: clerkOf(SANDU), body: { provider: SANDU, service: 'household.residence-proof', purpose: '户籍类证明开具' } })),
  call('evidence for no such case', SANDU, 'POST', '/v1/cases/{id}/evidence', http(SANDU, 'POST', '/v1/cases/C-522732-NOPE/evidence', { token: clerkOf(SANDU), body: { provider: SANDU, service: 'household.residence-proof', purpose: '户籍类证明开具' } })),
  call('evidence by an applicant (not their case: not found)', SANDU, 'POST', '/v1/cases/{id}/evidence', http(SANDU, 'POST', () => `/v1/cases/${caseOf(SANDU)()}/evidence`, { token: applicantOf(SANDU), body: { provider: SANDU, service: 'household.residence-proof', purpose: '户籍类证明开具' } })),
  call('evidence outside any agreement', SANDU, 'POST', '/v1/cases/{id}/evidence', http(SANDU, 'POST', () => `/v1/cases/${caseOf(SANDU)()}/evidence`, { token: clerkOf(SANDU), body: { provider: ANJI, service: 'household.residence-proof', purpose: '户籍类证明开具' } })),
  call('evidence (Anji asks Sandu)', ANJI, 'POST', '/v1/cases/{id}/evidence', http(ANJI, 'POST', () => `/v1/cases/${state.anjiCase}/evidence`, { token: () => tokens.anjiClerk, body: { provider: SANDU, service: 'household.residence-proof', purpose: '户籍类证明开具' } })),
  ...both('post to the thread', 'POST', '/v1/cases/{id}/thread', (s) => http(s, 'POST', () => `/v1/cases/${caseOf(s)()}/thread`, { token: clerkOf(s), body: { text: '请核对材料' } })),
  ...both('post to the thread: applicant', 'POST', '/v1/cases/{id}/thread', (s) => http(s, 'POST', () => `/v1/cases/${caseOf(s)()}/thread`, { token: applicantOf(s), body: { text: '请核对材料' } })),
  ...both('post to the thread: no such case', 'POST', '/v1/cases/{id}/thread', (s) => http(s, 'POST', '/v1/cases/C-522732-NOPE/thread', { token: clerkOf(s), body: { text: '请核对材料' } })),
  ...both('Anji posts to the thread of the case', 'POST', '/v1/cases/{id}/thread', (s) =>
    keeping(http(ANJI, 'POST', () => `/v1/cases/${caseOf(s)()}/thread`, { token: () => tokens.anjiClerk, body: { text: '材料已收到' } }), (a) => void ((state.message ??= {})[s] = a.body)),
  ).map(([name, c]) => [name, { ...c, server: ANJI }] as [string, Call]),
  ...both('thread', 'GET', '/v1/cases/{id}/thread', (s) => http(s, 'GET', () => `/v1/cases/${caseOf(s)()}/thread`, { token: clerkOf(s) })),
  ...both('thread: page too large', 'GET', '/v1/cases/{id}/thread', (s) => http(s, 'GET', () => `/v1/cases/${caseOf(s)()}/thread?limit=501`, { token: clerkOf(s) })),
  ...both('thread: applicant', 'GET', '/v1/cases/{id}/thread', (s) => http(s, 'GET', () => `/v1/cases/${caseOf(s)()}/thread`, { token: applicantOf(s) })),
  ...both('thread: no such case', 'GET', '/v1/cases/{id}/thread', (s) => http(s, 'GET', '/v1/cases/C-522732-NOPE/thread', { token: clerkOf(s) })),
  // The node-to-node inbox: Anji's own thread message delivered again, and what a receiver refuses.
  ...both('inbox: a thread message', 'POST', '/v1/cases/inbox', (s) => signed(ANJI, s, '/v1/cases/inbox', () => ({ id: randomUUID(), kind: 'case.message', payload: state.message[s] }))),
  ...both('inbox: a message on a case the receiver does not hold yet', 'POST', '/v1/cases/inbox', (s) =>
    signed(ANJI, s, '/v1/cases/inbox', () => ({ id: randomUUID(), kind: 'case.message', payload: { ...state.message[s], caseId: 'C-330523-NOT-YET' } })),
  ),
  ...both('inbox: a message from a node outside the case', 'POST', '/v1/cases/inbox', (s) =>
    signed(QINGPU, s, '/v1/cases/inbox', () => ({ id: randomUUID(), kind: 'case.message', payload: { ...state.message[s], node: QINGPU } })),
  ),
  ...both('inbox: a copy of a case the receiver accepted itself', 'POST', '/v1/cases/inbox', (s) =>
    async () => {
      const held = (await http(s, 'GET', `/v1/cases/${caseOf(s)()}`, { token: clerkOf(s) })()).body as { case: unknown };
      return signed(ANJI, s, '/v1/cases/inbox', () => ({ id: randomUUID(), kind: 'case.snapshot', payload: held.case }))();
    },
  ),
  ...both('inbox: malformed, signed', 'POST', '/v1/cases/inbox', (s) => signed(ANJI, s, '/v1/cases/inbox', () => ({ id: 'm-1', kind: 'case.nothing', payload: {} }))),
  ...both('inbox: a stranger', 'POST', '/v1/cases/inbox', (s) => signed('x', s, '/v1/cases/inbox', () => ({}), { key: () => state.stranger })),
  ...both('inbox: an id reused for another message', 'POST', '/v1/cases/inbox', (s) => reused(s, '/v1/cases/inbox', legacy)),
  // Node-to-node messages (src/messaging): the inbox every server has, the hub's relay.
  ...both('messages: a thread message', 'POST', '/v1/messages/inbox', (s) => signed(ANJI, s, '/v1/messages/inbox', () => message(s))),
  ...both('messages: an id reused for another message', 'POST', '/v1/messages/inbox', (s) => reused(s, '/v1/messages/inbox', (m) => m)),
  ...both('messages: a case the receiver does not hold yet', 'POST', '/v1/messages/inbox', (s) => signed(ANJI, s, '/v1/messages/inbox', () => message(s, { payload: { ...state.message[s], caseId: 'C-330523-NOT-YET' } }))),
  ...both('messages: a kind the receiver does not take', 'POST', '/v1/messages/inbox', (s) => signed(ANJI, s, '/v1/messages/inbox', () => message(s, { kind: 'test.nothing' }))),
  ...both('messages: an author who is not the signer', 'POST', '/v1/messages/inbox', (s) => signed(ANJI, s, '/v1/messages/inbox', () => message(s, { from: QINGPU }))),
  ...both('messages: malformed, signed', 'POST', '/v1/messages/inbox', (s) => signed(ANJI, s, '/v1/messages/inbox', () => ({ id: 'm-1' }))),
  call('relay a message', HUB, 'POST', '/v1/messages/relay', relayed(() => message(SANDU))),
  call('relay a message: an id reused', HUB, 'POST', '/v1/messages/relay', reused(SANDU, '/v1/messages/relay', sealed)),
  call('relay a message: a case the destination does not hold yet', HUB, 'POST', '/v1/messages/relay', relayed(() => message(SANDU, { payload: { ...state.message[SANDU], caseId: 'C-330523-NOT-YET' } }))),
  call('relay a message: a kind the destination does not take', HUB, 'POST', '/v1/messages/relay', relayed(() => message(SANDU, { kind: 'test.nothing' }))),
  call('relay a message: an author who is not the signer', HUB, 'POST', '/v1/messages/relay', relayed(() => message(SANDU, { from: QINGPU }))),
  call('relay a message: malformed, signed', HUB, 'POST', '/v1/messages/relay', signed(ANJI, HUB, '/v1/messages/relay', () => ({ id: 'm-1' }))),
  ...both('events', 'GET', '/v1/cases/events', (s) => http(s, 'GET', '/v1/cases/events', { token: clerkOf(s) })),
  // The citizen's data tracker (docs/tracker.md): each server's own entries, and the hub's federated query.
  ...both('tracker entries', 'GET', '/v1/tracker/entries', (s) => http(s, 'GET', '/v1/tracker/entries?limit=5&nonce=conformance-nonce-0001', { token: () => tokens.citizen })),
  ...both('tracker entries: a bad limit', 'GET', '/v1/tracker/entries', (s) => http(s, 'GET', '/v1/tracker/entries?limit=0', { token: () => tokens.citizen })),
  ...both('tracker entries: a staff token', 'GET', '/v1/tracker/entries', (s) => http(s, 'GET', '/v1/tracker/entries', { token: () => tokens.staffJwt })),
  call('tracker', HUB, 'GET', '/v1/tracker', http(HUB, 'GET', '/v1/tracker?limit=5', { token: () => tokens.citizen })),
  call('tracker: an unreadable cursor', HUB, 'GET', '/v1/tracker', http(HUB, 'GET', '/v1/tracker?cursor=xyz', { token: () => tokens.citizen })),
  call('tracker: a staff token', HUB, 'GET', '/v1/tracker', http(HUB, 'GET', '/v1/tracker', { token: () => tokens.staffJwt })),
  // Governance (docs/governance.md): the hub's published report; at a node, its own figures and the
  // hub's report relayed, for its supervisors and data administrators; the node's report, for the hub only.
  call('governance: the federation report', HUB, 'GET', '/v1/governance/federation', http(HUB, 'GET', '/v1/governance/federation')),
  call('governance: the hub report relayed', SANDU, 'GET', '/v1/governance/federation', http(SANDU, 'GET', '/v1/governance/federation', { token: () => tokens.supervisor })),
  call('governance: the hub report, a clerk', SANDU, 'GET', '/v1/governance/federation', http(SANDU, 'GET', '/v1/governance/federation', { token: () => tokens.clerk })),
  call('governance: the node', SANDU, 'GET', '/v1/governance/node', http(SANDU, 'GET', '/v1/governance/node', { token: () => tokens.supervisor })),
  call('governance: the node, a clerk', SANDU, 'GET', '/v1/governance/node', http(SANDU, 'GET', '/v1/governance/node', { token: () => tokens.clerk })),
  call('governance: the report for the hub', SANDU, 'POST', '/v1/governance/report', signed(HUB, SANDU, '/v1/governance/report', () => ({ nonce: 'conformance-nonce-0001' }), { keep: 'governanceReport' })),
  call('governance: the report, replayed', SANDU, 'POST', '/v1/governance/report', signed(HUB, SANDU, '/v1/governance/report', () => undefined, { replay: 'governanceReport' })),
  call('governance: the report, no nonce', SANDU, 'POST', '/v1/governance/report', signed(HUB, SANDU, '/v1/governance/report', () => ({}))),
  call('governance: the report, asked by a node', SANDU, 'POST', '/v1/governance/report', signed(ANJI, SANDU, '/v1/governance/report', () => ({ nonce: 'conformance-nonce-0002' }))),

  // A citizen's hub views through the node they signed in at (Sandu relays, signed, to the hub's POST /v1/citizen/relay).
  call('my wallet, relayed', SANDU, 'GET', '/v1/me/wallet', asSignedInCitizen('GET', '/v1/me/wallet?limit=5')),
  call('my wallet: page too large', SANDU, 'GET', '/v1/me/wallet', asSignedInCitizen('GET', '/v1/me/wallet?limit=201')),
  call('my wallet: staff', SANDU, 'GET', '/v1/me/wallet', http(SANDU, 'GET', '/v1/me/wallet', { token: clerkOf(SANDU) })),
  call('my tracker, relayed', SANDU, 'GET', '/v1/me/tracker', asSignedInCitizen('GET', '/v1/me/tracker?limit=5')),
  call('my tracker: a bad limit', SANDU, 'GET', '/v1/me/tracker', asSignedInCitizen('GET', '/v1/me/tracker?limit=0')),
  call('my tracker: staff', SANDU, 'GET', '/v1/me/tracker', http(SANDU, 'GET', '/v1/me/tracker', { token: clerkOf(SANDU) })),
  call('my consents, relayed', SANDU, 'GET', '/v1/me/consents', asSignedInCitizen('GET', '/v1/me/consents')),
  call('my consents: a bad offset', SANDU, 'GET', '/v1/me/consents', asSignedInCitizen('GET', '/v1/me/consents?offset=-1')),
  call('my consents: staff', SANDU, 'GET', '/v1/me/consents', http(SANDU, 'GET', '/v1/me/consents', { token: clerkOf(SANDU) })),
  call('give a consent, relayed', SANDU, 'POST', '/v1/me/consents', keeping(asSignedInCitizen('POST', '/v1/me/consents', consentInput()), (a) => void (state.relayedConsent = (a.body as { id: string }).id))),
  call('give a consent: one that is not needed', SANDU, 'POST', '/v1/me/consents', asSignedInCitizen('POST', '/v1/me/consents', consentInput({ itemCode: 'N034', purpose: '户籍类证明开具', fields: ['name'] }))),
  call('give a consent: staff', SANDU, 'POST', '/v1/me/consents', http(SANDU, 'POST', '/v1/me/consents', { token: clerkOf(SANDU), body: () => consentInput() })),
  call('revoke a consent, relayed', SANDU, 'POST', '/v1/me/consents/{id}/revoke', async () => asSignedInCitizen('POST', `/v1/me/consents/${state.relayedConsent}/revoke`, {})()),
  call('revoke a consent: none such', SANDU, 'POST', '/v1/me/consents/{id}/revoke', asSignedInCitizen('POST', `/v1/me/consents/${randomUUID()}/revoke`, {})),
  call('revoke a consent: staff', SANDU, 'POST', '/v1/me/consents/{id}/revoke', http(SANDU, 'POST', `/v1/me/consents/${randomUUID()}/revoke`, { token: clerkOf(SANDU), body: {} })),
  call('the options of a citizen’s forms', SANDU, 'GET', '/v1/me/options', asSignedInCitizen('GET', '/v1/me/options')),
  call('the options: staff of another node', SANDU, 'GET', '/v1/me/options', http(SANDU, 'GET', '/v1/me/options', { token: () => tokens.anjiStaffJwt })),
  call('relay: a wallet', HUB, 'POST', '/v1/citizen/relay', citizenRelay(() => ({ op: 'wallet' }), { keep: 'citizenRelayed' })),
  call('relay: replayed', HUB, 'POST', '/v1/citizen/relay', signed('x', HUB, '/v1/citizen/relay', () => undefined, { replay: 'citizenRelayed' })),
  call('relay: an unknown call', HUB, 'POST', '/v1/citizen/relay', citizenRelay(() => ({ op: 'everything' }))),
  call('relay: a staff member’s token', HUB, 'POST', '/v1/citizen/relay', citizenRelay(() => ({ op: 'wallet' }), { token: () => tokens.sanduStaffForSandu! })),
  call('relay: revoke a consent that is none', HUB, 'POST', '/v1/citizen/relay', citizenRelay(() => ({ op: 'consent-revoke', id: randomUUID() }))),
  call('relay: a consent that is not needed', HUB, 'POST', '/v1/citizen/relay', citizenRelay(() => ({ op: 'consent-grant', grant: consentInput({ itemCode: 'N034', purpose: '户籍类证明开具', fields: ['name'] }) }))),

  // E-certificates verified at Sandu (nodes only): the citizen's 结婚证 from beforeAll, before Anji suspends and revokes it below.
  call('challenge', SANDU, 'POST', '/v1/certificates/challenges', http(SANDU, 'POST', '/v1/certificates/challenges', { token: clerkOf(SANDU), body: {} })),
  call('challenge: a citizen', SANDU, 'POST', '/v1/certificates/challenges', http(SANDU, 'POST', '/v1/certificates/challenges', { token: applicantOf(SANDU), body: {} })),
  call('verify', SANDU, 'POST', '/v1/certificates/verify', http(SANDU, 'POST', '/v1/certificates/verify', { token: clerkOf(SANDU), body: () => ({ presentation: state.presentation, reason: '一致性测试' }) })),
  call('verify: a citizen', SANDU, 'POST', '/v1/certificates/verify', http(SANDU, 'POST', '/v1/certificates/verify', { token: applicantOf(SANDU), body: () => ({ presentation: state.presentation, reason: '一致性测试' }) })),
  call('verify: a disclosure the issuer never signed', SANDU, 'POST', '/v1/certificates/verify', http(SANDU, 'POST', '/v1/certificates/verify', { token: clerkOf(SANDU), body: () => ({ presentation: `${state.presentation}${Buffer.from('["c2FsdA","holderName","x"]').toString('base64url')}~`, reason: '一致性测试' }) })),
  call('verify: not a presentation', SANDU, 'POST', '/v1/certificates/verify', http(SANDU, 'POST', '/v1/certificates/verify', { token: clerkOf(SANDU), body: { presentation: 'a.b.c~', reason: '一致性测试' } })),
  call('case certificate', SANDU, 'POST', '/v1/cases/{id}/certificates', http(SANDU, 'POST', () => `/v1/cases/${state.holderCase}/certificates`, { token: clerkOf(SANDU), body: () => ({ presentation: state.presentation }) })),
  call('case certificate: the applicant', SANDU, 'POST', '/v1/cases/{id}/certificates', http(SANDU, 'POST', () => `/v1/cases/${state.holderCase}/certificates`, { token: applicantOf(SANDU), body: () => ({ presentation: state.presentation }) })),
  call('case certificate: another applicant’s case', SANDU, 'POST', '/v1/cases/{id}/certificates', http(SANDU, 'POST', () => `/v1/cases/${caseOf(SANDU)()}/certificates`, { token: clerkOf(SANDU), body: () => ({ presentation: state.presentation }) })),
  call('case certificate: a closed case', SANDU, 'POST', '/v1/cases/{id}/certificates', http(SANDU, 'POST', () => `/v1/cases/${state.withdrawn[SANDU]}/certificates`, { token: clerkOf(SANDU), body: () => ({ presentation: state.presentation }) })),
  call('case certificate: no such case', SANDU, 'POST', '/v1/cases/{id}/certificates', http(SANDU, 'POST', '/v1/cases/C-522732-NOPE/certificates', { token: clerkOf(SANDU), body: () => ({ presentation: state.presentation }) })),

  // E-certificates issued at Anji (nodes only; Sandu's document is every node's): the citizen's 结婚证 from beforeAll.
  call('status list', ANJI, 'GET', '/v1/certificates/status-lists/{listId}', http(ANJI, 'GET', () => state.statusList)),
  call('status list: none such', ANJI, 'GET', '/v1/certificates/status-lists/{listId}', http(ANJI, 'GET', '/v1/certificates/status-lists/9999')),
  call('certificates issued here', ANJI, 'GET', '/v1/certificates', http(ANJI, 'GET', '/v1/certificates?limit=5', { token: () => tokens.anjiClerk })),
  call('certificates: page too large', ANJI, 'GET', '/v1/certificates', http(ANJI, 'GET', '/v1/certificates?limit=201', { token: () => tokens.anjiClerk })),
  call('certificates: a citizen', ANJI, 'GET', '/v1/certificates', http(ANJI, 'GET', '/v1/certificates', { token: () => tokens.citizen })),
  call('my certificates', ANJI, 'GET', '/v1/certificates/mine', http(ANJI, 'GET', '/v1/certificates/mine', { token: () => tokens.citizen })),
  call('my certificates: page too large', ANJI, 'GET', '/v1/certificates/mine', http(ANJI, 'GET', '/v1/certificates/mine?limit=201', { token: () => tokens.citizen })),
  call('my certificates: staff', ANJI, 'GET', '/v1/certificates/mine', http(ANJI, 'GET', '/v1/certificates/mine', { token: () => tokens.anjiClerk })),
  call('a certificate: its holder', ANJI, 'GET', '/v1/certificates/{id}', http(ANJI, 'GET', () => `/v1/certificates/${state.certificate}`, { token: () => tokens.citizen })),
  call('a certificate: staff in no role that reads them', ANJI, 'GET', '/v1/certificates/{id}', http(ANJI, 'GET', () => `/v1/certificates/${state.certificate}`, { token: () => tokens.anjiDataAdmin })),
  call('a certificate: someone else’s', ANJI, 'GET', '/v1/certificates/{id}', http(ANJI, 'GET', () => `/v1/certificates/${state.certificate}`, { token: () => tokens.otherCitizen })),
  call('issue: a clerk', ANJI, 'POST', '/v1/certificates/issue', http(ANJI, 'POST', '/v1/certificates/issue', { token: () => tokens.anjiClerk, body: () => ({ caseId: state.certificateCase }) })),
  call('issue: no such case', ANJI, 'POST', '/v1/certificates/issue', http(ANJI, 'POST', '/v1/certificates/issue', { token: () => tokens.anjiApprover, body: { caseId: 'C-330523-NOSUCHCASE' } })),
  call('issue: a case not concluded', ANJI, 'POST', '/v1/certificates/issue', http(ANJI, 'POST', '/v1/certificates/issue', { token: () => tokens.anjiApprover, body: () => ({ caseId: state.openCertificateCase }) })),
  call('issue: the case has its certificate', ANJI, 'POST', '/v1/certificates/issue', http(ANJI, 'POST', '/v1/certificates/issue', { token: () => tokens.anjiApprover, body: () => ({ caseId: state.certificateCase }) })),
  call('issue: malformed', ANJI, 'POST', '/v1/certificates/issue', http(ANJI, 'POST', '/v1/certificates/issue', { token: () => tokens.anjiApprover, body: { case: 'x' } })),
  call('bind: a proof by another key', ANJI, 'POST', '/v1/certificates/{id}/bind', async () => {
    const proof = await makeHolderProof(await generateSigningKey('Ed25519', 'holder'), ANJI, decodeURIComponent(state.certificate), new Date());
    return http(ANJI, 'POST', `/v1/certificates/${state.certificate}/bind`, { token: () => tokens.citizen, body: { jwk: state.holderKey.publicJwk, proof } })();
  }),
  call('bind: a clerk', ANJI, 'POST', '/v1/certificates/{id}/bind', http(ANJI, 'POST', () => `/v1/certificates/${state.certificate}/bind`, { token: () => tokens.anjiClerk, body: () => ({ jwk: state.holderKey.publicJwk, proof: 'a.b.c' }) })),
  call('bind: someone else’s', ANJI, 'POST', '/v1/certificates/{id}/bind', http(ANJI, 'POST', () => `/v1/certificates/${state.certificate}/bind`, { token: () => tokens.otherCitizen, body: () => ({ jwk: state.holderKey.publicJwk, proof: 'a.b.c' }) })),
  call('bind: malformed', ANJI, 'POST', '/v1/certificates/{id}/bind', http(ANJI, 'POST', () => `/v1/certificates/${state.certificate}/bind`, { token: () => tokens.citizen, body: { jwk: { kty: 'RSA' } } })),
  ...['bind', 'bind: again'].map((name) =>
    call(name, ANJI, 'POST', '/v1/certificates/{id}/bind', async () => {
      const proof = await makeHolderProof(state.holderKey, ANJI, decodeURIComponent(state.certificate), new Date());
      return http(ANJI, 'POST', `/v1/certificates/${state.certificate}/bind`, { token: () => tokens.citizen, body: { jwk: state.holderKey.publicJwk, proof } })();
    }),
  ),
  ...(['suspend', 'reinstate', 'revoke'] as const).flatMap((action) => [
    call(`${action}: a clerk`, ANJI, 'POST', `/v1/certificates/{id}/${action}`, http(ANJI, 'POST', () => `/v1/certificates/${state.certificate}/${action}`, { token: () => tokens.anjiClerk, body: { reason: 'conformance' } })),
    call(`${action}: no such certificate`, ANJI, 'POST', `/v1/certificates/{id}/${action}`, http(ANJI, 'POST', `/v1/certificates/1.2.156.NOPE/${action}`, { token: () => tokens.anjiApprover, body: { reason: 'conformance' } })),
    call(`${action}: no reason`, ANJI, 'POST', `/v1/certificates/{id}/${action}`, http(ANJI, 'POST', () => `/v1/certificates/${state.certificate}/${action}`, { token: () => tokens.anjiApprover, body: {} })),
    call(action, ANJI, 'POST', `/v1/certificates/{id}/${action}`, http(ANJI, 'POST', () => `/v1/certificates/${state.certificate}/${action}`, { token: () => tokens.anjiApprover, body: { reason: 'conformance' } })),
    call(`${action}: again`, ANJI, 'POST', `/v1/certificates/{id}/${action}`, http(ANJI, 'POST', () => `/v1/certificates/${state.certificate}/${action}`, { token: () => tokens.anjiApprover, body: { reason: 'conformance' } })),
  ]),

  // Agreement lifecycle (last: the Sandu–Anji agreement is suspended and resumed on the way, the Changzhou bridge terminated).
  call('agreement suspend', SANDU, 'POST', '/v1/operator/agreements/{id}/suspend', keeping(http(SANDU, 'POST', `/v1/operator/agreements/${SANDU_ANJI}/suspend`, { token: operatorToken(SANDU), body: { reason: 'conformance' } }), (a) => void (state.stateChange = (a.body as { jws: string }).jws))),
  call('agreement suspend: already suspended', SANDU, 'POST', '/v1/operator/agreements/{id}/suspend', http(SANDU, 'POST', `/v1/operator/agreements/${SANDU_ANJI}/suspend`, { token: operatorToken(SANDU), body: { reason: 'again' } })),
  call('agreement suspend: no such agreement', SANDU, 'POST', '/v1/operator/agreements/{id}/suspend', http(SANDU, 'POST', '/v1/operator/agreements/AGR-NO-SUCH/suspend', { token: operatorToken(SANDU), body: { reason: 'x' } })),
  call('agreement resume: no reason', SANDU, 'POST', '/v1/operator/agreements/{id}/resume', http(SANDU, 'POST', `/v1/operator/agreements/${SANDU_ANJI}/resume`, { token: operatorToken(SANDU), body: {} })),
  call('agreement resume', SANDU, 'POST', '/v1/operator/agreements/{id}/resume', http(SANDU, 'POST', `/v1/operator/agreements/${SANDU_ANJI}/resume`, { token: operatorToken(SANDU), body: { reason: 'conformance done' } })),
  call('agreement resume: active', SANDU, 'POST', '/v1/operator/agreements/{id}/resume', http(SANDU, 'POST', `/v1/operator/agreements/${SANDU_ANJI}/resume`, { token: operatorToken(SANDU), body: { reason: 'x' } })),
  call('agreement resume: no such agreement', SANDU, 'POST', '/v1/operator/agreements/{id}/resume', http(SANDU, 'POST', '/v1/operator/agreements/AGR-NO-SUCH/resume', { token: operatorToken(SANDU), body: { reason: 'x' } })),
  call('agreement terminate: no such agreement', SANDU, 'POST', '/v1/operator/agreements/{id}/terminate', http(SANDU, 'POST', '/v1/operator/agreements/AGR-NO-SUCH/terminate', { token: operatorToken(SANDU), body: { reason: 'x' } })),
  call('agreement terminate: no reason', SANDU, 'POST', '/v1/operator/agreements/{id}/terminate', http(SANDU, 'POST', `/v1/operator/agreements/${CHANGZHOU_BRIDGE}/terminate`, { token: operatorToken(SANDU), body: {} })),
  call('agreement terminate (the Changzhou bridge)', SANDU, 'POST', '/v1/operator/agreements/{id}/terminate', http(SANDU, 'POST', `/v1/operator/agreements/${CHANGZHOU_BRIDGE}/terminate`, { token: operatorToken(SANDU), body: { reason: 'conformance' } })),
  call('agreement terminate: terminated', SANDU, 'POST', '/v1/operator/agreements/{id}/terminate', http(SANDU, 'POST', `/v1/operator/agreements/${CHANGZHOU_BRIDGE}/terminate`, { token: operatorToken(SANDU), body: { reason: 'again' } })),
  // Signed state changes, at the hub and at a party: Sandu's suspension above, sent again and by others.
  ...both('state change: held already', 'POST', '/v1/agreements/{id}/state', (s) => signed(SANDU, s, `/v1/agreements/${SANDU_ANJI}/state`, () => ({ change: state.stateChange }))),
  ...both('state change: malformed, signed', 'POST', '/v1/agreements/{id}/state', (s) => signed(ANJI, s, `/v1/agreements/${SANDU_ANJI}/state`, () => ({}))),
  ...both('state change: another party’s, sent by Anji', 'POST', '/v1/agreements/{id}/state', (s) => signed(ANJI, s, `/v1/agreements/${SANDU_ANJI}/state`, () => ({ change: state.stateChange }))),
  ...both('state change: from a non-party', 'POST', '/v1/agreements/{id}/state', (s) => signed(QINGPU, s, `/v1/agreements/${SANDU_ANJI}/state`, () => ({ change: state.stateChange }))),
  ...both('state change: a fork of the chain', 'POST', '/v1/agreements/{id}/state', (s) => async () => {
    const agreement = Agreement.parse(((await http(HUB, 'GET', `/v1/agreements/${SANDU_ANJI}`)()).body as { agreement: unknown }).agreement);
    const fork = await signStateChange(nextStateChange(emptyLifecycle(SANDU_ANJI), agreement, 'suspend', { party: ANJI, actor: 'op' }, 'fork', new Date()), t.key(ANJI));
    return signed(ANJI, s, `/v1/agreements/${SANDU_ANJI}/state`, () => ({ change: fork }))();
  }),
];

/** Fills a documented path template with values that exist (so only what the test varies decides the answer). */
const pathOf = (template: string, server: Server) =>
  template
    .replace('{division}', ANJI)
    .replace('{code}', template.includes('divisions') ? SANDU : 'N034')
    .replace('{id}', template.startsWith('/v1/agreements') ? SANDU_ANJI : caseOf(server)())
    .replace('{action}', 'accept')
    .replace('{login}', 'conf@310118');
/** Every documented operation of a server: [template, METHOD, operation]. */
const operationsOf = (server: Server) =>
  Object.entries(docs.get(server)!.paths).flatMap(([template, methods]) => Object.entries(methods).map(([method, operation]) => [template, method.toUpperCase() as 'GET' | 'POST', operation] as const));
/** The bearer token of the operation's first security scheme, so the step under test (not the bearer check) answers. */
const tokenFor = (server: Server, security: Array<Record<string, string[]>> | undefined) => {
  const scheme = Object.keys(security?.[0] ?? {})[0];
  // People: the session cookie comes first in the document; a machine client's token is as good.
  return scheme === 'operatorBearer' || scheme === 'metricsBearer' ? t.f.operatorToken(server) : scheme === 'adminBearer' ? t.f.adminToken() : scheme === 'sessionCookie' ? clerkOf(server)() : undefined;
};

describe('OpenAPI conformance: real answers against each server’s own /openapi.json', () => {
  for (const [name, c] of calls) {
    it(`${c.method} ${c.template} (${c.server === HUB ? 'hub' : 'node ' + c.server}): ${name}`, async () => {
      const answer = await c.send();
      if (process.env.CONFORMANCE_TRACE) console.log(`TRACE ${name} ${c.server} → ${answer.status} ${String(JSON.stringify(answer.body)).slice(0, 200)}`);
      expect(record(c.server, c.method, c.template, answer)).toEqual([]);
    });
  }

  it('every server’s document is a valid OpenAPI 3.1 document', async () => {
    for (const server of [SANDU, HUB] as const) {
      const result = await new Validator().validate(docs.get(server) as unknown as Record<string, unknown>);
      expect(result.errors ?? [], server).toEqual([]);
      expect(result.valid, server).toBe(true);
    }
  });

  it('every body-taking operation answers malformed JSON (400), an oversized body (413) and text/plain (415) as documented', async () => {
    for (const server of [SANDU, HUB] as const) {
      const work = operationsOf(server)
        .filter(([, method]) => method === 'POST')
        .flatMap(([template, , operation]) => {
          const token = tokenFor(server, operation.security);
          const scheme = Object.keys(operation.security?.[0] ?? {})[0];
          return (
            [
              [400, { raw: '{"broken":' }],
              // Just over the default body limit (1 MiB).
              [413, { raw: JSON.stringify({ padding: 'x'.repeat(1024 * 1024 + 1024) }) }],
              [415, { raw: 'a=b', type: 'text/plain' }],
            ] as const
          ).map(([status, body]) => async () => {
            const answer = await resetTolerant(status, http(server, 'POST', pathOf(template, server), { ...(token ? { token } : {}), ...body }));
            expect(record(server, 'POST', template, answer), `${server} POST ${template}`).toEqual([]);
            // Signed routes parse their raw bytes themselves: malformed JSON without a signature is a 401 there.
            if (status !== 400 || !scheme?.endsWith('Signature')) expect(answer.status, `${server} POST ${template}`).toBe(status);
          });
        });
      await Promise.all(work.map((w) => w()));
    }
  });

  it('every authenticated operation refuses a caller without credentials (401), before reading anything', async () => {
    for (const server of [SANDU, HUB] as const) {
      const work = operationsOf(server)
        .filter(([, , operation]) => (operation.security ?? []).length > 0)
        .map(([template, method]) => async () => {
          const answer = await http(server, method, pathOf(template, server), method === 'POST' ? { body: {} } : {})();
          expect(record(server, method, template, answer), `${server} ${method} ${template}`).toEqual([]);
          expect(answer.status, `${server} ${method} ${template}`).toBe(401);
        });
      await Promise.all(work.map((w) => w()));
    }
  });

  it('every data-admin operation refuses a clerk (403 ADMIN_ROLE_REQUIRED), before reading anything', async () => {
    for (const server of [SANDU, HUB] as const) {
      const work = operationsOf(server)
        .filter(([, , operation]) => (operation.security ?? []).map((s) => Object.keys(s)[0]).join() === 'operatorBearer,sessionCookie,hubAccessToken,machineToken')
        .map(([template, method]) => async () => {
          const answer = await http(server, method, pathOf(template, server), { token: clerkOf(server), ...(method === 'POST' ? { body: {} } : {}) })();
          expect(record(server, method, template, answer), `${server} ${method} ${template}`).toEqual([]);
          expect([answer.status, (answer.body as { code?: string }).code], `${server} ${method} ${template}`).toEqual([403, 'ADMIN_ROLE_REQUIRED']);
        });
      expect(work.length, server).toBeGreaterThan(0);
      await Promise.all(work.map((w) => w()));
    }
  });

  it('every operation with a path parameter refuses a malformed one (400), naming neither it nor the URL', async () => {
    for (const server of [SANDU, HUB] as const) {
      const work = operationsOf(server)
        .filter(([template]) => template.includes('{'))
        .map(([template, method, operation]) => async () => {
          const token = tokenFor(server, operation.security);
          const answer = await http(server, method, template.replace(/\{[^}]+\}/g, '%E0%A4%A'), { ...(token ? { token } : {}), ...(method === 'POST' ? { body: {} } : {}) })();
          expect(record(server, method, template, answer), `${server} ${method} ${template}`).toEqual([]);
          expect(answer.status, `${server} ${method} ${template}`).toBe(400);
        });
      await Promise.all(work.map((w) => w()));
    }
  });

  it('an account may hold only so many event streams (429 TOO_MANY_STREAMS)', async () => {
    for (const server of [SANDU, HUB] as const) {
      const open: AbortController[] = [];
      try {
        let answer: Answer | undefined;
        for (let i = 0; i < 50 && answer?.status !== 429; i++) {
          const controller = new AbortController();
          open.push(controller);
          const response = await fetch(new URL('/v1/cases/events', endpointOf(server)), { headers: { authorization: `Bearer ${clerkOf(server)()}` }, signal: controller.signal });
          if (response.status !== 200) answer = await answerOf(response);
        }
        expect(answer?.status, server).toBe(429);
        expect(record(server, 'GET', '/v1/cases/events', answer!)).toEqual([]);
      } finally {
        for (const controller of open) controller.abort();
      }
    }
  });

  // Last of the calls: it uses up the rate limits of this federation's unauthenticated routes.
  it('every rate-limited operation answers 429 once its limit is reached', async () => {
    // Limited per route and client address before anything else runs (bearer-authenticated routes are not).
    const limited = [HUB, SANDU].flatMap((server) =>
      operationsOf(server)
        .filter(([, , operation]) => '429' in operation.responses && !(operation.security ?? []).some((s) => Object.keys(s).some((k) => k.endsWith('Bearer') || k === 'sessionCookie')))
        .map((op) => [server, ...op] as const),
    );
    expect(limited.length).toBeGreaterThan(10);
    {
      await Promise.all(
        limited.map(async ([server, template, method]) => {
          let answer: Answer | undefined;
          for (let sent = 0; sent <= RATE_MAX + 10 && answer === undefined; sent += 20) {
            const batch = await Promise.all(Array.from({ length: 20 }, () => http(server, method, pathOf(template, server), method === 'POST' ? { body: {} } : {})()));
            answer = batch.find((a) => a.status === 429);
          }
          expect(answer?.status, `${server} ${method} ${template}`).toBe(429);
          expect(record(server, method, template, answer!), `${server} ${method} ${template}`).toEqual([]);
        }),
      );
    }
    // The hub's rotation route is used up now: a node's operator asking for a new key hears the hub's 429.
    const rotate = await http(SANDU, 'POST', '/v1/operator/keys/rotate', { token: operatorToken(SANDU), body: { currentKid: t.key(SANDU).kid } })();
    expect(rotate.status).toBe(429);
    expect(record(SANDU, 'POST', '/v1/operator/keys/rotate', rotate)).toEqual([]);
  });

  it('every documented status of every operation of every server has been answered for real and validated', () => {
    const missing: string[] = [];
    for (const server of [SANDU, HUB] as const) {
      for (const [template, method, operation] of operationsOf(server)) {
        // `default` (500, 502, 503: outages and unexpected errors) is documented once for every operation, not counted here.
        for (const status of Object.keys(operation.responses).filter((s) => s !== 'default')) {
          if (!seen.has(`${server}|${method} ${template}|${status}`)) missing.push(`${nameOf(server)} ${method} ${template} ${status}`);
        }
      }
    }
    expect(missing.sort()).toEqual([]);
  });

  it('every operation either server documents has a representative call', () => {
    for (const server of [SANDU, HUB] as const) {
      const documented = operationsOf(server).map(([template, method]) => `${method} ${template}`);
      const exercised = new Set(calls.map(([, c]) => `${c.method} ${c.template}`));
      expect(documented.filter((op) => !exercised.has(op)), server).toEqual([]);
    }
  });

  it('the checker itself refuses an undocumented status, an undocumented media type and a forbidden field', () => {
    const doc = docs.get(SANDU)!;
    expect(nonConformance(doc, 'GET', '/v1/node', { status: 418, contentType: 'application/json', body: {} })[0]).toMatch(/status 418 is not documented/);
    expect(nonConformance(doc, 'GET', '/v1/divisions/{code}', { status: 404, contentType: 'text/html', body: '' })[0]).toMatch(/media type text\/html/);
    const health = { status: 'ok', node: { division: SANDU, name: '三都水族自治县', role: 'node' }, store: 'sqlite', time: new Date().toISOString(), directory: { version: 1, expiresAt: new Date().toISOString(), usable: true } };
    expect(nonConformance(doc, 'GET', '/health', { status: 200, contentType: 'application/json', body: health })).toEqual([]);
    expect(nonConformance(doc, 'GET', '/health', { status: 200, contentType: 'application/json', body: { ...health, secret: 'x' } }).join()).toMatch(/additional/);
  });
});
