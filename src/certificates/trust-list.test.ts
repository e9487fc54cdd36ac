import { beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, signJws, type SigningKey } from '../crypto/index.ts';
import { ANJI, CHANGZHOU, issuerFixture, trustListFor, type IssuerFixture } from '../../test/support/certificate-fixtures.ts';
import { certificateTypeById, issuerKeyFor, signTrustList, TrustList, verifyTrustList } from './index.ts';

const now = new Date('2026-03-10T02:00:00Z');
const vct = certificateTypeById('marriage')!.vct;
let hub: SigningKey;
let anji: IssuerFixture;
let changzhou: IssuerFixture;
let list: TrustList;

beforeAll(async () => {
  hub = await generateSigningKey('Ed25519', '100000');
  anji = await issuerFixture(ANJI, 'Ed25519');
  changzhou = await issuerFixture(CHANGZHOU, 'SM2');
  list = trustListFor([anji, changzhou], { now, version: 4 });
});

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  await expect(promise).rejects.toMatchObject({ name: 'TongbanError', code });
}

describe('trust list', () => {
  it('signs and verifies (Ed25519 and SM2 hub keys) with typ tongban-trust-list+jwt', async () => {
    for (const key of [hub, await generateSigningKey('SM2', '100000')]) {
      const jws = await signTrustList(list, key);
      expect(JSON.parse(Buffer.from(jws.split('.')[0]!, 'base64url').toString())).toMatchObject({ typ: 'tongban-trust-list+jwt', kid: key.kid });
      expect(await verifyTrustList(jws, key.publicJwk, now)).toEqual(list);
    }
  });

  it('refuses a tampered list, another key, another typ, a non-list body, a future or stale list', async () => {
    const jws = await signTrustList(list, hub);
    const [h, p, s] = jws.split('.') as [string, string, string];
    const body = JSON.parse(Buffer.from(p, 'base64url').toString()) as TrustList;
    body.issuers[1]!.types.push('urn:tongban:certificate:business-licence');
    await expectCode(verifyTrustList(`${h}.${Buffer.from(JSON.stringify(body)).toString('base64url')}.${s}`, hub.publicJwk, now), 'TRUST_LIST_INVALID');
    const other = await generateSigningKey('Ed25519', '100000');
    await expectCode(verifyTrustList(jws, other.publicJwk, now), 'TRUST_LIST_INVALID');
    await expectCode(verifyTrustList(await signTrustList(list, other), hub.publicJwk, now), 'TRUST_LIST_INVALID');
    const payload = new TextEncoder().encode(JSON.stringify(list));
    await expectCode(verifyTrustList(await signJws(hub, payload, { typ: 'JWT' }), hub.publicJwk, now), 'TRUST_LIST_INVALID');
    await expectCode(verifyTrustList(await signJws(hub, new TextEncoder().encode('{"issuers":[]}'), { typ: 'tongban-trust-list+jwt' }), hub.publicJwk, now), 'TRUST_LIST_INVALID');
    await expectCode(verifyTrustList('not.a.jws', hub.publicJwk, now), 'TRUST_LIST_INVALID');
    await expectCode(verifyTrustList(jws, hub.publicJwk, new Date(now.getTime() - 3600_000)), 'TRUST_LIST_INVALID');
    await expectCode(verifyTrustList(jws, hub.publicJwk, new Date(now.getTime() + 26 * 3600_000)), 'TRUST_LIST_INVALID');
    // Past nextUpdate but within a day: still valid (the client decides when to refresh).
    await expect(verifyTrustList(jws, hub.publicJwk, new Date(now.getTime() + 2 * 3600_000))).resolves.toMatchObject({ version: 4 });
  });

  it('refuses (schema) a key whose kid is not <division>:<thumbprint of its jwk>, or an issuer listed twice', async () => {
    const wrongKid = structuredClone(list);
    wrongKid.issuers[0]!.keys[0]!.kid = changzhou.key.kid;
    expect(TrustList.safeParse(wrongKid).success).toBe(false);
    await expect(signTrustList(wrongKid, hub)).rejects.toThrow();
    const twice = structuredClone(list);
    twice.issuers.push(structuredClone(twice.issuers[0]!));
    expect(TrustList.safeParse(twice).success).toBe(false);
  });
});

describe('issuerKeyFor', () => {
  it('gives the current key for a listed issuer, type and kid; nothing otherwise', () => {
    expect(issuerKeyFor(list, ANJI, anji.key.kid, vct, now, now)).toEqual(anji.key.publicJwk);
    expect(issuerKeyFor(list, CHANGZHOU, changzhou.key.kid, vct, now, now)).toEqual(changzhou.key.publicJwk);
    expect(issuerKeyFor(list, ANJI, changzhou.key.kid, vct, now, now)).toBeUndefined();
    expect(issuerKeyFor(list, '110101', anji.key.kid, vct, now, now)).toBeUndefined();
    expect(issuerKeyFor(list, ANJI, anji.key.kid, 'urn:tongban:certificate:passport', now, now)).toBeUndefined();
    // A list built in code with a mismatched kid is not trusted either.
    const forged = structuredClone(list);
    forged.issuers[0]!.keys[0]!.jwk = changzhou.key.publicJwk;
    expect(issuerKeyFor(forged, ANJI, anji.key.kid, vct, now, now)).toBeUndefined();
  });

  it('a retired key: only for what it signed before retirement, only until verifyUntil', () => {
    const retiredAt = new Date(now.getTime() + 1000);
    const verifyUntil = new Date(now.getTime() + 10_000);
    const rotated = structuredClone(list);
    Object.assign(rotated.issuers[0]!.keys[0]!, { retiredAt: retiredAt.toISOString(), verifyUntil: verifyUntil.toISOString() });
    const kid = anji.key.kid;
    expect(issuerKeyFor(rotated, ANJI, kid, vct, now, verifyUntil)).toEqual(anji.key.publicJwk);
    expect(issuerKeyFor(rotated, ANJI, kid, vct, retiredAt, retiredAt)).toBeUndefined();
    expect(issuerKeyFor(rotated, ANJI, kid, vct, now, new Date(verifyUntil.getTime() + 1))).toBeUndefined();
    delete rotated.issuers[0]!.keys[0]!.verifyUntil;
    expect(issuerKeyFor(rotated, ANJI, kid, vct, now, now)).toBeUndefined();
  });
});
