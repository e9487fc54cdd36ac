import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../audit/index.ts';
import { generateSigningKey, type SigningKey } from '../crypto/index.ts';
import type { DirectorySource } from '../exchange/index.ts';
import { buildCreditCode, buildLicenseId, withResidentIdCheck } from '../standards/index.ts';
import { openStore, type Store } from '../store/index.ts';
import { freshSqliteFile } from '../../test/support/sqlite.ts';
import { certificateTypeById, issueCertificate, presentCertificate, signStatusList, STATUS_VALUE, type TrustList } from './index.ts';
import { StatusListCache, STATUS_LIST_PATH } from './status-lists.ts';
import { certificateEvidenceData, CertificateVerifier, verifyingStaff, type VerifyingStaff } from './verifier.ts';

/**
 * The verifier's own parts, against a real HTTP server playing the issuer's status-list endpoint:
 * the bounded age of the cache, where lists are fetched from (and where not), what happens when
 * the issuer does not answer, challenges, and what the audit log keeps (names, never values).
 */
const ISSUER = '330523';
const SELF = '320400';
const marriage = certificateTypeById('marriage')!;
const authorityCode = buildCreditCode('1', '1', ISSUER, '00250001');
const holderIdNumber = withResidentIdCheck('33052319900101001');
const spouseIdNumber = withResidentIdCheck('33052319920303002');
const personal = { holderName: '王小明', holderIdNumber, spouseName: '李小红', spouseIdNumber, registrationDate: '2026-05-20' };

let key: SigningKey;
let server: Server;
let endpoint = '';
/** What the issuer's endpoint serves: statuses, ttl, and how many requests it got. */
const issuerSide = { statuses: [0, 0, 0, 0] as number[], ttl: 60, requests: 0, fail: false, key: undefined as SigningKey | undefined };
let elsewhere: Server;
let elsewhereRequests = 0;
let elsewhereEndpoint = '';

let now = new Date('2026-11-30T02:00:00.000Z');
const clock = () => now;
let fixture: ReturnType<typeof freshSqliteFile>;
let store: Store;
let trustList: TrustList;
let refreshes = 0;
const trustListSource = {
  current: async () => trustList,
  refresh: async () => {
    refreshes += 1;
    return trustList;
  },
};
const directory = { current: async () => ({ node: (division: string) => (division === ISSUER ? { endpoint } : undefined) }) } as unknown as DirectorySource;

const listUri = () => `${endpoint}${STATUS_LIST_PATH}L1`;

function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; endpoint: string }> {
  const s = createServer(handler);
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve({ server: s, endpoint: `http://127.0.0.1:${(s.address() as AddressInfo).port}` })));
}

function trustListWith(keys: SigningKey[]): TrustList {
  return {
    issuer: '100000',
    version: 1,
    issuedAt: now.toISOString(),
    nextUpdate: new Date(now.getTime() + 3600_000).toISOString(),
    issuers: [
      {
        division: ISSUER,
        name: '安吉县',
        authority: '安吉县民政局',
        authorityCode,
        types: [marriage.vct],
        keys: keys.map((k) => ({ kid: k.kid, jwk: k.publicJwk, from: '2026-01-01T00:00:00.000Z' })),
      },
    ],
  };
}

async function issue(options: { idx?: number; holderKey?: SigningKey; validUntil?: string; uri?: string } = {}): Promise<string> {
  const serial = 'A' + String(options.idx ?? 0).padStart(11, '0');
  return issueCertificate({
    key,
    issuer: ISSUER,
    type: marriage,
    metadata: {
      id: buildLicenseId({ typeCode: marriage.typeCode, issuerCode: authorityCode, serial, version: '001' }),
      number: serial,
      typeCode: marriage.typeCode,
      typeName: marriage.name,
      authority: '安吉县民政局',
      authorityCode,
      issuedOn: '2026-11-30',
      validFrom: '2026-11-30',
      validUntil: options.validUntil ?? '2096-11-29',
      division: ISSUER,
      holderCodeType: '111',
      relatedItem: 'N037',
    },
    personal,
    status: { uri: options.uri ?? listUri(), idx: options.idx ?? 0 },
    ...(options.holderKey ? { holderJwk: options.holderKey.publicJwk } : {}),
    now,
  });
}

