import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWTVerifyGetKey } from 'jose';
import { describe, expect, it } from 'vitest';
import { chainEntries, subjectHash } from '../audit/index.ts';
import { isTongbanError } from '../errors/index.ts';
import { tokenHash } from '../identity/hub-tokens.ts';
import { certificateSubjectHash, citizenSubjectHash, compareRows, MAX_PROOF_CERTIFICATES, decodeCursor, encodeCursor, mintTrackerProof, TRACKER_PROOF_TTL_SECONDS, TRACKER_PROOF_TYP, trackerRow, verifyCitizenToken, verifyTrackerCaller } from './index.ts';

const ISSUER = 'http://127.0.0.1:7700/oidc';
const NOW = new Date('2025-06-01T08:00:00Z');
const ID = '11010519491231002X';

async function keyPair(): Promise<{ privateKey: CryptoKey; keys: JWTVerifyGetKey }> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const jwk = await exportJWK(publicKey);
  const pub = await importJWK({ ...jwk, alg: 'EdDSA' }, 'EdDSA');
  return { privateKey, keys: async () => pub };
}

interface TokenOptions {
  claims?: Record<string, unknown>;
  issuer?: string;
  audience?: string;
  typ?: string;
  issuedAt?: Date;
  expiresInSeconds?: number;
}

function token(privateKey: CryptoKey, options: TokenOptions = {}): Promise<string> {
  const iat = Math.floor((options.issuedAt ?? NOW).getTime() / 1000);
  return new SignJWT({ tongban_kind: 'citizen', tongban_id_number: ID.toLowerCase(), name: '张三', ...options.claims })
    .setProtectedHeader({ alg: 'EdDSA', typ: options.typ ?? 'at+jwt', kid: 'hub-oidc-1' })
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? 'urn:tongban:federation')
    .setSubject('p-citizen-1')
    .setIssuedAt(iat)
    .setExpirationTime(iat + (options.expiresInSeconds ?? 600))
    .sign(privateKey);
}

async function refusal(promise: Promise<unknown>): Promise<{ code: string; status: number }> {
  try {
    await promise;
  } catch (error) {
    if (isTongbanError(error)) return { code: error.code, status: error.status };
    throw error;
  }
  throw new Error('not refused');
}

const SELF = '522732';

/** A replay cache in memory (the node's is the store's nonce table). */
function replayCache(): (key: string, jti: string) => Promise<boolean> {
  const seen = new Set<string>();
  return async (key, jti) => !seen.has(`${key} ${jti}`) && Boolean(seen.add(`${key} ${jti}`));
}

