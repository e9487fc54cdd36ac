import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNode, openNode, type NodeRuntime } from '../src/node/index.ts';
import { listenNode } from '../src/server/index.ts';
import { freshSqliteFile } from './support/sqlite.ts';

const fixture = freshSqliteFile();
let runtime: NodeRuntime;
let app: FastifyInstance;
let endpoint: string;

// A regional hub needs no other server, so the generic routes are tested on one.
beforeAll(async () => {
  const result = await initNode({ dir: fixture.dir + '/node', division: '320400', role: 'hub', port: 0 });
  runtime = await openNode(result.configPath, { clock: () => new Date('2026-11-30T08:00:00Z'), env: {}, log: () => {} });
  const handle = await listenNode(runtime, { port: 0 });
  app = handle.app;
  endpoint = handle.endpoint;
});
afterAll(async () => {
  await app.close();
  await runtime.close();
  await fixture.drop();
});

const codeOf = async (res: Response) => ((await res.json()) as { code?: string }).code;

function expectProblem(res: { statusCode: number; headers: Record<string, unknown>; body: string }, status: number, code: string) {
  expect(res.statusCode).toBe(status);
  expect(String(res.headers['content-type'])).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(res.body);
  expect(body).toMatchObject({ status, code });
  expect(body.type).toMatch(/^https:\/\//);
  expect(typeof body.title).toBe('string');
  return body;
}

describe('node server', () => {
  it('answers /health over a real socket on an ephemeral port', async () => {
    const res = await fetch(endpoint + '/health');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: 'ok',
      node: { division: '320400', name: '常州市', role: 'hub' },
      store: 'sqlite',
      time: '2026-11-30T08:00:00.000Z',
      directory: { version: expect.any(Number), expiresAt: expect.any(String), usable: true },
    });
  });

  it('publishes its identity and public key, never the private half', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/node' });
    const body = JSON.parse(res.body);
    expect(body.keys).toHaveLength(1);
    expect(body.keys[0].kid).toBe(runtime.signingKey.kid);
    expect(body.keys[0].jwk).toEqual(runtime.signingKey.publicJwk);
    expect(res.body).not.toContain(runtime.signingKey.privateJwk.d);
  });

  it('validates standards by POST and keeps ID numbers out of URLs', async () => {
    const ok = await app.inject({ method: 'POST', url: '/v1/standards/validate', payload: { kind: 'uscc', value: '914403001922038216' } });
    expect(JSON.parse(ok.body)).toMatchObject({ valid: true, parsed: { areaCode: '440300' } });
    const bad = await app.inject({ method: 'POST', url: '/v1/standards/validate', payload: { kind: 'id', value: '110105194912310021' } });
    expect(bad.statusCode).toBe(200);
    expect(JSON.parse(bad.body)).toMatchObject({ valid: false, errors: [{ code: 'CHECK_CHARACTER' }] });
  });

  it('looks up and searches divisions', async () => {
    const one = JSON.parse((await app.inject({ method: 'GET', url: '/v1/divisions/522732' })).body);
    expect(one.fullName).toBe('贵州省黔南布依族苗族自治州三都水族自治县');
    const search = JSON.parse((await app.inject({ method: 'GET', url: '/v1/divisions?q=' + encodeURIComponent('青浦') })).body);
    expect(search.results[0].code).toBe('310118');
    expectProblem(await app.inject({ method: 'GET', url: '/v1/divisions/999999' }), 404, 'DIVISION_NOT_FOUND');
    expectProblem(await app.inject({ method: 'GET', url: '/v1/divisions/12' }), 400, 'VALIDATION_FAILED');
  });

  it('serves the catalogue', async () => {
    const all = JSON.parse((await app.inject({ method: 'GET', url: '/v1/catalog/items?mode=joint' })).body);
    expect(all.items.length).toBeGreaterThan(3);
    expect(all.items.every((i: { modes: string[] }) => i.modes.includes('joint'))).toBe(true);
    const item = JSON.parse((await app.inject({ method: 'GET', url: '/v1/catalog/items/N037' })).body);
    expect(item.name).toBe('婚姻登记');
    expectProblem(await app.inject({ method: 'GET', url: '/v1/catalog/items/N999' }), 404, 'ITEM_NOT_FOUND');
    expectProblem(await app.inject({ method: 'GET', url: '/v1/catalog/items?mode=fax' }), 400, 'VALIDATION_FAILED');
  });

  it.each([
    ['malformed JSON', { payload: '{"kind":"id"', headers: { 'content-type': 'application/json' } }, 400, 'BAD_REQUEST'],
    ['wrong types', { payload: { kind: 'id', value: 42 } }, 400, 'VALIDATION_FAILED'],
    ['missing body', { headers: { 'content-type': 'application/json' } }, 400, 'BAD_REQUEST'],
    ['invalid UTF-8 bytes', { payload: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), headers: { 'content-type': 'application/json' } }, 400, 'BAD_REQUEST'],
    ['unsupported media type', { payload: 'kind=id', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
    // docs/errors.md: a body that is not application/json is 415, text/plain included.
    ['a text/plain body', { payload: '{"kind":"id","value":"x"}', headers: { 'content-type': 'text/plain' } }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['body over the limit', { payload: JSON.stringify({ kind: 'id', value: 'x'.repeat(2_000_000) }), headers: { 'content-type': 'application/json' } }, 413, 'PAYLOAD_TOO_LARGE'],
  ] as const)('answers %s with problem+json', async (_name, request, status, code) => {
    const res = await app.inject({ method: 'POST', url: '/v1/standards/validate', ...request });
    expectProblem(res, status, code);
  });

  it('refuses operator and administrator calls without their token', async () => {
    expectProblem(await app.inject({ method: 'GET', url: '/v1/directory/nodes' }), 401, 'UNAUTHORIZED');
    expectProblem(
      await app.inject({ method: 'GET', url: '/v1/directory/nodes', headers: { authorization: 'Bearer ' + 'x'.repeat(32) } }),
      401,
      'UNAUTHORIZED',
    );
    expectProblem(await app.inject({ method: 'GET', url: '/v1/operator/audit' }), 401, 'UNAUTHORIZED');
    const ok = await app.inject({ method: 'GET', url: '/v1/directory/nodes', headers: { authorization: 'Bearer ' + runtime.adminToken } });
    expect(ok.statusCode).toBe(200);
  });

  it('checks the bearer token before the body is read: malformed, mistyped or oversized bodies of an unauthenticated caller get 401', async () => {
    for (const url of ['/v1/operator/agreements/sign', '/v1/operator/accounts', '/v1/directory/nodes/522732/approve', '/v1/cases']) {
      for (const [payload, type] of [
        ['{"provider":', 'application/json'],
        ['provider=1', 'text/plain'],
        ['x'.repeat(2_000_000), 'application/json'],
      ] as const) {
        const res = await fetch(endpoint + url, { method: 'POST', headers: { 'content-type': type }, body: payload });
        expect(res.status, `${url} ${type} ${payload.length}`).toBe(401);
        expect(await codeOf(res)).toBe('UNAUTHORIZED');
      }
    }
  });

  it('a non-ASCII bearer token of the right length is a 401, like any wrong token (no 500, no length oracle)', async () => {
    for (const [url, secret] of [
      ['/v1/operator/audit', runtime.operatorToken!],
      ['/v1/directory/nodes', runtime.adminToken!],
      ['/v1/cases', 'any-account-token-0123456789abcdef'],
    ] as const) {
      // Latin-1 characters travel in a header as single bytes; the server sees a string of the token's length.
      for (const token of ['é'.repeat(secret.length), 'é'.repeat(secret.length - 1) + 'a', '\u00ff'.repeat(7)]) {
        const res = await fetch(endpoint + url, { headers: { authorization: `Bearer ${token}` } });
        expect(res.status, `${url} ${token.length}`).toBe(401);
        expect(await codeOf(res)).toBe('UNAUTHORIZED');
      }
    }
  });

  it('operator accounts: machine clients take one staff role; an applicant account is refused (citizens sign in at the hub), and an old one is nobody', async () => {
    const auth = { authorization: 'Bearer ' + runtime.operatorToken, 'content-type': 'application/json' };
    const add = async (body: unknown) => {
      const res = await fetch(endpoint + '/v1/operator/accounts', { method: 'POST', headers: auth, body: JSON.stringify(body) });
      return { status: res.status, json: (await res.json()) as { code?: string; detail?: string; errors?: Array<{ path: string; message: string }>; token?: string; role?: string } };
    };
    // The applicant accounts of before: refused with or without the ID number they carried, saying where citizens go.
    for (const body of [
      { id: 'app-x', role: 'applicant', name: '张', idNumber: '11010519491231002X' },
      { id: 'app-y', role: 'applicant', name: '张' },
    ]) {
      const refused = await add(body);
      expect(refused.status).toBe(400);
      expect(refused.json.code).toBe('VALIDATION_FAILED');
      expect(refused.json.errors).toContainEqual({ path: 'body.role', message: expect.stringContaining('citizens sign in at the hub') });
    }
    // A staff-role client carrying an ID number: refused too, never stored with it.
    const withIdNumber = await add({ id: 'clerk-id', role: 'clerk', name: '王', idNumber: '11010519491231002X' });
    expect(withIdNumber.status).toBe(400);
    expect(withIdNumber.json.detail).toMatch(/acts for no citizen/);
    expect((await add({ id: 'clerk-typo', role: 'clark', name: '王' })).json.errors).toEqual([{ path: 'body.role', message: 'one of clerk, approver, supervisor, dataAdmin, operator' }]);
    const listed = (await (await fetch(endpoint + '/v1/operator/accounts', { headers: auth })).json()) as { clients: Array<{ id: string }> };
    for (const id of ['app-x', 'app-y', 'clerk-id', 'clerk-typo']) expect(listed.clients.map((c) => c.id)).not.toContain(id);

    const me = async (token: string) => fetch(endpoint + '/v1/auth/me', { headers: { authorization: `Bearer ${token}` } });
    const clerk = await add({ id: 'clerk-ok', role: 'clerk', name: '王' });
    expect(clerk).toMatchObject({ status: 201, json: { role: 'clerk' } });
    expect(await (await me(clerk.json.token!)).json()).toMatchObject({ subject: 'client:clerk-ok', kind: 'machine', roles: ['clerk'], node: '320400', via: 'machine-token' });
    // A row left with role applicant (one migration 016 did not see): its token is nobody, never a citizen.
    const legacy = 'legacy-applicant-token-0123456789abcdef';
    expect(await runtime.store.machineClients.add({ id: 'legacy-app', name: '张', role: 'applicant', createdAt: '2026-11-01T00:00:00.000Z' }, createHash('sha256').update(legacy).digest('hex'))).toBe(true);
    const refusedLegacy = await me(legacy);
    expect(refusedLegacy.status).toBe(401);
    expect(await codeOf(refusedLegacy)).toBe('UNAUTHORIZED');
  });

  it('answers an unknown route with NOT_FOUND and keeps the query string out of the problem', async () => {
    const body = expectProblem(await app.inject({ method: 'GET', url: '/v1/nothing?id=11010519491231002X' }), 404, 'NOT_FOUND');
    expect(JSON.stringify(body)).not.toContain('11010519491231002X');
  });

  it('answers a malformed URL and an over-long path parameter with problem+json, echoing neither', async () => {
    const bad = expectProblem(await app.inject({ method: 'GET', url: '/v1/catalog/items/%ZZ' }), 400, 'BAD_REQUEST');
    expect(JSON.stringify(bad)).not.toContain('%ZZ');
    const long = 'a'.repeat(10_000);
    const tooLong = expectProblem(await app.inject({ method: 'GET', url: `/v1/divisions/${long}` }), 400, 'BAD_REQUEST');
    expect(JSON.stringify(tooLong)).not.toContain(long.slice(0, 200));
  });

  it('publishes an OpenAPI 3.1 document covering every route', async () => {
    const doc = JSON.parse((await app.inject({ method: 'GET', url: '/openapi.json' })).body);
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/health',
        '/v1/catalog/items',
        '/v1/catalog/items/{code}',
        '/v1/divisions',
        '/v1/divisions/{code}',
        '/v1/node',
        '/v1/standards/validate',
        '/v1/relay',
        '/v1/directory/snapshot',
        '/v1/directory/enrolments',
        '/v1/agreements',
        '/v1/audit/checkpoints',
      ]),
    );
    // No agreement can name the hub: it neither provides nor requests data (docs/protocol.md).
    for (const path of ['/v1/exchange', '/v1/exchange/relayed', '/v1/operator/exchange', '/v1/cases/{id}/evidence']) expect(doc.paths[path], path).toBeUndefined();
    expect(doc.paths['/v1/relay'].post.requestBody.content['application/json'].schema.required).toEqual(expect.arrayContaining(['envelope', 'payload']));
    // 500, 502 and 503 once per operation, as `default`, described as problem+json.
    expect(doc.paths['/v1/relay'].post.responses.default).toEqual({ $ref: '#/components/responses/Outage' });
    expect(doc.components.responses.Outage.content['application/problem+json'].schema).toEqual({ $ref: '#/components/schemas/Problem' });
    expect(doc.paths['/v1/divisions/{code}'].get.parameters[0]).toMatchObject({ name: 'code', in: 'path', required: true });
    expect(doc.paths['/v1/standards/validate'].post.requestBody.content['application/json'].schema.properties.kind.enum).toEqual([
      'id',
      'uscc',
      'license-id',
    ]);
  });
});
