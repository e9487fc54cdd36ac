import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestFederation, type TestFederation } from './support/federation.ts';

/**
 * Property-based fuzzing of every HTTP endpoint (from each server's own OpenAPI document):
 * malformed JSON, wrong types, huge bodies, bad encodings, random headers and credentials.
 * Never a 5xx, always problem+json for an error, never a partial write.
 */
let t: TestFederation;
let staffToken: string;
const RUNS = Number(process.env.TONGBAN_FUZZ_RUNS ?? 12);

beforeAll(async () => {
  t = await startTestFederation('sqlite', { directory: { refreshSeconds: 0.5, snapshotTtlSeconds: 600 } });
  staffToken = (await t.operator('522732', '/v1/operator/accounts', { id: 'fuzz-clerk', role: 'clerk', name: 'fuzz' })).json.token;
}, 300_000);
afterAll(async () => {
  await t?.stop();
});

async function snapshot(division: string) {
  const runtime = division === '100000' ? t.f.hub.runtime! : t.f.nodes.get(division)!.runtime!;
  const s = runtime.store;
  return {
    cases: (await s.cases.list({ limit: 100_000 })).length,
    outbox: (await s.outbox.list()).length,
    agreements: (await s.agreements.latest()).length,
    directory: (await s.directory.list()).map((n) => `${n.division}:${n.status}`).join(','),
    catalog: (await s.catalogItems.list()).length,
    settings: Object.keys(await s.settings.all()).sort().join(','),
  };
}

const printable = fc.string({ maxLength: 40 }).map((s) => s.replace(/[^\x20-\x7e]/g, ''));
const body = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((v) => ({ bytes: Buffer.from(JSON.stringify(v) ?? 'null'), type: 'application/json' })),
  fc.string({ maxLength: 200 }).map((s) => ({ bytes: Buffer.from(s), type: 'application/json' })),
  fc.uint8Array({ maxLength: 200 }).map((b) => ({ bytes: Buffer.from(b), type: 'application/json' })),
  fc.record({ kind: fc.constantFrom('id', 'uscc', 'license-id'), value: fc.string({ maxLength: 30 }) }).map((v) => ({ bytes: Buffer.from(JSON.stringify(v)), type: 'application/json' })),
  fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', 'multipart/form-data').map((type) => ({ bytes: Buffer.from('a=b'), type })),
  fc.constant({ bytes: Buffer.alloc(2 * 1024 * 1024, 0x61), type: 'application/json' }),
);
const credential = fc.constantFrom('none', 'random', 'operator', 'admin', 'staff', 'latin1-token-length', 'latin1');
/** Latin-1 text (what a header may carry beyond ASCII), for bearer tokens. */
const latin1 = fc.string({ minLength: 1, maxLength: 60, unit: fc.integer({ min: 0xa0, max: 0xff }).map((c) => String.fromCharCode(c)) });
const headers = fc.dictionary(fc.constantFrom('signature', 'signature-input', 'content-digest', 'x-forwarded-for', 'accept', 'x-tongban', 'cookie'), printable, { maxKeys: 4 });
const pathParam = fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('999999', '..', '%00', 'N034', 'C-522732-AAAAAAAA', 'hub'));

describe('fuzzing every endpoint', () => {
  for (const division of ['522732', '100000']) {
    it(`${division === '100000' ? 'the hub' : 'a node'}: never a 5xx, always problem+json, never a partial write`, async () => {
      const server = division === '100000' ? t.f.hub : t.f.nodes.get(division)!;
      const doc = (await (await fetch(new URL('/openapi.json', server.endpoint))).json()) as { paths: Record<string, Record<string, { responses?: Record<string, { content?: object }> }>> };
      // Event streams never end by design; they are covered by the cases suite.
      const streams = (op: { responses?: Record<string, { content?: object }> }) => Object.keys(op.responses?.['200']?.content ?? {}).includes('text/event-stream');
      const operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
        Object.entries(methods)
          .filter(([, op]) => !streams(op))
          .map(([method]) => ({ path, method: method.toUpperCase() })),
      );
      expect(operations.length).toBeGreaterThan(15);
      const before = await snapshot(division);
      const operatorToken = t.f.operatorToken(division);
      const adminToken = t.f.adminToken();
      let requests = 0;
      for (const op of operations) {
        await fc.assert(
          fc.asyncProperty(body, credential, latin1, headers, fc.array(pathParam, { minLength: 3, maxLength: 3 }), async (b, cred, someLatin1, extra, params) => {
            let i = 0;
            const path = op.path.replace(/\{[^}]+\}/g, () => encodeURIComponent(params[i++]!));
            const auth =
              cred === 'operator'
                ? operatorToken
                : cred === 'admin'
                  ? adminToken
                  : cred === 'staff'
                    ? staffToken
                    : cred === 'random'
                      ? 'r4nd0m-t0k3n-that-is-long-enough'
                      : // Non-ASCII tokens, one exactly as long as the real operator token (once a 500).
                        cred === 'latin1-token-length'
                        ? 'ÿ'.repeat(operatorToken.length)
                        : cred === 'latin1'
                          ? someLatin1
                          : undefined;
            const response = await fetch(new URL(path, server.endpoint), {
              method: op.method,
              headers: { ...extra, ...(auth ? { authorization: `Bearer ${auth}` } : {}), ...(op.method === 'GET' ? {} : { 'content-type': b.type }) },
              ...(op.method === 'GET' ? {} : { body: b.bytes }),
              signal: AbortSignal.timeout(15_000),
              // This server's answer: a sign-in's 302 to the hub is not followed (the hub's pages are HTML, for people).
              redirect: 'manual',
            });
            const text = await response.text();
            requests++;
            expect(response.status, `${op.method} ${path} → ${response.status} ${text.slice(0, 200)}`).toBeLessThan(500);
            if (response.status >= 400) {
              expect(response.headers.get('content-type'), `${op.method} ${path} → ${response.status} ${text.slice(0, 200)}`).toMatch(/^application\/problem\+json/);
              const problem = JSON.parse(text);
              expect(problem.status).toBe(response.status);
              expect(typeof problem.code).toBe('string');
            }
          }),
          { numRuns: RUNS },
        );
      }
      expect(requests).toBeGreaterThan(operations.length * RUNS * 0.9);
      expect(await snapshot(division)).toEqual(before);
    }, 120_000);
  }
});