beforeAll(async () => {
  key = await generateSigningKey('Ed25519', ISSUER);
  ({ server, endpoint } = await listen((request, response) => {
    issuerSide.requests += 1;
    if (issuerSide.fail || request.url !== `${STATUS_LIST_PATH}L1`) {
      response.writeHead(issuerSide.fail ? 500 : 404).end();
      return;
    }
    void signStatusList({ key: issuerSide.key ?? key, issuer: ISSUER, uri: listUri(), statuses: issuerSide.statuses, now, ttlSeconds: issuerSide.ttl, validSeconds: 86_400 }).then((jwt) => {
      response.writeHead(200, { 'content-type': 'application/statuslist+jwt' }).end(jwt);
    });
  }));
  ({ server: elsewhere, endpoint: elsewhereEndpoint } = await listen((_request, response) => {
    elsewhereRequests += 1;
    response.writeHead(200).end('x');
  }));
});
afterAll(async () => {
  server?.close();
  elsewhere?.close();
});
beforeEach(async () => {
  now = new Date('2026-11-30T02:00:00.000Z');
  Object.assign(issuerSide, { statuses: [0, 0, 0, 0], ttl: 60, requests: 0, fail: false, key: undefined });
  elsewhereRequests = 0;
  refreshes = 0;
  trustList = trustListWith([key]);
  fixture = freshSqliteFile();
  store = await openStore({ url: fixture.url, clock });
});
afterEach(async () => {
  await store.close();
  await fixture.drop();
});

const cache = (maxAgeSeconds = 300) => new StatusListCache({ store, directory, trustList: trustListSource, clock, maxAgeSeconds });
const later = (seconds: number) => {
  now = new Date(now.getTime() + seconds * 1000);
};

