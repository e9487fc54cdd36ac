import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agreement, emptyLifecycle, nextStateChange, signStateChange } from '../src/agreements/index.ts';
import { canonicalJson, signJws } from '../src/crypto/index.ts';
import { sealEnvelope } from '../src/messaging/index.ts';
import { startTestFederation, type TestFederation } from './support/federation.ts';

/**
 * Documentation and behaviour agree (issue 8, item 19): real servers — the hub and a node — are
 * sent a representative call of every operation their own /openapi.json documents, successes and
 * errors, and each real answer is checked against that document: the status must be documented
 * for the operation, the media type too, and the body must validate against the schema (a field
 * the schema forbids fails). An operation without a representative call fails as well.
 */
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
const SANDU = '522732';
const HUB = '100000';
const SANDU_ANJI = 'AGR-522732-330523-001';
const HUB_AGREEMENT = 'AGR-HUB-DELTA-001';

/** A division: the hub, Sandu, or another node (whose document is the same as Sandu's). */
type Server = string;
type OpenApi = {
  paths: Record<string, Record<string, { security?: Array<Record<string, string[]>>; requestBody?: unknown; responses: Record<string, { $ref?: string; content?: Record<string, { schema?: Record<string, unknown> }> }> }>>;
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
let caseId = '';
let person: { idNumber: string; name: string };

const endpointOf = (server: Server) => (server === HUB ? t.f.hub.endpoint : t.f.nodes.get(server)!.endpoint);
const docOf = (server: Server) => docs.get(server === HUB ? HUB : SANDU)!;

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

/** A plain HTTP call, with a bearer token and/or a body of the given media type. */
function http(server: Server, method: 'GET' | 'POST', path: string, options: { token?: string; body?: unknown; type?: string; raw?: string } = {}): () => Promise<Answer> {
  return async () => {
    const hasBody = options.body !== undefined || options.raw !== undefined;
    const response = await fetch(new URL(path, endpointOf(server)), {
      method,
      headers: {
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...(hasBody ? { 'content-type': options.type ?? 'application/json' } : {}),
      },
      ...(hasBody ? { body: options.raw ?? JSON.stringify(options.body) } : {}),
    });
    return answerOf(response);
  };
}

/** A node-to-node call signed (RFC 9421) by `from`. */
function signed(from: string, to: Server, path: string, body: () => unknown): () => Promise<Answer> {
  return async () => {
    return rawAnswer(await t.raw({ from, to, path, body: body() }));
  };
}

/** Node-to-node messages (src/messaging): an envelope from Anji to `to`, a thread message on the case Anji takes part in, signed as its node signs it. */
const message = (kind: string, payload: unknown, overrides: Record<string, unknown> = {}) => ({ id: randomUUID(), kind, conversation: 'case:conformance', from: '330523', to: SANDU, payload, ...overrides });
async function threadMessage(onCase: string, text = '请核对材料', node = '330523') {
  const unsigned = { id: `${node}-${randomUUID()}`, caseId: onCase, node, author: 'conf', role: 'clerk', text, at: new Date().toISOString(), escalation: false };
  return { ...unsigned, signature: await signJws(t.key(node), new TextEncoder().encode(canonicalJson(unsigned)), { typ: 'tongban-case-message+jws', detached: true }) };
}
/** Sandu's encryption key as the directory publishes it: messages through the hub are sealed for it. */
const sandu = async () => (await t.f.nodes.get(SANDU)!.runtime!.exchange.directory.current()).node(SANDU)!.encryptionKey;
/** Sends a message twice with one id, the second time with other content: the second answer. */
async function reusedId(to: Server, path: string, relayed: boolean): Promise<Answer> {
  const first = message('case.message', await threadMessage(caseId));
  const second = { ...first, payload: await threadMessage(caseId, '另一条') };
  const wrap = async (m: typeof first) => (relayed ? sealEnvelope(t.key('330523'), m, await sandu()) : path === '/v1/cases/inbox' ? { id: m.id, kind: m.kind, payload: m.payload } : m);
  await t.raw({ from: '330523', to, path, body: await wrap(first) });
  return rawAnswer(await t.raw({ from: '330523', to, path, body: await wrap(second) }));
}
/** Relays an envelope signed (JWS) by Anji through the hub. */
const relayed = (body: () => Promise<ReturnType<typeof message>>) => async (): Promise<Answer> =>
  rawAnswer(await t.raw({ from: '330523', to: HUB, path: '/v1/messages/relay', body: await sealEnvelope(t.key('330523'), await body(), await sandu()) }));
const rawAnswer = (r: Awaited<ReturnType<TestFederation['raw']>>): Answer => ({ status: r.status, contentType: r.headers.get('content-type') ?? '', body: r.json });
const signedAsync = (from: string, to: Server, path: string, body: () => Promise<unknown>) => async (): Promise<Answer> => rawAnswer(await t.raw({ from, to, path, body: await body() }));

const validators = new Map<string, ValidateFunction>();
/** `document|METHOD template|status` of every real answer checked, for the coverage test. */
const seen = new Set<string>();
const docKey = (server: Server) => (server === HUB ? HUB : SANDU);

/** What is wrong with `answer` as an answer of `method template` according to the server's own document; empty when it conforms. */
function nonConformance(doc: OpenApi, method: string, template: string, answer: Answer): string[] {
  const operation = doc.paths[template]?.[method.toLowerCase()];
  if (!operation) return [`${method} ${template} is not documented`];
  let response = operation.responses[String(answer.status)];
  if (!response) return [`status ${answer.status} is not documented for ${method} ${template} (documented: ${Object.keys(operation.responses).join(', ')}); body ${JSON.stringify(answer.body).slice(0, 300)}`];
  if (response.$ref) response = doc.components.responses[response.$ref.split('/').at(-1)!]!;
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
  t = await startTestFederation('sqlite', { directory: { refreshSeconds: 0.5, snapshotTtlSeconds: 600 } });
  for (const server of [SANDU, HUB] as const) docs.set(server, (await (await fetch(new URL('/openapi.json', endpointOf(server)))).json()) as OpenApi);
  tokens.clerk = (await t.operator(SANDU, '/v1/operator/accounts', { id: 'conf-clerk', role: 'clerk', name: '王' })).json.token;
  const sample = await t.operator('330523', '/v1/operator/exchange', { provider: SANDU, service: 'household.residence-proof', subject: { type: 'idNumber', value: '11010519491231002X' }, purpose: '户籍类证明开具' });
  expect(sample.json.code).toBe('SUBJECT_NOT_FOUND');
  const { sampleSubjects } = await import('../src/demo/registries.ts');
  person = sampleSubjects(t.f.registryPath(SANDU), 1).people[0]!;
  const applied = await fetch(new URL('/v1/cases', endpointOf(SANDU)), {
    method: 'POST',
    headers: { authorization: `Bearer ${tokens.clerk}`, 'content-type': 'application/json' },
    body: JSON.stringify({ itemCode: 'N034', mode: 'online', competentNodes: ['330523'], applicant: person }),
  });
  caseId = ((await applied.json()) as { case: { id: string } }).case.id;
}, 60_000);
afterAll(async () => {
  await t?.stop();
});