describe("the citizen's proof of sign-in", () => {
  it('accepts a hub access token of a citizen for the federation or this node, and keeps the normalised ID number', async () => {
    const hub = await keyPair();
    const options = { keys: hub.keys, issuer: ISSUER, clock: () => NOW };
    for (const audience of ['urn:tongban:federation', `urn:tongban:node:${SELF}`]) {
      const jwt = await token(hub.privateKey, { audience });
      expect(await verifyCitizenToken(jwt, options, SELF), audience).toMatchObject({ subject: 'p-citizen-1', idNumber: ID, tokenHash: tokenHash(jwt) });
    }
  });

  it('hashes the subject exactly as an exchange about the same ID number is audited', async () => {
    const hub = await keyPair();
    const proof = await verifyCitizenToken(await token(hub.privateKey), { keys: hub.keys, issuer: ISSUER, clock: () => NOW }, SELF);
    const key = new Uint8Array(32).fill(7);
    expect(citizenSubjectHash(key, proof)).toBe(subjectHash(key, 'idNumber', ID));
  });

  it('refuses forged, expired, misaddressed and non-access tokens (401), and staff (403)', async () => {
    const hub = await keyPair();
    const stranger = await keyPair();
    const options = { keys: hub.keys, issuer: ISSUER, clock: () => NOW };
    const cases: Array<[string, Promise<string> | string | undefined, number, string]> = [
      ['no token', undefined, 401, 'UNAUTHORIZED'],
      ['not a JWT (a machine token)', 'x'.repeat(43), 401, 'UNAUTHORIZED'],
      ['signed by another key', token(stranger.privateKey), 401, 'UNAUTHORIZED'],
      ['expired', token(hub.privateKey, { issuedAt: new Date(NOW.getTime() - 3600_000), expiresInSeconds: 600 }), 401, 'UNAUTHORIZED'],
      ['another audience (an ID token for a node client)', token(hub.privateKey, { audience: '522732' }), 401, 'UNAUTHORIZED'],
      ["another node's audience (a token Anji received at sign-in)", token(hub.privateKey, { audience: 'urn:tongban:node:330523' }), 401, 'UNAUTHORIZED'],
      ['another issuer', token(hub.privateKey, { issuer: 'http://evil.example/oidc' }), 401, 'UNAUTHORIZED'],
      ['not typed as an access token', token(hub.privateKey, { typ: 'JWT' }), 401, 'UNAUTHORIZED'],
      ['a citizen without an ID number', token(hub.privateKey, { claims: { tongban_id_number: undefined } }), 401, 'UNAUTHORIZED'],
      ['an invalid ID number', token(hub.privateKey, { claims: { tongban_id_number: '110105194912310021' } }), 401, 'UNAUTHORIZED'],
      ['staff', token(hub.privateKey, { claims: { tongban_kind: 'staff', tongban_id_number: undefined, tongban_node: '522732', tongban_roles: ['clerk'] } }), 403, 'TRACKER_CITIZEN_ONLY'],
      ['a staff token that also names an ID number', token(hub.privateKey, { claims: { tongban_kind: 'staff' } }), 403, 'TRACKER_CITIZEN_ONLY'],
    ];
    for (const [what, jwt, status, code] of cases) {
      expect(await refusal(verifyCitizenToken(await jwt, options, SELF)), what).toEqual({ status, code });
      expect(await refusal(verifyTrackerCaller(await jwt, options, SELF, replayCache())), what).toEqual({ status, code });
    }
    // The signature covers the claims: a citizen's token with another ID number swapped in fails.
    const [h, p, s] = (await token(hub.privateKey)).split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const swapped = Buffer.from(JSON.stringify({ ...payload, tongban_id_number: '110105194912310029' })).toString('base64url');
    expect(await refusal(verifyCitizenToken(`${h}.${swapped}.${s}`, options, SELF))).toEqual({ status: 401, code: 'UNAUTHORIZED' });
    // Unsigned (alg none) is never accepted.
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${p}.`;
    expect(await refusal(verifyCitizenToken(none, options, SELF))).toEqual({ status: 401, code: 'UNAUTHORIZED' });
  });
});

describe("the hub's tracker proof for one node", () => {
  const citizen = { subject: 'p-citizen-1', idNumber: ID, tokenHash: 'h', expiresAt: 0, certificates: [] };

  it('is taken once, at the node it names only, and is no access token anywhere', async () => {
    const hub = await keyPair();
    const options = { keys: hub.keys, issuer: ISSUER, clock: () => NOW };
    const proof = await mintTrackerProof({ key: hub.privateKey, kid: 'hub-oidc-1', issuer: ISSUER, clock: () => NOW }, citizen, SELF);
    const claims = decodeJwt(proof);
    expect(decodeProtectedHeader(proof).typ).toBe(TRACKER_PROOF_TYP);
    expect(claims).toMatchObject({ aud: `urn:tongban:node:${SELF}`, sub: 'p-citizen-1', tongban_id_number: ID, purpose: 'tracker' });
    expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(TRACKER_PROOF_TTL_SECONDS);
    const remember = replayCache();
    // At another node: its audience is not theirs.
    expect(await refusal(verifyTrackerCaller(proof, options, '330523', remember))).toEqual({ status: 401, code: 'UNAUTHORIZED' });
    expect(await verifyTrackerCaller(proof, options, SELF, remember)).toMatchObject({ subject: 'p-citizen-1', idNumber: ID, tokenHash: tokenHash(proof) });
    // Replayed at the same node.
    expect(await refusal(verifyTrackerCaller(proof, options, SELF, remember))).toEqual({ status: 401, code: 'UNAUTHORIZED' });
    // Where an access token is asked (the hub's own tracker, any other route): another typ.
    expect(await refusal(verifyCitizenToken(proof, options, SELF))).toEqual({ status: 401, code: 'UNAUTHORIZED' });
    // Expired after its 60 s (and the skew).
    const later = { ...options, clock: () => new Date(NOW.getTime() + 120_000) };
    const fresh = await mintTrackerProof({ key: hub.privateKey, kid: 'hub-oidc-1', issuer: ISSUER, clock: () => NOW }, citizen, SELF);
    expect(await refusal(verifyTrackerCaller(fresh, later, SELF, replayCache()))).toEqual({ status: 401, code: 'UNAUTHORIZED' });
  });

  it('refuses a proof signed by another key, living longer than 60 s, or for another purpose', async () => {
    const hub = await keyPair();
    const stranger = await keyPair();
    const options = { keys: hub.keys, issuer: ISSUER, clock: () => NOW };
    const proofLike = (key: CryptoKey, claims: Record<string, unknown>, ttl = 60) =>
      token(key, { typ: TRACKER_PROOF_TYP, audience: `urn:tongban:node:${SELF}`, expiresInSeconds: ttl, claims: { purpose: 'tracker', jti: 'j-1', ...claims } });
    expect(await verifyTrackerCaller(await proofLike(hub.privateKey, {}), options, SELF, replayCache())).toMatchObject({ idNumber: ID });
    for (const [what, jwt] of [
      ['another key', proofLike(stranger.privateKey, {})],
      ['600 s', proofLike(hub.privateKey, {}, 600)],
      ['another purpose', proofLike(hub.privateKey, { purpose: 'cases' })],
      ['no jti', proofLike(hub.privateKey, { jti: undefined })],
      ['certificates that are no ids', proofLike(hub.privateKey, { tongban_certificates: ['x'] })],
      ['certificates that are no list', proofLike(hub.privateKey, { tongban_certificates: 'all' })],
      ['too many certificates', proofLike(hub.privateKey, { tongban_certificates: Array.from({ length: MAX_PROOF_CERTIFICATES + 1 }, (_, i) => `1.2.156.3005.2.${i}`) })],
    ] as const) {
      expect(await refusal(verifyTrackerCaller(await jwt, options, SELF, replayCache())), what).toEqual({ status: 401, code: 'UNAUTHORIZED' });
    }
  });

  it("carries the citizen's certificate ids from the hub; the citizen's own token names none, whatever it claims", async () => {
    const hub = await keyPair();
    const options = { keys: hub.keys, issuer: ISSUER, clock: () => NOW };
    const certificates = ['1.2.156.3005.2.11100000MB0143035X001.11330523MB330523P.ABC123XYZ789.001.K'];
    const proof = await mintTrackerProof({ key: hub.privateKey, kid: 'hub-oidc-1', issuer: ISSUER, clock: () => NOW }, { ...citizen, certificates }, SELF);
    expect(decodeJwt(proof).tongban_certificates).toEqual(certificates);
    expect((await verifyTrackerCaller(proof, options, SELF, replayCache())).certificates).toEqual(certificates);
    // None: the claim is left out.
    expect(decodeJwt(await mintTrackerProof({ key: hub.privateKey, kid: 'hub-oidc-1', issuer: ISSUER, clock: () => NOW }, citizen, SELF))).not.toHaveProperty('tongban_certificates');
    const own = await token(hub.privateKey, { claims: { tongban_certificates: certificates } });
    expect((await verifyTrackerCaller(own, options, SELF, replayCache())).certificates).toEqual([]);
  });
});

describe('subject hashes the tracker reads', () => {
  it('are keyed: the ID number and each certificate id have their own hash, another key gives others', () => {
    const key = new Uint8Array(32).fill(7);
    const id = '1.2.156.3005.2.X';
    expect(certificateSubjectHash(key, id)).toBe(subjectHash(key, 'certificate', id));
    expect(certificateSubjectHash(key, id)).not.toBe(certificateSubjectHash(new Uint8Array(32).fill(8), id));
    expect(certificateSubjectHash(key, id)).not.toBe(citizenSubjectHash(key, { idNumber: id } as never));
  });
});

describe('tracker rows', () => {
  const [entry] = chainEntries(
    undefined,
    [
      {
        kind: 'exchange.provide',
        outcome: 'refused',
        code: 'PURPOSE_NOT_ALLOWED',
        requestId: '0e7f3f8e-8a40-4c39-9d2e-4b1d0cf1c001',
        requester: '330523',
        provider: '522732',
        agreementId: 'AGR-522732-330523-001',
        itemCode: 'N034',
        service: 'household.residence-proof',
        purpose: '户籍类证明开具',
        caseId: 'CASE-1',
        operator: 'clerk-007',
        subjectHash: 'a'.repeat(64),
        detail: { via: 'bridge', fields: 'name,householdAddress', consentId: 'c-123', reason: 'free text that may not pass' },
      },
    ],
    NOW.toISOString(),
  );

  it('keep the named columns and field names, never the operator id or free text', () => {
    const row = trackerRow(entry!, '522732');
    expect(row).toEqual({
      at: NOW.toISOString(),
      node: '522732',
      seq: 1,
      kind: 'exchange.provide',
      outcome: 'refused',
      code: 'PURPOSE_NOT_ALLOWED',
      role: null,
      actorNode: null,
      service: 'household.residence-proof',
      itemCode: 'N034',
      fields: ['name', 'householdAddress'],
      purpose: '户籍类证明开具',
      agreementId: 'AGR-522732-330523-001',
      consentRef: 'c-123',
      requester: '330523',
      provider: '522732',
      caseId: 'CASE-1',
      requestId: '0e7f3f8e-8a40-4c39-9d2e-4b1d0cf1c001',
    });
    expect(JSON.stringify(row)).not.toContain('clerk-007');
    expect(JSON.stringify(row)).not.toContain('free text');
  });

  it("take the role from the entry's structured actor when it has one", () => {
    const row = trackerRow({ ...entry!, actor: { subject: 'p-1', node: '330523', role: 'clerk' } } as never, '522732');
    expect(row).toMatchObject({ role: 'clerk', actorNode: '330523' });
  });

  it('order newest first, then by node and sequence', () => {
    const a = { ...trackerRow(entry!, '522732'), at: '2025-06-01T08:00:01.000Z' };
    const b = { ...trackerRow(entry!, '330523'), at: '2025-06-01T08:00:00.000Z' };
    const c = { ...trackerRow(entry!, '330523'), at: '2025-06-01T08:00:00.000Z', seq: 2 };
    expect([b, a, c].sort(compareRows)).toEqual([a, c, b]);
  });
});

describe('the federated cursor', () => {
  it('round-trips, and an unreadable one is a validation error', () => {
    expect(decodeCursor(encodeCursor({ '522732': 12, '330523': 0 }))).toEqual({ '522732': 12, '330523': 0 });
    expect(decodeCursor(undefined)).toEqual({});
    for (const bad of ['%%%', Buffer.from('{"5227":1}').toString('base64url'), Buffer.from('{"522732":-1}').toString('base64url')]) {
      expect(() => decodeCursor(bad)).toThrow(/cursor/);
    }
  });
});