describe('status-list cache', () => {
  it('relies on a list younger than min(its ttl, the configured bound), then fetches it again', async () => {
    const lists = cache(30);
    expect(await lists.statusOf(listUri(), 1, ISSUER)).toBe(STATUS_VALUE.valid);
    expect(issuerSide.requests).toBe(1);
    issuerSide.statuses[1] = STATUS_VALUE.revoked;
    later(29);
    // Within the bound (30 s < ttl 60 s): the cached list still says valid, no request.
    expect(await lists.statusOf(listUri(), 1, ISSUER)).toBe(STATUS_VALUE.valid);
    expect(issuerSide.requests).toBe(1);
    later(2);
    expect(await lists.statusOf(listUri(), 1, ISSUER)).toBe(STATUS_VALUE.revoked);
    expect(issuerSide.requests).toBe(2);
    // The cache is the database's: a second verifier process on the same store uses it too.
    expect(await cache(30).statusOf(listUri(), 1, ISSUER)).toBe(STATUS_VALUE.revoked);
    expect(issuerSide.requests).toBe(2);
  });

  it("a list's own ttl shorter than the bound wins", async () => {
    issuerSide.ttl = 5;
    const lists = cache(300);
    await lists.statusOf(listUri(), 0, ISSUER);
    issuerSide.statuses[0] = STATUS_VALUE.suspended;
    later(4);
    expect(await lists.statusOf(listUri(), 0, ISSUER)).toBe(STATUS_VALUE.valid);
    later(2);
    expect(await lists.statusOf(listUri(), 0, ISSUER)).toBe(STATUS_VALUE.suspended);
    expect(issuerSide.requests).toBe(2);
  });

  it('concurrent look-ups of one list share one request', async () => {
    const lists = cache();
    const all = await Promise.all(Array.from({ length: 10 }, (_, i) => lists.statusOf(listUri(), i % 4, ISSUER)));
    expect(all).toEqual(Array(10).fill(0));
    expect(issuerSide.requests).toBe(1);
  });

  it("never fetches a status URI outside the issuer's directory endpoint", async () => {
    const lists = cache();
    for (const uri of [`${elsewhereEndpoint}${STATUS_LIST_PATH}L1`, `${endpoint}/v1/other/L1`, `${endpoint}${STATUS_LIST_PATH}../../x`, `${endpoint}${STATUS_LIST_PATH}..`, `${endpoint}${STATUS_LIST_PATH}L1%2F..`, `${endpoint}${STATUS_LIST_PATH}L1?x=1`, `${endpoint}@${elsewhereEndpoint.slice(7)}${STATUS_LIST_PATH}L1`]) {
      await expect(lists.statusOf(uri, 0, ISSUER), uri).rejects.toMatchObject({ code: 'CERTIFICATE_MALFORMED' });
    }
    // An issuer the directory does not list: nowhere to fetch from.
    await expect(lists.statusOf(listUri(), 0, '310118')).rejects.toMatchObject({ code: 'CERTIFICATE_STATUS_UNAVAILABLE' });
    expect(elsewhereRequests).toBe(0);
    expect(issuerSide.requests).toBe(0);
  });

  it('an issuer that does not answer: the fresh list is used while fresh, then CERTIFICATE_STATUS_UNAVAILABLE (never "valid")', async () => {
    const lists = cache(30);
    await lists.statusOf(listUri(), 0, ISSUER);
    issuerSide.fail = true;
    later(10);
    expect(await lists.statusOf(listUri(), 0, ISSUER)).toBe(0);
    later(30);
    await expect(lists.statusOf(listUri(), 0, ISSUER)).rejects.toMatchObject({ code: 'CERTIFICATE_STATUS_UNAVAILABLE' });
    issuerSide.fail = false;
    expect(await lists.statusOf(listUri(), 0, ISSUER)).toBe(0);
  });

  it('a list signed by a key the trust list does not give the issuer is refused, after one refresh of the trust list', async () => {
    issuerSide.key = await generateSigningKey('Ed25519', ISSUER);
    await expect(cache().statusOf(listUri(), 0, ISSUER)).rejects.toMatchObject({ code: 'CERTIFICATE_STATUS_UNAVAILABLE' });
    expect(refreshes).toBe(1);
    // The issuer rotated its key and the hub listed the new one: found at the refresh.
    const rotated = issuerSide.key;
    trustListSource.refresh = async () => {
      refreshes += 1;
      trustList = trustListWith([key, rotated]);
      return trustList;
    };
    expect(await cache().statusOf(listUri(), 2, ISSUER)).toBe(0);
    // A retired key signs no status list any more.
    trustList = trustListWith([rotated]);
    trustList.issuers[0]!.keys[0]!.retiredAt = new Date(now.getTime() - 1000).toISOString();
    trustListSource.refresh = async () => {
      refreshes += 1;
      return trustList;
    };
    later(400);
    await expect(cache().statusOf(listUri(), 0, ISSUER)).rejects.toMatchObject({ code: 'CERTIFICATE_STATUS_UNAVAILABLE' });
  });

  it('the maximum age of 0 fetches at every use', async () => {
    const lists = cache(0);
    await lists.statusOf(listUri(), 0, ISSUER);
    await lists.statusOf(listUri(), 0, ISSUER);
    expect(issuerSide.requests).toBe(2);
  });
});