const exchangeBody = (overrides: Record<string, unknown> = {}) => ({
  requestId: randomUUID(),
  requester: '330523',
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
  requester: '310118',
  provider: SANDU,
  agreementId: HUB_AGREEMENT,
  itemCode: 'N034',
  service: 'household.residence-proof',
  purpose: '户籍类证明开具',
  fields: ['name'],
  ...overrides,
});
const operatorToken = (server: Server) => t.f.operatorToken(server);

/** Representative calls: at least one per documented operation, errors included. */
const calls: Array<[string, Call]> = [
  // Public reference data.
  ['health', { server: SANDU, method: 'GET', template: '/health', send: http(SANDU, 'GET', '/health') }],
  ['hub health', { server: HUB, method: 'GET', template: '/health', send: http(HUB, 'GET', '/health') }],
  ['liveness', { server: SANDU, method: 'GET', template: '/health/live', send: http(SANDU, 'GET', '/health/live') }],
  ['hub liveness', { server: HUB, method: 'GET', template: '/health/live', send: http(HUB, 'GET', '/health/live') }],
  ['readiness', { server: SANDU, method: 'GET', template: '/health/ready', send: http(SANDU, 'GET', '/health/ready') }],
  ['hub readiness', { server: HUB, method: 'GET', template: '/health/ready', send: http(HUB, 'GET', '/health/ready') }],
  ['metrics', { server: SANDU, method: 'GET', template: '/metrics', send: async () => http(SANDU, 'GET', '/metrics', { token: operatorToken(SANDU) })() }],
  ['metrics: no token', { server: SANDU, method: 'GET', template: '/metrics', send: http(SANDU, 'GET', '/metrics') }],
  ['hub metrics', { server: HUB, method: 'GET', template: '/metrics', send: async () => http(HUB, 'GET', '/metrics', { token: operatorToken(HUB) })() }],
  ['hub metrics: no token', { server: HUB, method: 'GET', template: '/metrics', send: http(HUB, 'GET', '/metrics') }],
  ['node identity', { server: HUB, method: 'GET', template: '/v1/node', send: http(HUB, 'GET', '/v1/node') }],
  ['validate a standard', { server: SANDU, method: 'POST', template: '/v1/standards/validate', send: http(SANDU, 'POST', '/v1/standards/validate', { body: { kind: 'uscc', value: '914403001922038216' } }) }],
  ['validate: wrong types', { server: SANDU, method: 'POST', template: '/v1/standards/validate', send: http(SANDU, 'POST', '/v1/standards/validate', { body: { kind: 'id', value: 42 } }) }],
  ['validate: malformed JSON', { server: SANDU, method: 'POST', template: '/v1/standards/validate', send: http(SANDU, 'POST', '/v1/standards/validate', { raw: '{"kind":' }) }],
  ['validate: text/plain', { server: SANDU, method: 'POST', template: '/v1/standards/validate', send: http(SANDU, 'POST', '/v1/standards/validate', { raw: 'kind=id', type: 'text/plain' }) }],
  ['validate: too large', { server: SANDU, method: 'POST', template: '/v1/standards/validate', send: http(SANDU, 'POST', '/v1/standards/validate', { raw: JSON.stringify({ kind: 'id', value: 'x'.repeat(2_000_000) }) }) }],
  ['a division', { server: SANDU, method: 'GET', template: '/v1/divisions/{code}', send: http(SANDU, 'GET', '/v1/divisions/522732') }],
  ['no such division', { server: SANDU, method: 'GET', template: '/v1/divisions/{code}', send: http(SANDU, 'GET', '/v1/divisions/999999') }],
  ['division search', { server: SANDU, method: 'GET', template: '/v1/divisions', send: http(SANDU, 'GET', '/v1/divisions?q=' + encodeURIComponent('三都')) }],
  ['catalogue', { server: SANDU, method: 'GET', template: '/v1/catalog/items', send: http(SANDU, 'GET', '/v1/catalog/items?mode=joint') }],
  ['catalogue: bad mode', { server: SANDU, method: 'GET', template: '/v1/catalog/items', send: http(SANDU, 'GET', '/v1/catalog/items?mode=fax') }],
  ['an item', { server: SANDU, method: 'GET', template: '/v1/catalog/items/{code}', send: http(SANDU, 'GET', '/v1/catalog/items/N034') }],
  ['no such item', { server: SANDU, method: 'GET', template: '/v1/catalog/items/{code}', send: http(SANDU, 'GET', '/v1/catalog/items/N999') }],

  // Directory (hub).
  ['snapshot', { server: HUB, method: 'GET', template: '/v1/directory/snapshot', send: http(HUB, 'GET', '/v1/directory/snapshot') }],
  ['enrolment: unsigned', { server: HUB, method: 'POST', template: '/v1/directory/enrolments', send: http(HUB, 'POST', '/v1/directory/enrolments', { body: {} }) }],
  ['directory nodes (admin)', { server: HUB, method: 'GET', template: '/v1/directory/nodes', send: async () => http(HUB, 'GET', '/v1/directory/nodes', { token: t.f.adminToken() })() }],
  ['directory nodes: no token', { server: HUB, method: 'GET', template: '/v1/directory/nodes', send: http(HUB, 'GET', '/v1/directory/nodes') }],
  ['approve: already approved', { server: HUB, method: 'POST', template: '/v1/directory/nodes/{division}/approve', send: async () => http(HUB, 'POST', '/v1/directory/nodes/330523/approve', { token: t.f.adminToken() })() }],
  ['suspend (admin)', { server: HUB, method: 'POST', template: '/v1/directory/nodes/{division}/suspend', send: async () => http(HUB, 'POST', '/v1/directory/nodes/330523/suspend', { token: t.f.adminToken() })() }],
  ['suspend: already suspended', { server: HUB, method: 'POST', template: '/v1/directory/nodes/{division}/suspend', send: async () => http(HUB, 'POST', '/v1/directory/nodes/330523/suspend', { token: t.f.adminToken() })() }],
  ['approve a suspended node (admin)', { server: HUB, method: 'POST', template: '/v1/directory/nodes/{division}/approve', send: async () => {
    const answer = await http(HUB, 'POST', '/v1/directory/nodes/330523/approve', { token: t.f.adminToken() })();
    // Anji is published again: the nodes that check its signatures below learn it now.
    for (const division of [SANDU, '330523']) await t.operator(division, '/v1/operator/directory/refresh', {});
    return answer;
  } }],
  ['revoke: no token', { server: HUB, method: 'POST', template: '/v1/directory/nodes/{division}/revoke', send: http(HUB, 'POST', '/v1/directory/nodes/330523/revoke') }],
  ['revoke: not enrolled', { server: HUB, method: 'POST', template: '/v1/directory/nodes/{division}/revoke', send: async () => http(HUB, 'POST', '/v1/directory/nodes/440300/revoke', { token: t.f.adminToken() })() }],
  ['reject: approved, not requested', { server: HUB, method: 'POST', template: '/v1/directory/nodes/{division}/reject', send: async () => http(HUB, 'POST', '/v1/directory/nodes/330523/reject', { token: t.f.adminToken() })() }],
  ['suspend: no token', { server: HUB, method: 'POST', template: '/v1/directory/nodes/{division}/suspend', send: http(HUB, 'POST', '/v1/directory/nodes/330523/suspend') }],
  ['suspend: not enrolled', { server: HUB, method: 'POST', template: '/v1/directory/nodes/{division}/suspend', send: async () => http(HUB, 'POST', '/v1/directory/nodes/440300/suspend', { token: t.f.adminToken() })() }],

  ['reject: not enrolled', { server: HUB, method: 'POST', template: '/v1/directory/nodes/{division}/reject', send: async () => http(HUB, 'POST', '/v1/directory/nodes/440300/reject', { token: t.f.adminToken() })() }],
  ['remove: not enrolled', { server: HUB, method: 'POST', template: '/v1/directory/nodes/{division}/remove', send: async () => http(HUB, 'POST', '/v1/directory/nodes/440300/remove', { token: t.f.adminToken() })() }],
  ['change requests: page too large', { server: HUB, method: 'GET', template: '/v1/directory/changes', send: async () => http(HUB, 'GET', '/v1/directory/changes?limit=1001', { token: t.f.adminToken() })() }],
  ['directory nodes: page too large', { server: HUB, method: 'GET', template: '/v1/directory/nodes', send: async () => http(HUB, 'GET', '/v1/directory/nodes?limit=1001', { token: t.f.adminToken() })() }],
  ['change requests (admin)', { server: HUB, method: 'GET', template: '/v1/directory/changes', send: async () => http(HUB, 'GET', '/v1/directory/changes', { token: t.f.adminToken() })() }],
  ['approve change: none pending', { server: HUB, method: 'POST', template: '/v1/directory/changes/{division}/approve', send: async () => http(HUB, 'POST', '/v1/directory/changes/330523/approve', { token: t.f.adminToken() })() }],
  ['reject change: no token', { server: HUB, method: 'POST', template: '/v1/directory/changes/{division}/reject', send: http(HUB, 'POST', '/v1/directory/changes/330523/reject') }],
  ['rotation: unsigned', { server: HUB, method: 'POST', template: '/v1/directory/rotations', send: http(HUB, 'POST', '/v1/directory/rotations', { body: {} }) }],
  ['rotation: malformed, signed', { server: HUB, method: 'POST', template: '/v1/directory/rotations', send: signed('330523', HUB, '/v1/directory/rotations', () => ({})) }],
  ['rotation status', { server: HUB, method: 'POST', template: '/v1/directory/rotations/status', send: signed('330523', HUB, '/v1/directory/rotations/status', () => ({ kid: t.key('330523').kid })) }],
  ['rotation status: unsigned', { server: HUB, method: 'POST', template: '/v1/directory/rotations/status', send: http(HUB, 'POST', '/v1/directory/rotations/status', { body: { kid: '330523:xxxxxxxx' } }) }],
  // Agreements.
  ['register: unsigned', { server: HUB, method: 'POST', template: '/v1/agreements', send: http(HUB, 'POST', '/v1/agreements', { body: {} }) }],
  ['register: malformed, signed', { server: HUB, method: 'POST', template: '/v1/agreements', send: signed('330523', HUB, '/v1/agreements', () => ({ agreement: {} })) }],
  ['an agreement', { server: HUB, method: 'GET', template: '/v1/agreements/{id}', send: http(HUB, 'GET', `/v1/agreements/${SANDU_ANJI}`) }],
  ['no such agreement', { server: HUB, method: 'GET', template: '/v1/agreements/{id}', send: http(HUB, 'GET', '/v1/agreements/AGR-NO-SUCH') }],
  ['sign: malformed', { server: SANDU, method: 'POST', template: '/v1/operator/agreements/sign', send: async () => http(SANDU, 'POST', '/v1/operator/agreements/sign', { token: operatorToken(SANDU), body: {} })() }],
  ['submit: malformed', { server: SANDU, method: 'POST', template: '/v1/operator/agreements/submit', send: async () => http(SANDU, 'POST', '/v1/operator/agreements/submit', { token: operatorToken(SANDU), body: {} })() }],
  ['hub sign: no token', { server: HUB, method: 'POST', template: '/v1/operator/agreements/sign', send: http(HUB, 'POST', '/v1/operator/agreements/sign', { body: {} }) }],

  // Exchange.
  ['bridge exchange', { server: SANDU, method: 'POST', template: '/v1/exchange', send: signed('330523', SANDU, '/v1/exchange', () => exchangeBody()) }],
  ['bridge exchange: field not granted', { server: SANDU, method: 'POST', template: '/v1/exchange', send: signed('330523', SANDU, '/v1/exchange', () => exchangeBody({ fields: ['householdRelation'] })) }],
  ['bridge exchange: no such subject', { server: SANDU, method: 'POST', template: '/v1/exchange', send: signed('330523', SANDU, '/v1/exchange', () => exchangeBody({ subject: { type: 'idNumber', value: '11010519491231002X' } })) }],
  ['bridge exchange: unsigned', { server: SANDU, method: 'POST', template: '/v1/exchange', send: http(SANDU, 'POST', '/v1/exchange', { body: {} }) }],
  ['relayed: sealed refusal', { server: SANDU, method: 'POST', template: '/v1/exchange/relayed', send: signed(HUB, SANDU, '/v1/exchange/relayed', () => ({ envelope: envelope(), payload: 'not-a-jwe-at-all' })) }],
  ['relayed: not from the hub', { server: SANDU, method: 'POST', template: '/v1/exchange/relayed', send: signed('330523', SANDU, '/v1/exchange/relayed', () => ({ envelope: envelope(), payload: 'not-a-jwe-at-all' })) }],
  ['relay', { server: HUB, method: 'POST', template: '/v1/relay', send: signed('310118', HUB, '/v1/relay', () => ({ envelope: envelope(), payload: 'not-a-jwe-at-all' })) }],
  ['relay: outside the agreement', { server: HUB, method: 'POST', template: '/v1/relay', send: signed('310118', HUB, '/v1/relay', () => ({ envelope: envelope({ fields: ['householdRelation'] }), payload: 'not-a-jwe-at-all' })) }],
  ['relay: unsigned', { server: HUB, method: 'POST', template: '/v1/relay', send: http(HUB, 'POST', '/v1/relay', { body: {} }) }],

  // Audit.
  ['checkpoint: unsigned', { server: HUB, method: 'POST', template: '/v1/audit/checkpoints', send: http(HUB, 'POST', '/v1/audit/checkpoints', { body: {} }) }],
  ['checkpoints of a node', { server: HUB, method: 'GET', template: '/v1/audit/checkpoints/{division}', send: http(HUB, 'GET', '/v1/audit/checkpoints/522732') }],
  ['operator audit', { server: SANDU, method: 'GET', template: '/v1/operator/audit', send: async () => http(SANDU, 'GET', '/v1/operator/audit?from=1&limit=3', { token: operatorToken(SANDU) })() }],
  ['operator outbox', { server: SANDU, method: 'GET', template: '/v1/operator/outbox', send: async () => http(SANDU, 'GET', '/v1/operator/outbox', { token: operatorToken(SANDU) })() }],
  ['audit incidents (admin)', { server: HUB, method: 'GET', template: '/v1/audit/incidents', send: async () => http(HUB, 'GET', '/v1/audit/incidents', { token: t.f.adminToken() })() }],
  ['operator audit: no token', { server: HUB, method: 'GET', template: '/v1/operator/audit', send: http(HUB, 'GET', '/v1/operator/audit') }],

  // Operator API.
  ['operator exchange', { server: '330523', method: 'POST', template: '/v1/operator/exchange', send: async () => http('330523', 'POST', '/v1/operator/exchange', { token: operatorToken('330523'), body: { provider: SANDU, service: 'household.residence-proof', subject: { type: 'idNumber', value: person.idNumber }, purpose: '户籍类证明开具' } })() }],
  ['operator exchange through the hub: refused', { server: '310118', method: 'POST', template: '/v1/operator/exchange', send: async () => http('310118', 'POST', '/v1/operator/exchange', { token: operatorToken('310118'), body: { provider: SANDU, service: 'household.residence-proof', subject: { type: 'idNumber', value: '11010519491231002X' }, purpose: '户籍类证明开具' } })() }],
  ['operator exchange: malformed JSON, no token', { server: SANDU, method: 'POST', template: '/v1/operator/exchange', send: http(SANDU, 'POST', '/v1/operator/exchange', { raw: '{"provider":' }) }],
  ['operator exchange: invalid', { server: SANDU, method: 'POST', template: '/v1/operator/exchange', send: async () => http(SANDU, 'POST', '/v1/operator/exchange', { token: operatorToken(SANDU), body: { provider: 'x' } })() }],
  ['operator keys', { server: SANDU, method: 'GET', template: '/v1/operator/keys', send: async () => http(SANDU, 'GET', '/v1/operator/keys', { token: operatorToken(SANDU) })() }],
  ['rotate: not the current key', { server: SANDU, method: 'POST', template: '/v1/operator/keys/rotate', send: async () => http(SANDU, 'POST', '/v1/operator/keys/rotate', { token: operatorToken(SANDU), body: { currentKid: '522732:not-the-current-key' } })() }],
  ['rotate: no token', { server: SANDU, method: 'POST', template: '/v1/operator/keys/rotate', send: http(SANDU, 'POST', '/v1/operator/keys/rotate', { body: {} }) }],
  ['refresh', { server: SANDU, method: 'POST', template: '/v1/operator/directory/refresh', send: async () => http(SANDU, 'POST', '/v1/operator/directory/refresh', { token: operatorToken(SANDU) })() }],
  ['operator directory', { server: SANDU, method: 'GET', template: '/v1/operator/directory', send: async () => http(SANDU, 'GET', '/v1/operator/directory', { token: operatorToken(SANDU) })() }],
  ['hub operator directory', { server: HUB, method: 'GET', template: '/v1/operator/directory', send: async () => http(HUB, 'GET', '/v1/operator/directory', { token: operatorToken(HUB) })() }],
  ['account', { server: SANDU, method: 'POST', template: '/v1/operator/accounts', send: async () => http(SANDU, 'POST', '/v1/operator/accounts', { token: operatorToken(SANDU), body: { id: 'conf-' + randomUUID().slice(0, 8), role: 'approver', name: '李' } })() }],
  ['account: invalid ID number', { server: SANDU, method: 'POST', template: '/v1/operator/accounts', send: async () => http(SANDU, 'POST', '/v1/operator/accounts', { token: operatorToken(SANDU), body: { id: 'conf-bad', role: 'applicant', name: '李', idNumber: '110105194912310021' } })() }],

  // Cases.
  ['apply', { server: SANDU, method: 'POST', template: '/v1/cases', send: async () => http(SANDU, 'POST', '/v1/cases', { token: tokens.clerk, body: { itemCode: 'N034', mode: 'online', competentNodes: ['330523'], applicant: person } })() }],
  ['apply: no token', { server: SANDU, method: 'POST', template: '/v1/cases', send: http(SANDU, 'POST', '/v1/cases', { body: {} }) }],
  ['apply: no such item', { server: SANDU, method: 'POST', template: '/v1/cases', send: async () => http(SANDU, 'POST', '/v1/cases', { token: tokens.clerk, body: { itemCode: 'N999', mode: 'online', competentNodes: ['330523'], applicant: person } })() }],
  ['list', { server: SANDU, method: 'GET', template: '/v1/cases', send: async () => http(SANDU, 'GET', '/v1/cases?limit=5', { token: tokens.clerk })() }],
  ['one case', { server: SANDU, method: 'GET', template: '/v1/cases/{id}', send: async () => http(SANDU, 'GET', `/v1/cases/${caseId}`, { token: tokens.clerk })() }],
  ['no such case', { server: SANDU, method: 'GET', template: '/v1/cases/{id}', send: async () => http(SANDU, 'GET', '/v1/cases/C-522732-NOPE', { token: tokens.clerk })() }],
  ['an action the state forbids', { server: SANDU, method: 'POST', template: '/v1/cases/{id}/actions/{action}', send: async () => http(SANDU, 'POST', `/v1/cases/${caseId}/actions/conclude`, { token: tokens.clerk, body: {} })() }],
  ['evidence', { server: SANDU, method: 'POST', template: '/v1/cases/{id}/evidence', send: async () => http(SANDU, 'POST', `/v1/cases/${caseId}/evidence`, { token: tokens.clerk, body: { provider: '330523', service: 'household.residence-proof', purpose: '户籍类证明开具' } })() }],
  ['thread: page too large', { server: SANDU, method: 'GET', template: '/v1/cases/{id}/thread', send: async () => http(SANDU, 'GET', `/v1/cases/${caseId}/thread?limit=501`, { token: tokens.clerk })() }],
  ['thread', { server: SANDU, method: 'GET', template: '/v1/cases/{id}/thread', send: async () => http(SANDU, 'GET', `/v1/cases/${caseId}/thread`, { token: tokens.clerk })() }],
  ['post to the thread', { server: SANDU, method: 'POST', template: '/v1/cases/{id}/thread', send: async () => http(SANDU, 'POST', `/v1/cases/${caseId}/thread`, { token: tokens.clerk, body: { text: '请核对材料' } })() }],
  ['inbox: unsigned', { server: SANDU, method: 'POST', template: '/v1/cases/inbox', send: http(SANDU, 'POST', '/v1/cases/inbox', { body: {} }) }],
  ['inbox: malformed, signed', { server: SANDU, method: 'POST', template: '/v1/cases/inbox', send: signed('330523', SANDU, '/v1/cases/inbox', () => ({ id: 'm-1', kind: 'case.nothing', payload: {} })) }],

  ['inbox: a thread message', { server: SANDU, method: 'POST', template: '/v1/cases/inbox', send: signedAsync('330523', SANDU, '/v1/cases/inbox', async () => ({ id: randomUUID(), kind: 'case.message', payload: await threadMessage(caseId) })) }],
  ['inbox: an id reused', { server: SANDU, method: 'POST', template: '/v1/cases/inbox', send: () => reusedId(SANDU, '/v1/cases/inbox', false) }],
  ['inbox: a case not held yet', { server: SANDU, method: 'POST', template: '/v1/cases/inbox', send: signedAsync('330523', SANDU, '/v1/cases/inbox', async () => ({ id: randomUUID(), kind: 'case.message', payload: await threadMessage('C-522732-20261130NOTYET') })) }],
  ['inbox: a node outside the case', { server: SANDU, method: 'POST', template: '/v1/cases/inbox', send: signedAsync('310118', SANDU, '/v1/cases/inbox', async () => ({ id: randomUUID(), kind: 'case.message', payload: await threadMessage(caseId, '?', '310118') })) }],
  ['inbox: a step the state machine refuses', { server: SANDU, method: 'POST', template: '/v1/cases/inbox', send: signed('330523', SANDU, '/v1/cases/inbox', () => ({ id: randomUUID(), kind: 'case.transition', payload: { caseId, action: 'withdraw', actor: { node: '330523', id: 'conf', role: 'clerk' }, at: new Date().toISOString(), input: { reason: 'x' } } })) }],

  // Node-to-node messages.
  ['messages: a thread message', { server: SANDU, method: 'POST', template: '/v1/messages/inbox', send: signedAsync('330523', SANDU, '/v1/messages/inbox', async () => message('case.message', await threadMessage(caseId))) }],
  ['messages: an id reused for another message', { server: SANDU, method: 'POST', template: '/v1/messages/inbox', send: () => reusedId(SANDU, '/v1/messages/inbox', false) }],
  ['messages: a case this node does not hold yet', { server: SANDU, method: 'POST', template: '/v1/messages/inbox', send: signedAsync('330523', SANDU, '/v1/messages/inbox', async () => message('case.message', await threadMessage('C-522732-20261130NOTYET'))) }],
  ['messages: unknown kind', { server: SANDU, method: 'POST', template: '/v1/messages/inbox', send: signed('330523', SANDU, '/v1/messages/inbox', () => message('test.nothing', {})) }],
  ['messages: author not the signer', { server: SANDU, method: 'POST', template: '/v1/messages/inbox', send: signed('330523', SANDU, '/v1/messages/inbox', () => message('case.message', {}, { from: '310118' })) }],
  ['messages: malformed, signed', { server: SANDU, method: 'POST', template: '/v1/messages/inbox', send: signed('330523', SANDU, '/v1/messages/inbox', () => ({ id: 'm-1' })) }],
  ['messages at the hub: malformed, signed', { server: HUB, method: 'POST', template: '/v1/messages/inbox', send: signed('330523', HUB, '/v1/messages/inbox', () => ({ id: 'm-1' })) }],
  ['relay a message: malformed, signed', { server: HUB, method: 'POST', template: '/v1/messages/relay', send: signed('330523', HUB, '/v1/messages/relay', () => ({ id: 'm-1' })) }],
  ['messages: unsigned', { server: SANDU, method: 'POST', template: '/v1/messages/inbox', send: http(SANDU, 'POST', '/v1/messages/inbox', { body: {} }) }],
  ['messages at the hub: unknown kind', { server: HUB, method: 'POST', template: '/v1/messages/inbox', send: signed('330523', HUB, '/v1/messages/inbox', () => message('test.nothing', {}, { to: HUB })) }],
  ['messages at the hub: a case it does not hold', { server: HUB, method: 'POST', template: '/v1/messages/inbox', send: signedAsync('330523', HUB, '/v1/messages/inbox', async () => message('case.message', await threadMessage('C-522732-20261130NOTYET'), { to: HUB })) }],
  ['messages at the hub: author not the signer', { server: HUB, method: 'POST', template: '/v1/messages/inbox', send: signed('330523', HUB, '/v1/messages/inbox', () => message('case.message', {}, { from: '310118', to: HUB })) }],
  ['messages at the hub: unsigned', { server: HUB, method: 'POST', template: '/v1/messages/inbox', send: http(HUB, 'POST', '/v1/messages/inbox', { body: {} }) }],
  ['relay a message', { server: HUB, method: 'POST', template: '/v1/messages/relay', send: relayed(async () => message('case.message', await threadMessage(caseId))) }],
  ['relay a message: id reused', { server: HUB, method: 'POST', template: '/v1/messages/relay', send: () => reusedId(HUB, '/v1/messages/relay', true) }],
  ['relay a message: not held yet at the destination', { server: HUB, method: 'POST', template: '/v1/messages/relay', send: relayed(async () => message('case.message', await threadMessage('C-522732-20261130NOTYET'))) }],
  ['relay a message: unknown kind at the destination', { server: HUB, method: 'POST', template: '/v1/messages/relay', send: relayed(async () => message('test.nothing', {})) }],
  ['relay a message: author not the signer', { server: HUB, method: 'POST', template: '/v1/messages/relay', send: relayed(async () => message('case.message', {}, { from: '310118' })) }],
  ['relay a message: unsigned', { server: HUB, method: 'POST', template: '/v1/messages/relay', send: http(HUB, 'POST', '/v1/messages/relay', { body: {} }) }],
  ['events', { server: SANDU, method: 'GET', template: '/v1/cases/events', send: async () => http(SANDU, 'GET', '/v1/cases/events', { token: tokens.clerk })() }],
  ['events: no token', { server: SANDU, method: 'GET', template: '/v1/cases/events', send: http(SANDU, 'GET', '/v1/cases/events') }],

  // Agreement lifecycle (last: the bridge agreement is suspended and resumed on the way).
  ['agreement suspend', { server: SANDU, method: 'POST', template: '/v1/operator/agreements/{id}/suspend', send: async () => {
    const answer = await http(SANDU, 'POST', `/v1/operator/agreements/${SANDU_ANJI}/suspend`, { token: operatorToken(SANDU), body: { reason: 'conformance' } })();
    stateChange = (answer.body as { jws: string }).jws;
    return answer;
  } }],
  ['agreement suspend: already suspended', { server: SANDU, method: 'POST', template: '/v1/operator/agreements/{id}/suspend', send: async () => http(SANDU, 'POST', `/v1/operator/agreements/${SANDU_ANJI}/suspend`, { token: operatorToken(SANDU), body: { reason: 'again' } })() }],
  ['agreement resume: no reason', { server: SANDU, method: 'POST', template: '/v1/operator/agreements/{id}/resume', send: async () => http(SANDU, 'POST', `/v1/operator/agreements/${SANDU_ANJI}/resume`, { token: operatorToken(SANDU), body: {} })() }],
  ['agreement resume', { server: SANDU, method: 'POST', template: '/v1/operator/agreements/{id}/resume', send: async () => http(SANDU, 'POST', `/v1/operator/agreements/${SANDU_ANJI}/resume`, { token: operatorToken(SANDU), body: { reason: 'conformance done' } })() }],
  ['agreement terminate: no token', { server: SANDU, method: 'POST', template: '/v1/operator/agreements/{id}/terminate', send: http(SANDU, 'POST', `/v1/operator/agreements/${SANDU_ANJI}/terminate`, { body: { reason: 'x' } }) }],
  ['agreement terminate: no such agreement', { server: SANDU, method: 'POST', template: '/v1/operator/agreements/{id}/terminate', send: async () => http(SANDU, 'POST', '/v1/operator/agreements/AGR-NO-SUCH/terminate', { token: operatorToken(SANDU), body: { reason: 'x' } })() }],
  ['state change: held already', { server: HUB, method: 'POST', template: '/v1/agreements/{id}/state', send: signed(SANDU, HUB, `/v1/agreements/${SANDU_ANJI}/state`, () => ({ change: stateChange })) }],
  ['state change: unsigned', { server: HUB, method: 'POST', template: '/v1/agreements/{id}/state', send: http(HUB, 'POST', `/v1/agreements/${SANDU_ANJI}/state`, { body: {} }) }],
  ['state change: malformed, signed', { server: HUB, method: 'POST', template: '/v1/agreements/{id}/state', send: signed('330523', HUB, `/v1/agreements/${SANDU_ANJI}/state`, () => ({})) }],
  ['state change: another party’s, sent by Anji', { server: HUB, method: 'POST', template: '/v1/agreements/{id}/state', send: signed('330523', HUB, `/v1/agreements/${SANDU_ANJI}/state`, () => ({ change: stateChange })) }],
  ['state change: from a non-party', { server: SANDU, method: 'POST', template: '/v1/agreements/{id}/state', send: signed('310118', SANDU, `/v1/agreements/${SANDU_ANJI}/state`, () => ({ change: stateChange })) }],
  ['state change: from a non-party, at the hub', { server: HUB, method: 'POST', template: '/v1/agreements/{id}/state', send: signed('310118', HUB, `/v1/agreements/${SANDU_ANJI}/state`, () => ({ change: stateChange })) }],
  ['state change: the party’s own, held already', { server: SANDU, method: 'POST', template: '/v1/agreements/{id}/state', send: signed(SANDU, SANDU, `/v1/agreements/${SANDU_ANJI}/state`, () => ({ change: stateChange })) }],
  ['state change at a node: unsigned', { server: SANDU, method: 'POST', template: '/v1/agreements/{id}/state', send: http(SANDU, 'POST', `/v1/agreements/${SANDU_ANJI}/state`, { body: {} }) }],
  ['state change at a node: another party’s', { server: SANDU, method: 'POST', template: '/v1/agreements/{id}/state', send: signed('330523', SANDU, `/v1/agreements/${SANDU_ANJI}/state`, () => ({ change: stateChange })) }],
  ['agreement suspend: no token', { server: SANDU, method: 'POST', template: '/v1/operator/agreements/{id}/suspend', send: http(SANDU, 'POST', `/v1/operator/agreements/${SANDU_ANJI}/suspend`, { body: { reason: 'x' } }) }],
  ['agreement suspend: no such agreement', { server: SANDU, method: 'POST', template: '/v1/operator/agreements/{id}/suspend', send: async () => http(SANDU, 'POST', '/v1/operator/agreements/AGR-NO-SUCH/suspend', { token: operatorToken(SANDU), body: { reason: 'x' } })() }],
  ['agreement resume: no token', { server: SANDU, method: 'POST', template: '/v1/operator/agreements/{id}/resume', send: http(SANDU, 'POST', `/v1/operator/agreements/${SANDU_ANJI}/resume`, { body: { reason: 'x' } }) }],
  ['agreement resume: no such agreement', { server: SANDU, method: 'POST', template: '/v1/operator/agreements/{id}/resume', send: async () => http(SANDU, 'POST', '/v1/operator/agreements/AGR-NO-SUCH/resume', { token: operatorToken(SANDU), body: { reason: 'x' } })() }],
  ['agreement resume: active', { server: SANDU, method: 'POST', template: '/v1/operator/agreements/{id}/resume', send: async () => http(SANDU, 'POST', `/v1/operator/agreements/${SANDU_ANJI}/resume`, { token: operatorToken(SANDU), body: { reason: 'x' } })() }],
  ['agreement terminate: no reason', { server: SANDU, method: 'POST', template: '/v1/operator/agreements/{id}/terminate', send: async () => http(SANDU, 'POST', '/v1/operator/agreements/AGR-522732-320400-001/terminate', { token: operatorToken(SANDU), body: {} })() }],
  ['agreement terminate (the Changzhou bridge; last)', { server: SANDU, method: 'POST', template: '/v1/operator/agreements/{id}/terminate', send: async () => http(SANDU, 'POST', '/v1/operator/agreements/AGR-522732-320400-001/terminate', { token: operatorToken(SANDU), body: { reason: 'conformance' } })() }],
  ['agreement terminate: terminated', { server: SANDU, method: 'POST', template: '/v1/operator/agreements/{id}/terminate', send: async () => http(SANDU, 'POST', '/v1/operator/agreements/AGR-522732-320400-001/terminate', { token: operatorToken(SANDU), body: { reason: 'again' } })() }],
  ['state change: a fork', { server: SANDU, method: 'POST', template: '/v1/agreements/{id}/state', send: async () => {
    const agreement = Agreement.parse(((await (await fetch(new URL(`/v1/agreements/${SANDU_ANJI}`, endpointOf(HUB)))).json()) as { agreement: unknown }).agreement);
    const fork = await signStateChange(nextStateChange(emptyLifecycle(SANDU_ANJI), agreement, 'suspend', { party: '330523', actor: 'op' }, 'fork', new Date()), t.key('330523'));
    return signed('330523', SANDU, `/v1/agreements/${SANDU_ANJI}/state`, () => ({ change: fork }))();
  } }],
  ['state change: a fork, at the hub', { server: HUB, method: 'POST', template: '/v1/agreements/{id}/state', send: async () => {
    const agreement = Agreement.parse(((await (await fetch(new URL(`/v1/agreements/${SANDU_ANJI}`, endpointOf(HUB)))).json()) as { agreement: unknown }).agreement);
    const fork = await signStateChange(nextStateChange(emptyLifecycle(SANDU_ANJI), agreement, 'suspend', { party: '330523', actor: 'op' }, 'fork', new Date()), t.key('330523'));
    return signed('330523', HUB, `/v1/agreements/${SANDU_ANJI}/state`, () => ({ change: fork }))();
  } }],
];
let stateChange = '';

