import { beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, type PublicJwk, type SigningAlgorithm, type SigningKey } from '../crypto/index.ts';
import { ANJI, statusUri } from '../../test/support/certificate-fixtures.ts';
import { signStatusList, STATUS_VALUE, verifyStatusList } from './index.ts';

const now = new Date('2026-03-10T02:00:00Z');
const uri = statusUri(ANJI);

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  await expect(promise).rejects.toMatchObject({ name: 'TongbanError', code });
}

describe.each<SigningAlgorithm>(['Ed25519', 'SM2'])('status list signed with %s', (algorithm) => {
  let key: SigningKey;
  const keys = (k: SigningKey) => (kid: string): PublicJwk | undefined => (kid === k.kid ? k.publicJwk : undefined);
  beforeAll(async () => {
    key = await generateSigningKey(algorithm, ANJI);
  });

  it('round trip: two-bit values at several indexes, sub/iss/ttl/exp as the contract says', async () => {
    const statuses = new Array<number>(1000).fill(STATUS_VALUE.valid);
    statuses[0] = STATUS_VALUE.revoked;
    statuses[3] = STATUS_VALUE.suspended;
    statuses[4] = 3;
    statuses[517] = STATUS_VALUE.suspended;
    statuses[999] = STATUS_VALUE.revoked;
    const jwt = await signStatusList({ key, issuer: ANJI, uri, statuses, now, ttlSeconds: 60, validSeconds: 86_400 });
    const [h, p] = jwt.split('.') as [string, string];
    expect(JSON.parse(Buffer.from(h, 'base64url').toString())).toEqual({ alg: algorithm === 'Ed25519' ? 'EdDSA' : 'SM2', typ: 'statuslist+jwt', kid: key.kid });
    const iat = now.getTime() / 1000;
    expect(JSON.parse(Buffer.from(p, 'base64url').toString())).toMatchObject({ sub: uri, iss: `urn:tongban:node:${ANJI}`, iat, exp: iat + 86_400, ttl: 60, status_list: { bits: 2 } });
    const list = await verifyStatusList(jwt, { keys: keys(key), uri, now });
    expect(statuses.map((_, i) => list.statusAt(i))).toEqual(statuses);
    expect(list).toMatchObject({ issuedAt: now, expiresAt: new Date(now.getTime() + 86_400_000), ttlSeconds: 60 });
    expect(() => list.statusAt(1004)).toThrow(expect.objectContaining({ code: 'CERTIFICATE_STATUS_UNAVAILABLE' }));
    expect(() => list.statusAt(-1)).toThrow(expect.objectContaining({ code: 'CERTIFICATE_STATUS_UNAVAILABLE' }));
  });

  it('refuses the list of another URI, another key, an unknown kid, a tampered list, an expired list', async () => {
    const jwt = await signStatusList({ key, issuer: ANJI, uri, statuses: [0, 1, 2], now, ttlSeconds: 60, validSeconds: 3600 });
    await expectCode(verifyStatusList(jwt, { keys: keys(key), uri: statusUri(ANJI, 'l2'), now }), 'CERTIFICATE_STATUS_UNAVAILABLE');
    const other = await generateSigningKey(algorithm, ANJI);
    await expectCode(verifyStatusList(jwt, { keys: () => other.publicJwk, uri, now }), 'CERTIFICATE_STATUS_UNAVAILABLE');
    await expectCode(verifyStatusList(jwt, { keys: () => undefined, uri, now }), 'CERTIFICATE_STATUS_UNAVAILABLE');
    // A list signed by another node's key, though that key is known.
    const foreign = await generateSigningKey(algorithm, '320400');
    const foreignJwt = await signStatusList({ key: foreign, issuer: ANJI, uri, statuses: [0], now, ttlSeconds: 60, validSeconds: 3600 });
    await expectCode(verifyStatusList(foreignJwt, { keys: () => foreign.publicJwk, uri, now }), 'CERTIFICATE_STATUS_UNAVAILABLE');
    const [h, p, s] = jwt.split('.') as [string, string, string];
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as { status_list: { lst: string } };
    const clean = await signStatusList({ key, issuer: ANJI, uri, statuses: [0, 0, 0], now, ttlSeconds: 60, validSeconds: 3600 });
    payload.status_list.lst = (JSON.parse(Buffer.from(clean.split('.')[1]!, 'base64url').toString()) as typeof payload).status_list.lst;
    await expectCode(verifyStatusList(`${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`, { keys: keys(key), uri, now }), 'CERTIFICATE_STATUS_UNAVAILABLE');
    await expectCode(verifyStatusList(jwt, { keys: keys(key), uri, now: new Date(now.getTime() + 3600_000) }), 'CERTIFICATE_STATUS_UNAVAILABLE');
    await expectCode(verifyStatusList('x.y', { keys: keys(key), uri, now }), 'CERTIFICATE_STATUS_UNAVAILABLE');
  });
});

describe('signStatusList input', () => {
  it('refuses values that do not fit in two bits and non-positive lifetimes', async () => {
    const key = await generateSigningKey('Ed25519', ANJI);
    const base = { key, issuer: ANJI, uri, now, ttlSeconds: 60, validSeconds: 3600 };
    await expectCode(signStatusList({ ...base, statuses: [0, 4] }), 'VALIDATION_FAILED');
    await expectCode(signStatusList({ ...base, statuses: [0, -1] }), 'VALIDATION_FAILED');
    await expectCode(signStatusList({ ...base, statuses: [0], ttlSeconds: 0 }), 'VALIDATION_FAILED');
  });
});