describe('verifier', () => {
  const staff: VerifyingStaff = { subject: 'p-clerk-1', node: SELF, role: 'clerk' };
  const verifier = () => new CertificateVerifier({ self: SELF, store, audit: new AuditLog(store, clock), auditKey: new Uint8Array(32).fill(7), clock, trustList: trustListSource, statusLists: cache(30) });
  const entries = async () => store.audit.range(1, 1000);

  it('verifies a presentation that withholds a field; the audit entry names fields, never values', async () => {
    const presentation = await presentCertificate(await issue(), { disclose: ['holderName', 'holderIdNumber', 'spouseName'], now });
    const { certificate, id } = await verifier().verify(staff, { presentation, reason: '办理夫妻投靠户口迁移' });
    expect(certificate.disclosed).toEqual({ holderName: '王小明', holderIdNumber, spouseName: '李小红' });
    expect(certificate.withheld.sort()).toEqual(['registrationDate', 'spouseIdNumber']);
    const [entry] = await entries();
    expect(entry).toMatchObject({ kind: 'certificate.verify', outcome: 'allowed', requestId: id, purpose: '办理夫妻投靠户口迁移', provider: ISSUER, service: marriage.vct, actor: { subject: 'p-clerk-1', node: SELF, role: 'clerk' } });
    expect(entry!.detail).toMatchObject({ fields: 'holderName,holderIdNumber,spouseName', withheld: 'spouseIdNumber,registrationDate', keyBound: false });
    const text = JSON.stringify(await entries());
    for (const value of [holderIdNumber, spouseIdNumber, '王小明', '李小红', '2026-05-20']) expect(text).not.toContain(value);
  });

  it('refusals are audited with their code; a revoked certificate is filed under its certificate hash when the ID number is withheld', async () => {
    const presentation = await presentCertificate(await issue({ idx: 3 }), { disclose: ['spouseName'], now });
    issuerSide.statuses[3] = STATUS_VALUE.revoked;
    await expect(verifier().verify(staff, { presentation, reason: '核验' })).rejects.toMatchObject({ code: 'CERTIFICATE_REVOKED' });
    // Tampered: another value under a signed disclosure's name.
    const parts = presentation.split('~');
    const forged = Buffer.from(JSON.stringify(['c2FsdHNhbHRzYWx0c2FsdA', 'spouseName', '张三'])).toString('base64url');
    await expect(verifier().verify(staff, { presentation: [parts[0], forged, ''].join('~'), reason: '核验' })).rejects.toMatchObject({ code: 'CERTIFICATE_DISCLOSURE_INVALID' });
    const [revoked, tampered] = await entries();
    expect(revoked).toMatchObject({ outcome: 'refused', code: 'CERTIFICATE_REVOKED', provider: ISSUER, detail: { fields: 'spouseName' } });
    expect(revoked!.subjectHash).toMatch(/^[0-9a-f]{64}$/);
    // Before the signature is checked nothing of the presentation is trusted: no subject, no certificate named.
    expect(tampered).toMatchObject({ outcome: 'refused', code: 'CERTIFICATE_DISCLOSURE_INVALID' });
    expect(tampered!.subjectHash).toBeUndefined();
    expect(tampered!.detail.certificateId).toBeUndefined();
    expect(JSON.stringify(await entries())).not.toContain('李小红');
  });

  it('a key-bound certificate needs a KB-JWT answering a challenge of this node, used once', async () => {
    const holderKey = await generateSigningKey('Ed25519', 'holder');
    const issued = await issue({ idx: 1, holderKey });
    const v = verifier();
    // Without a challenge: refused even with a KB-JWT for this audience.
    const unchallenged = await presentCertificate(issued, { disclose: ['holderName'], holderKey, audience: v.audience, now });
    await expect(v.verify(staff, { presentation: unchallenged, reason: '核验' })).rejects.toMatchObject({ code: 'CERTIFICATE_KEY_BINDING_INVALID' });
    const challenge = await v.challenge(staff);
    expect(challenge.audience).toBe(`urn:tongban:node:${SELF}`);
    expect(Date.parse(challenge.expiresAt) - now.getTime()).toBe(300_000);
    // For another verifier: refused (and the challenge is spent).
    const elsewhereBound = await presentCertificate(issued, { disclose: ['holderName'], holderKey, audience: 'urn:tongban:node:522732', nonce: challenge.nonce, now });
    await expect(v.verify(staff, { presentation: elsewhereBound, reason: '核验', nonce: challenge.nonce })).rejects.toMatchObject({ code: 'CERTIFICATE_KEY_BINDING_INVALID' });
    const next = await v.challenge(staff);
    const good = await presentCertificate(issued, { disclose: ['holderName'], holderKey, audience: v.audience, nonce: next.nonce, now });
    const verified = await v.verify(staff, { presentation: good, reason: '核验', nonce: next.nonce });
    expect(verified.certificate.keyBound).toBe(true);
    // The same challenge again: used.
    await expect(v.verify(staff, { presentation: good, reason: '核验', nonce: next.nonce })).rejects.toMatchObject({ code: 'CERTIFICATE_KEY_BINDING_INVALID' });
    // An expired challenge.
    const old = await v.challenge(staff);
    later(301);
    const late = await presentCertificate(issued, { disclose: ['holderName'], holderKey, audience: v.audience, nonce: old.nonce, now });
    await expect(v.verify(staff, { presentation: late, reason: '核验', nonce: old.nonce })).rejects.toMatchObject({ code: 'CERTIFICATE_KEY_BINDING_INVALID' });
  });

  it('two concurrent uses of one challenge: exactly one goes through', async () => {
    const holderKey = await generateSigningKey('Ed25519', 'holder');
    const issued = await issue({ idx: 2, holderKey });
    const v = verifier();
    const { nonce } = await v.challenge(staff);
    const presentation = await presentCertificate(issued, { disclose: ['holderName'], holderKey, audience: v.audience, nonce, now });
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => v.verify(staff, { presentation, reason: '核验', nonce })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  it('who verifies: staff of this node with a case role; citizens, other nodes and operators are refused', () => {
    const base = { name: 'x', via: 'access-token' as const };
    expect(verifyingStaff({ ...base, subject: 's', kind: 'staff', node: SELF, roles: ['dataAdmin', 'approver'] }, SELF)).toEqual({ subject: 's', node: SELF, role: 'approver' });
    expect(() => verifyingStaff({ ...base, subject: 'c', kind: 'citizen', idNumber: holderIdNumber, roles: [] }, SELF)).toThrow(expect.objectContaining({ code: 'CERTIFICATE_FORBIDDEN' }));
    expect(() => verifyingStaff({ ...base, subject: 's', kind: 'staff', node: ISSUER, roles: ['clerk'] }, SELF)).toThrow(expect.objectContaining({ code: 'STAFF_OF_ANOTHER_NODE' }));
    expect(() => verifyingStaff({ ...base, subject: 's', kind: 'machine', node: SELF, roles: ['operator'] }, SELF)).toThrow(expect.objectContaining({ code: 'CERTIFICATE_FORBIDDEN' }));
  });
});

describe('certificate evidence for a case', () => {
  const n032 = { code: 'N032', dataElements: ['idNumber', 'name', 'sex', 'householdDivision', 'maritalStatus', 'spouseIdNumber', 'spouseName'] };
  const disclosedAll = { vct: marriage.vct, disclosed: { holderName: '王小明', holderIdNumber, spouseName: '李小红', spouseIdNumber, registrationDate: '2026-05-20' } };

  it('keeps the fields the item needs, keyed by data element (the registration date N032 does not need is left out)', () => {
    expect(certificateEvidenceData(disclosedAll, n032, holderIdNumber)).toEqual({ name: '王小明', idNumber: holderIdNumber, spouseName: '李小红', spouseIdNumber });
  });

  it('refuses a certificate of someone else and one that withholds what the item needs', () => {
    expect(() => certificateEvidenceData(disclosedAll, n032, spouseIdNumber)).toThrow(expect.objectContaining({ code: 'CERTIFICATE_HOLDER_MISMATCH' }));
    const withheld: Record<string, string> = { ...disclosedAll.disclosed };
    delete withheld.spouseIdNumber;
    expect(() => certificateEvidenceData({ vct: marriage.vct, disclosed: withheld }, n032, holderIdNumber)).toThrow(expect.objectContaining({ code: 'CERTIFICATE_FIELD_NOT_DISCLOSED', message: expect.stringContaining('spouseIdNumber') }));
  });
});
