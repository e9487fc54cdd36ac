import { createServer, type Server } from 'node:http';
import BetterSqlite3 from 'better-sqlite3';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { tmpdir } from 'node:os';
import { hubTokens, type HubTokens } from './support/citizen-tokens.ts';
import { runTongban } from './support/cli.ts';
import { startTestFederation, type Backend, type TestFederation } from './support/federation.ts';

const SANDU = '522732';
const ANJI = '330523';
const CHANGZHOU = '320400';
const QINGPU = '310118';
const HUB = '100000';

/**
 * The citizen's data tracker over a real federation (hub and four nodes, HTTP on loopback): the
 * hub checks the citizen's token and asks every node with a proof minted for that node alone, each node answers from its own audit log under its
 * own keyed hash of the citizen's ID number, signed; nothing about another citizen comes back.
 */
export function trackerContract(backend: Backend): void {
  let t: TestFederation;
  let tokens: HubTokens;
  let aliceToken: string;
  /** Alice's token as Anji received it when she signed in there: for Anji only. */
  let aliceAtAnji: string;
  let bobToken: string;
  let alice: string;
  let bob: string;
  const aliceRequests = new Set<string>();
  const bobRequests = new Set<string>();

  /** An operator at `from` asks Sandu for a citizen's household record. */
  const askSandu = (from: string, idNumber: string, extra: Record<string, unknown> = {}) =>
    t.operator(from, '/v1/operator/exchange', { provider: SANDU, service: 'household.residence-proof', subject: { type: 'idNumber', value: idNumber }, purpose: '户籍类证明开具', ...extra });

  const hubTracker = async (token: string | undefined, query = '') => {
    const response = await fetch(new URL(`/v1/tracker${query}`, t.f.hub.endpoint), { headers: token ? { authorization: `Bearer ${token}` } : {} });
    return { status: response.status, type: response.headers.get('content-type'), json: (await response.json()) as any };
  };
  const nodeEntries = async (division: string, token: string | undefined, query = '') => {
    const response = await fetch(new URL(`/v1/tracker/entries${query}`, t.f.nodes.get(division)!.endpoint), { headers: token ? { authorization: `Bearer ${token}` } : {} });
    return { status: response.status, headers: response.headers, json: (await response.json()) as any };
  };

  beforeAll(async () => {
    t = await startTestFederation(backend);
    tokens = await hubTokens(t);
    const db = new BetterSqlite3(t.f.registryPath(SANDU), { readonly: true });
    const people = db.prepare('SELECT id_number AS idNumber FROM household LIMIT 2').all() as Array<{ idNumber: string }>;
    db.close();
    [alice, bob] = people.map((p) => p.idNumber) as [string, string];
    // Both sign in at the hub (authorization code + PKCE through the CLI's loopback client): their own access tokens.
    aliceToken = await tokens.signInCitizen(alice);
    aliceAtAnji = await tokens.signInCitizen(alice, { node: ANJI });
    bobToken = await tokens.signInCitizen(bob);
    // Alice's data is asked for at three nodes (two bridges and one through the hub) and once refused.
    for (const from of [ANJI, CHANGZHOU, QINGPU]) {
      const r = await askSandu(from, alice);
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      aliceRequests.add(r.json.requestId);
    }
    const refused = await askSandu(ANJI, alice, { purpose: '商业营销', agreementId: 'AGR-522732-330523-001', itemCode: 'N034', fields: ['name'] });
    expect(refused.status).toBe(403);
    const other = await askSandu(ANJI, bob);
    expect(other.status).toBe(200);
    bobRequests.add(other.json.requestId);
  }, 300_000);
  afterAll(async () => {
    await t?.stop();
  });

  it('lists the accesses to the signed-in citizen from every node that made or answered one, and nothing about anyone else', async () => {
    const { status, json } = await hubTracker(aliceToken);
    expect(status, JSON.stringify(json)).toBe(200);
    // Every approved node of the directory answered, the hub included: none is silently left out.
    expect(json.sources.map((s: any) => [s.division, s.status])).toEqual([HUB, QINGPU, CHANGZHOU, ANJI, SANDU].sort().map((d) => [d, 'ok']));
    const exchanges = json.entries.filter((e: any) => e.kind.startsWith('exchange.'));
    // Sandu answered three requests and refused one; each requester logged its own.
    const nodes = new Set(exchanges.map((e: any) => e.node));
    expect([...nodes].sort()).toEqual([QINGPU, CHANGZHOU, ANJI, SANDU].sort());
    for (const requestId of aliceRequests) {
      const rows = exchanges.filter((e: any) => e.requestId === requestId);
      expect(rows.map((e: any) => e.kind).sort()).toEqual(['exchange.provide', 'exchange.request']);
      for (const row of rows) {
        expect(row).toMatchObject({ outcome: 'allowed', service: 'household.residence-proof', purpose: '户籍类证明开具', provider: SANDU, itemCode: 'N034' });
        expect(row.agreementId).toMatch(/^AGR-/);
        expect(row.fields.length).toBeGreaterThan(0);
      }
    }
    const refusals = exchanges.filter((e: any) => e.outcome === 'refused');
    expect(refusals.length).toBeGreaterThan(0);
    expect(refusals.every((e: any) => e.code === 'PURPOSE_NOT_ALLOWED' && e.purpose === '商业营销' && e.requester === ANJI)).toBe(true);
    // Nothing about Bob, and nothing that is not Alice's.
    expect(exchanges.some((e: any) => bobRequests.has(e.requestId))).toBe(false);
    expect(exchanges.every((e: any) => aliceRequests.has(e.requestId) || e.outcome === 'refused')).toBe(true);
    // Newest first, and no personal value anywhere in the answer.
    const times = json.entries.map((e: any) => Date.parse(e.at));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(JSON.stringify(json)).not.toContain(alice);

    const forBob = await hubTracker(bobToken);
    expect(forBob.status).toBe(200);
    const bobExchanges = forBob.json.entries.filter((e: any) => e.kind.startsWith('exchange.'));
    expect(new Set(bobExchanges.map((e: any) => e.requestId))).toEqual(bobRequests);
    expect(bobExchanges.map((e: any) => e.node).sort()).toEqual([ANJI, SANDU].sort());
  });

  it('tongban tracker prints the citizen\'s accesses as a table or JSON, and sends the token only to the hub that issued it', async () => {
    const cwd = tmpdir();
    const json = await runTongban(['tracker', '--hub', t.f.hub.endpoint, '--limit', '4', '--all', '--json'], { cwd, env: { TONGBAN_TOKEN: aliceToken } });
    expect(json.code, json.stderr).toBe(0);
    const answer = JSON.parse(json.stdout);
    expect(answer.next).toBeNull();
    expect(new Set(answer.entries.filter((e: any) => aliceRequests.has(e.requestId)).map((e: any) => e.node))).toEqual(new Set([SANDU, ANJI, CHANGZHOU, QINGPU]));
    expect(answer.entries.some((e: any) => bobRequests.has(e.requestId))).toBe(false);

    const table = await runTongban(['tracker', '--hub', t.f.hub.endpoint, '--token', aliceToken, '--limit', '200'], { cwd });
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^WHEN\s+NODE\s+WHO\s+WHAT\s+PURPOSE\s+AGREEMENT\s+OUTCOME$/);
    expect(lines.some((l) => l.includes(SANDU) && l.includes('answered household.residence-proof') && l.includes('户籍类证明开具') && l.includes('allowed'))).toBe(true);
    expect(lines.some((l) => l.includes('refused (PURPOSE_NOT_ALLOWED)'))).toBe(true);
    expect(table.stdout).not.toContain(alice);

    // Another hub than the token's issuer never gets the token; a forged one is refused by the hub.
    const elsewhere = await runTongban(['tracker', '--hub', 'http://127.0.0.1:9', '--token', aliceToken], { cwd });
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toMatch(/not sent there/);
    const forged = await runTongban(['tracker', '--hub', t.f.hub.endpoint, '--token', await tokens.craft({ tongban_kind: 'citizen', tongban_id_number: alice }, { key: tokens.strangerKey })], { cwd });
    expect(forged.code).toBe(1);
    expect(forged.stderr).toMatch(/refused \(UNAUTHORIZED\)/);
  });

  it('records at each node that the citizen looked, under their keyed hash and nothing else', async () => {
    await hubTracker(aliceToken);
    for (const division of [SANDU, ANJI, CHANGZHOU, QINGPU]) {
      const entries = await t.auditEntries(division);
      const exchange = entries.find((e) => aliceRequests.has(e.requestId));
      const looks = entries.filter((e) => e.kind === 'tracker.read');
      expect(looks.length, division).toBeGreaterThan(0);
      expect(looks.filter((e) => e.subjectHash === exchange.subjectHash).length, division).toBeGreaterThan(0);
      expect(JSON.stringify(looks)).not.toContain(alice);
    }
    // The look shows in the citizen's own tracker afterwards.
    const { json } = await hubTracker(aliceToken);
    expect(json.entries.some((e: any) => e.kind === 'tracker.read' && e.node === SANDU)).toBe(true);
  });

  it('pages through every node without losing or repeating a row', async () => {
    const token = aliceToken;
    const all = (await hubTracker(token, '?limit=200')).json.entries.filter((e: any) => e.kind !== 'tracker.read');
    // Three allowed exchanges (two rows each) and a refusal at both ends at least.
    expect(all.length).toBeGreaterThanOrEqual(8);
    const seen: any[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const { status, json } = await hubTracker(token, `?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(status).toBe(200);
      expect(json.entries.length).toBeLessThanOrEqual(3);
      seen.push(...json.entries);
      cursor = json.next;
      pages += 1;
    } while (cursor && pages < 50);
    expect(cursor).toBeNull();
    const key = (e: any) => `${e.node}:${e.seq}`;
    expect(new Set(seen.map(key)).size).toBe(seen.length);
    // Every row of the big page is in the paged walk (the walk adds its own looks).
    const walked = new Set(seen.map(key));
    expect(all.filter((e: any) => !walked.has(key(e)))).toEqual([]);
    expect((await hubTracker(token, '?cursor=not-a-cursor')).status).toBe(400);
  });

  it("answers at each node signed, bound to the caller's nonce and token, only for the token's citizen", async () => {
    const token = aliceToken;
    const r = await nodeEntries(SANDU, token, '?nonce=abcdefghijklmnop1234&limit=500');
    expect(r.status).toBe(200);
    expect(r.headers.get('signature')).toMatch(/^tongban=/);
    expect(r.headers.get('content-digest')).toBeTruthy();
    expect(r.json).toMatchObject({ node: SANDU, nonce: 'abcdefghijklmnop1234' });
    expect(r.json.entries.filter((e: any) => aliceRequests.has(e.requestId)).length).toBe(3);
    expect(r.json.entries.some((e: any) => bobRequests.has(e.requestId))).toBe(false);
  });

  it('refuses a forged, expired, misaddressed or staff proof, at the node and at the hub', async () => {
    const cases: Array<[string, string | undefined, number, string]> = [
      ['no token', undefined, 401, 'UNAUTHORIZED'],
      ['the operator token', t.f.operatorToken(SANDU), 401, 'UNAUTHORIZED'],
      ['forged (a key the hub never had)', await tokens.craft({ tongban_kind: 'citizen', tongban_id_number: alice }, { key: tokens.strangerKey }), 401, 'UNAUTHORIZED'],
      ['expired', await tokens.craft({ tongban_kind: 'citizen', tongban_id_number: alice }, { issuedAt: new Date(Date.now() - 3600_000), expiresInSeconds: 600 }), 401, 'UNAUTHORIZED'],
      ['for another audience', await tokens.craft({ tongban_kind: 'citizen', tongban_id_number: alice }, { audience: SANDU }), 401, 'UNAUTHORIZED'],
      ['the token Anji received at sign-in (for Anji only)', aliceAtAnji, 401, 'UNAUTHORIZED'],
      ["a tracker proof for another node", await tokens.craft({ tongban_kind: 'citizen', tongban_id_number: alice, purpose: 'tracker', jti: 'crafted-1' }, { typ: 'tongban-tracker-proof+jwt', audience: `urn:tongban:node:${ANJI}`, expiresInSeconds: 60 }), 401, 'UNAUTHORIZED'],
      ['from another issuer', await tokens.craft({ tongban_kind: 'citizen', tongban_id_number: alice }, { issuer: 'http://127.0.0.1:1/oidc' }), 401, 'UNAUTHORIZED'],
      ['not an access token (typ JWT)', await tokens.craft({ tongban_kind: 'citizen', tongban_id_number: alice }, { typ: 'JWT' }), 401, 'UNAUTHORIZED'],
      ['a staff member', await tokens.craft({ tongban_kind: 'staff', tongban_node: SANDU, tongban_roles: ['clerk'] }), 403, 'TRACKER_CITIZEN_ONLY'],
    ];
    for (const [what, token, status, code] of cases) {
      for (const [where, answer] of [
        ['node', await nodeEntries(SANDU, token)],
        ['hub', await hubTracker(token)],
      ] as const) {
        expect(answer.status, `${what} at the ${where}`).toBe(status);
        expect(answer.json.code, `${what} at the ${where}`).toBe(code);
        expect(answer.json.entries, `${what} at the ${where}`).toBeUndefined();
      }
    }
  });

  it('lists a node that is down as unavailable, and the others still answer', async () => {
    const changzhou = t.f.nodes.get(CHANGZHOU)!;
    await changzhou.stop();
    try {
      const { status, json } = await hubTracker(aliceToken);
      expect(status).toBe(200);
      expect(json.sources.find((s: any) => s.division === CHANGZHOU)).toMatchObject({ status: 'unavailable', entries: 0 });
      expect(json.sources.filter((s: any) => s.status === 'ok').map((s: any) => s.division).sort()).toEqual([HUB, QINGPU, ANJI, SANDU].sort());
      expect(json.entries.some((e: any) => e.node === CHANGZHOU)).toBe(false);
      expect(json.entries.some((e: any) => e.node === SANDU)).toBe(true);
    } finally {
      await changzhou.start();
    }
  });

  it("sends each node a one-time proof for that node alone, never the citizen's token: refused at another node, at the hub, on other routes and when replayed", async () => {
    const issuer = `${t.f.hub.endpoint}/oidc`;
    const received: Array<Record<string, string | string[] | undefined>> = [];
    await withStandInNode(
      t,
      CHANGZHOU,
      { headers: { 'content-type': 'application/json' }, body: '{}' },
      async () => {
        const { status, json } = await hubTracker(aliceToken);
        expect(status).toBe(200);
        expect(json.sources.find((s: any) => s.division === CHANGZHOU)).toMatchObject({ status: 'invalid' });
      },
      received,
    );
    // What a node (a malicious one included) receives in the fan-out: a proof for it, not Alice's token.
    expect(received).toHaveLength(1);
    const authorization = String(received[0]!.authorization);
    expect(authorization).toMatch(/^Bearer /);
    const proof = authorization.slice(7);
    expect(proof).not.toBe(aliceToken);
    expect(decodeProtectedHeader(proof)).toMatchObject({ alg: 'EdDSA', typ: 'tongban-tracker-proof+jwt' });
    const claims = decodeJwt(proof);
    expect(claims).toMatchObject({ iss: issuer, aud: `urn:tongban:node:${CHANGZHOU}`, sub: decodeJwt(aliceToken).sub, tongban_id_number: alice, purpose: 'tracker' });
    expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(60);
    expect(claims.jti).toEqual(expect.any(String));
    // Signed by the hub's OIDC key, as its JWKS publishes it.
    await jwtVerify(proof, createRemoteJWKSet(new URL(`${issuer}/jwks`)), { issuer, audience: `urn:tongban:node:${CHANGZHOU}`, typ: 'tongban-tracker-proof+jwt' });
    // Replayed elsewhere: another node, the hub's tracker, the routes where a citizen acts.
    for (const [where, answer] of [
      ['Sandu tracker entries', await nodeEntries(SANDU, proof)],
      ['the hub tracker', await hubTracker(proof)],
    ] as const) {
      expect([where, answer.status, answer.json.code]).toEqual([where, 401, 'UNAUTHORIZED']);
    }
    for (const server of [t.f.nodes.get(SANDU)!.endpoint, t.f.nodes.get(CHANGZHOU)!.endpoint, t.f.hub.endpoint]) {
      const r = await fetch(new URL('/v1/auth/me', server), { headers: { authorization: `Bearer ${proof}` } });
      expect([server, r.status]).toEqual([server, 401]);
    }
    // At Changzhou itself it opens Alice's entries once; used again it is refused.
    const first = await nodeEntries(CHANGZHOU, proof);
    expect(first.status, JSON.stringify(first.json)).toBe(200);
    expect(first.json.entries.some((e: any) => aliceRequests.has(e.requestId))).toBe(true);
    const again = await nodeEntries(CHANGZHOU, proof);
    expect([again.status, again.json.code]).toEqual([401, 'UNAUTHORIZED']);
  });

  it("refuses a node's answer that is unsigned, or a signed answer replayed from another request", async () => {
    const token = aliceToken;
    // A real, signed answer of Changzhou to an earlier request (another nonce).
    const earlier = await fetch(new URL('/v1/tracker/entries?nonce=earlier-request-nonce-1', t.f.nodes.get(CHANGZHOU)!.endpoint), { headers: { authorization: `Bearer ${token}` } });
    const replayed = { headers: Object.fromEntries(earlier.headers), body: await earlier.text() };
    expect(earlier.status).toBe(200);
    expect(JSON.parse(replayed.body).entries.length).toBeGreaterThan(0);
    const unsigned = { headers: { 'content-type': 'application/json; charset=utf-8' }, body: replayed.body };
    for (const [what, answer, code] of [
      ['unsigned', unsigned, 'SIGNATURE_INVALID'],
      ['replayed', replayed, 'PEER_RESPONSE_INVALID'],
    ] as const) {
      await withStandInNode(t, CHANGZHOU, answer, async () => {
        const { status, json } = await hubTracker(token);
        expect(status, what).toBe(200);
        expect(json.sources.find((s: any) => s.division === CHANGZHOU), what).toMatchObject({ status: 'invalid', code, entries: 0 });
        expect(json.entries.some((e: any) => e.node === CHANGZHOU), what).toBe(false);
        expect(json.entries.some((e: any) => e.node === SANDU), what).toBe(true);
      });
    }
  });
}

/**
 * Puts a server in a node's place that answers every request with `answer` (a malicious or
 * replaying node), then the node back. The headers of every request it got go into `received`.
 */
async function withStandInNode(
  t: TestFederation,
  division: string,
  answer: { headers: Record<string, string>; body: string },
  check: () => Promise<void>,
  received: Array<Record<string, string | string[] | undefined>> = [],
): Promise<void> {
  const node = t.f.nodes.get(division)!;
  const port = Number(new URL(node.endpoint).port);
  await node.stop();
  const headers = Object.fromEntries(Object.entries(answer.headers).filter(([name]) => !['content-length', 'connection', 'keep-alive', 'transfer-encoding', 'date'].includes(name)));
  const fake: Server = createServer((request, response) => {
    received.push({ ...request.headers });
    response.writeHead(200, headers);
    response.end(answer.body);
  });
  await new Promise<void>((resolve) => fake.listen(port, '127.0.0.1', resolve));
  try {
    await check();
  } finally {
    await new Promise<void>((resolve) => fake.close(() => resolve()));
    fake.closeAllConnections();
    await node.start();
  }
}