describe('OpenAPI conformance: real answers against each server’s own /openapi.json', () => {
  for (const [name, call] of calls) {
    it(`${call.method} ${call.template} (${call.server === HUB ? 'hub' : 'node ' + call.server}): ${name}`, async () => {
      const answer = await call.send();
      const doc = docOf(call.server);
      expect(nonConformance(doc, call.method, call.template, answer)).toEqual([]);
      seen.add(`${docKey(call.server)}|${call.method} ${call.template}|${answer.status}`);
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
      const doc = docs.get(server)!;
      for (const [template, methods] of Object.entries(doc.paths)) {
        const operation = methods.post;
        if (!operation) continue;
        // The caller's credentials, so the body parser (not the bearer check) answers.
        const scheme = Object.keys(operation.security?.[0] ?? {})[0];
        const token = scheme === 'operatorBearer' ? operatorToken(server) : scheme === 'adminBearer' ? t.f.adminToken() : scheme === 'accountBearer' ? tokens.clerk : undefined;
        const path = template.replace('{division}', '330523').replace('{id}', caseId).replace('{action}', 'conclude');
        for (const [status, body] of [
          [400, { raw: '{"broken":' }],
          [413, { raw: JSON.stringify({ padding: 'x'.repeat(2_000_000) }) }],
          [415, { raw: 'a=b', type: 'text/plain' }],
        ] as const) {
          const answer = await http(server, 'POST', path, { ...(token ? { token } : {}), ...body })();
          expect(nonConformance(doc, 'POST', template, answer), `${server} POST ${template}`).toEqual([]);
          // Signed routes parse their raw bytes themselves: malformed JSON without a signature is a 401 there.
          const credentialed = scheme !== 'accountBearer' || server === SANDU;
          if (credentialed && (status !== 400 || !scheme?.endsWith('Signature'))) expect(answer.status, `${server} POST ${template}`).toBe(status);
          seen.add(`${server}|POST ${template}|${answer.status}`);
        }
      }
    }
  });

  it('every documented status of every operation has been answered for real, or is listed here with the reason it is not provoked', () => {
    const exempt: Array<[RegExp, number, string]> = [
      [/./, 500, 'an unexpected error: provoking one needs a fault injected into the server'],
      [/./, 503, 'database down, directory expired or server closing: it would end the shared federation; /health/ready answers 503 in test/operations.test.ts'],
      [/./, 429, 'the test federation lifts the rate limits (1,000,000 per window); test/rate-limit.test.ts and test/limits.test.ts provoke 429'],
      [/./, 502, 'a peer or registry answering wrongly or not at all: test/exchange-trust-contract.ts provokes PEER_UNREACHABLE and SERVICE_UNAVAILABLE'],
    ];
    const missing: string[] = [];
    for (const server of [SANDU, HUB] as const) {
      for (const [template, methods] of Object.entries(docs.get(server)!.paths)) {
        for (const [method, operation] of Object.entries(methods)) {
          for (const status of Object.keys(operation.responses).map(Number)) {
            const op = `${method.toUpperCase()} ${template}`;
            if (seen.has(`${server}|${op}|${status}`)) continue;
            if (exempt.some(([pattern, s]) => s === status && pattern.test(op))) continue;
            missing.push(`${server === HUB ? 'hub' : 'node'} ${op} ${status}`);
          }
        }
      }
    }
    // Not done yet (issue 10 item 3): the pairs below are documented but no call provokes them.
    // The list may only shrink: a new unprovoked status fails, and so does one provoked but still listed.
    const baseline = JSON.parse(readFileSync(new URL('./openapi-unprovoked.json', import.meta.url), 'utf8')) as string[];
    if (process.env.TONGBAN_WRITE_UNPROVOKED) writeFileSync(new URL('./openapi-unprovoked.json', import.meta.url), JSON.stringify(missing.sort(), null, 2) + '\n');
    else expect(missing.sort()).toEqual(baseline);
  });

  it('every operation either server documents has a representative call', () => {
    for (const server of [SANDU, HUB] as const) {
      const documented = Object.entries(docs.get(server)!.paths).flatMap(([template, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${template}`));
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
