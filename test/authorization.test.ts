import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedRequestHeaders } from '../src/exchange/index.ts';
import { generateSigningKey, startTestFederation, type TestFederation } from './support/federation.ts';

/**
 * Every endpoint against every kind of caller. Each route is public, or needs one credential:
 * the operator token, the hub administrator's token, a staff/applicant account, or a request
 * signed by an approved node. Anything else is refused with 401/403 — never a 2xx.
 */
type Caller =
  | 'anonymous'
  | 'random-bearer'
  | 'latin1-bearer'
  | 'operator'
  | 'admin'
  | 'clerk'
  | 'applicant'
  | 'foreign-clerk'
  | 'unknown-node-signature'
  | 'node-signature'
  | 'hub-signature';
type Need = 'public' | 'operator' | 'admin' | 'account' | 'node-signature' | 'hub-signature';

const CALLERS: Caller[] = [
  'anonymous',
  'random-bearer',
  'latin1-bearer',
  'operator',
  'admin',
  'clerk',
  'applicant',
  'foreign-clerk',
  'unknown-node-signature',
  'node-signature',
  'hub-signature',
];
const ALLOWED: Record<Need, Caller[]> = {
  public: CALLERS,
  operator: ['operator'],
  admin: ['admin'],
  account: ['clerk', 'applicant'],
  // Any approved node (the hub is one) signing with its directory key (310118: the matrix suspends 330523 as admin).
  'node-signature': ['node-signature', 'hub-signature'],
  'hub-signature': ['hub-signature'],
};
/** Refusals that mean "who are you?" — never the answer to an allowed caller. */
const CREDENTIAL_REFUSALS = new Set(['UNAUTHORIZED', 'SIGNATURE_INVALID', 'NODE_UNKNOWN', 'NODE_NOT_APPROVED', 'REQUEST_EXPIRED']);

function need(method: string, path: string): Need {
  // /metrics: the operator token (or a metrics token, not configured here).
  if (path.startsWith('/v1/operator/') || path === '/metrics') return 'operator';
  if (path.startsWith('/v1/directory/nodes') || path.startsWith('/v1/directory/changes') || path === '/v1/audit/incidents') return 'admin';
  if (path === '/v1/exchange/relayed') return 'hub-signature';
  if (['/v1/exchange', '/v1/relay', '/v1/directory/enrolments', '/v1/directory/rotations', '/v1/cases/inbox'].includes(path)) return 'node-signature';
  if ((path === '/v1/agreements' || path === '/v1/audit/checkpoints') && method === 'POST') return 'node-signature';
  if (path.startsWith('/v1/cases')) return 'account';
  return 'public';
}

let t: TestFederation;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  t = await startTestFederation('sqlite', { directory: { refreshSeconds: 0.5, snapshotTtlSeconds: 600 } });
  tokens.clerk = (await t.operator('522732', '/v1/operator/accounts', { id: 'matrix-clerk', role: 'clerk', name: 'm' })).json.token;
  tokens.applicant = (await t.operator('522732', '/v1/operator/accounts', { id: 'matrix-applicant', role: 'applicant', name: 'm', idNumber: '11010519491231002X' })).json.token;
  tokens['foreign-clerk'] = (await t.operator('330523', '/v1/operator/accounts', { id: 'matrix-foreign', role: 'clerk', name: 'm' })).json.token;
}, 60_000);
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
      for (const [template, methods] of Object.entries(doc.paths)) {
        for (const method of Object.keys(methods).map((m) => m.toUpperCase())) {
          const path = template.replace('{division}', '330523').replace('{code}', template.includes('divisions') ? '522732' : 'N034').replace('{id}', 'AGR-522732-330523-001').replace('{action}', 'accept');
          const required = need(method, template);
          for (const caller of CALLERS) {
            const url = new URL(path, server.endpoint).toString();
            const body = method === 'GET' ? undefined : '{}';
            let headers: Record<string, string> = method === 'GET' ? {} : { 'content-type': 'application/json' };
            const bearer =
              caller === 'operator'
                ? t.f.operatorToken(division)
                : caller === 'admin'
                  ? t.f.adminToken()
                  : caller === 'random-bearer'
                    ? 'x'.repeat(32)
                    : // Latin-1 characters, as many as the real token has: once a 500 that measured the length.
                      caller === 'latin1-bearer'
                      ? 'é'.repeat(t.f.operatorToken(division).length)
                      : tokens[caller];
            if (bearer) headers.authorization = `Bearer ${bearer}`;
            const signer = caller === 'unknown-node-signature' ? strangerKey : caller === 'node-signature' ? t.key('310118') : caller === 'hub-signature' ? t.key('100000') : undefined;
            if (signer && body) headers = await signedRequestHeaders(signer, url, body, new Date());
            const response = await fetch(url, { method, headers, ...(body ? { body } : {}) });
            // Do not leave event streams open.
            if (response.headers.get('content-type')?.startsWith('text/event-stream')) await response.body?.cancel();
            // Accounts belong to one node: Sandu's clerk and applicant, nobody at the hub.
            const allowed = ALLOWED[required].includes(caller) && !(required === 'account' && division !== '522732');
            table.push(`${method} ${template} ${caller} → ${response.status}`);
            if (template === '/v1/directory/enrolments') {
              // Enrolment is open to new keys by design (proof of possession of the key in the body):
              // without a valid self-signed entry nobody gets in.
              expect([400, 401], `${method} ${path} as ${caller}`).toContain(response.status);
            } else if (!allowed) {
              expect([401, 403], `${method} ${path} as ${caller} must be refused (got ${response.status})`).toContain(response.status);
            } else {
              // Allowed callers get past authentication: whatever follows is not a refusal of their credentials.
              expect(response.status, `${method} ${path} as ${caller}`).not.toBe(401);
              if (response.status === 403) {
                const problem = (await response.clone().json()) as { code: string };
                expect(CREDENTIAL_REFUSALS.has(problem.code), `${method} ${path} as ${caller}: ${problem.code}`).toBe(false);
              }
              if (required === 'node-signature' || required === 'hub-signature') {
                // A validly signed '{}' reaches the route's own checks: a schema refusal, not a signature one.
                expect(response.status, `${method} ${path} as ${caller}`).toBe(400);
              }
            }
            expect(response.status, `${method} ${path} as ${caller}`).toBeLessThan(500);
          }
        }
      }
      expect(table.length).toBeGreaterThan(100);
    }, 60_000);
  }
});
