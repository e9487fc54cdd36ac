import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateSigningKey, signJws, type SigningKey } from '../../crypto/index.ts';
import { withResidentIdCheck } from '../../standards/index.ts';
import { checkConsentCovers, ConsentClaims, CONSENT_TYP, consentViewStatus, signConsent, verifyConsent } from './index.ts';

const now = new Date('2026-11-30T08:00:00Z');
const day = 86_400_000;
const citizen = withResidentIdCheck('52273219900101123');

function claimsFor(hub: SigningKey, overrides: Partial<ConsentClaims> = {}): ConsentClaims {
  return {
    id: randomUUID(),
    issuer: '100000',
    kid: hub.kid,
    subject: { type: 'idNumber', value: citizen },
    requester: '330523',
    provider: '522732',
    agreementId: 'AGR-1',
    itemCode: 'N037',
    service: 'marriage.status',
    purpose: '婚姻登记',
    fields: ['maritalStatus', 'spouseName'],
    use: 'single',
    issuedAt: new Date(now.getTime() - 60_000).toISOString(),
    notBefore: new Date(now.getTime() - 60_000).toISOString(),
    expiresAt: new Date(now.getTime() + 30 * day).toISOString(),
    ...overrides,
  };
}
const issuer = (hub: SigningKey) => ({ division: '100000', signingKey: { kid: hub.kid, jwk: hub.publicJwk } });
const exchange = (overrides: Record<string, unknown> = {}) => ({
  requester: '330523',
  provider: '522732',
  agreementId: 'AGR-1',
  itemCode: 'N037',
  service: 'marriage.status',
  purpose: '婚姻登记',
  fields: ['maritalStatus'],
  subject: { type: 'idNumber', value: citizen },
  ...overrides,
});

describe('consent artefact', () => {
  it.each(['Ed25519', 'SM2'] as const)('signed by a %s hub key, verifies offline against that key and covers its exchange', async (algorithm) => {
    const hub = await generateSigningKey(algorithm, '100000');
    const claims = claimsFor(hub);
    const jws = await signConsent(hub, claims);
    expect(JSON.parse(Buffer.from(jws.split('.')[0]!, 'base64url').toString())).toMatchObject({ typ: CONSENT_TYP, kid: hub.kid });
    const verified = await verifyConsent(jws, issuer(hub), now);
    expect(verified).toEqual(claims);
    expect(() => checkConsentCovers(verified, exchange(), now, 90)).not.toThrow();
  });

  it('is refused when signed by another key, altered, of another typ, or naming another issuer or key: CONSENT_INVALID', async () => {
    const hub = await generateSigningKey('Ed25519', '100000');
    const other = await generateSigningKey('Ed25519', '100000');
    const claims = claimsFor(hub);
    const good = await signConsent(hub, claims);
    const [header, , signature] = good.split('.');
    const altered = `${header}.${Buffer.from(JSON.stringify({ ...claims, fields: ['maritalStatus', 'spouseName', 'spouseIdNumber'] })).toString('base64url')}.${signature}`;
    const forgedKey = await signConsent(other, claimsFor(other));
    const otherTyp = await signJws(hub, new TextEncoder().encode(JSON.stringify(claims)), { typ: 'tongban-exchange-request+jws' });
    const otherIssuer = await signJws(hub, new TextEncoder().encode(JSON.stringify({ ...claims, issuer: '110000' })), { typ: CONSENT_TYP });
    const extraMember = await signJws(hub, new TextEncoder().encode(JSON.stringify({ ...claims, scope: 'all' })), { typ: CONSENT_TYP });
    for (const jws of [altered, forgedKey, otherTyp, otherIssuer, extraMember, 'not.a-jws', good.slice(0, -4)]) {
      await expect(verifyConsent(jws, issuer(hub), now)).rejects.toMatchObject({ code: 'CONSENT_INVALID' });
    }
  });

  it.each([
    ['another requester', exchange({ requester: '320400' }), /another requester/],
    ['another provider', exchange({ provider: '330523' }), /another provider/],
    ['another agreement', exchange({ agreementId: 'AGR-2' }), /another agreementId/],
    ['another item', exchange({ itemCode: 'N034' }), /another itemCode/],
    ['another service', exchange({ service: 'household.residence-proof' }), /another service/],
    ['another purpose', exchange({ purpose: '市场营销' }), /another purpose/],
    ['another subject', exchange({ subject: { type: 'idNumber', value: withResidentIdCheck('52273219900101124') } }), /another subject/],
    ['a field outside the consented ones', exchange({ fields: ['maritalStatus', 'spouseIdNumber'] }), /spouseIdNumber/],
  ])('does not cover an exchange with %s', async (_name, other, message) => {
    const hub = await generateSigningKey('Ed25519', '100000');
    const claims = claimsFor(hub);
    expect(() => checkConsentCovers(claims, other, now, 90)).toThrow(expect.objectContaining({ code: 'CONSENT_INVALID', message: expect.stringMatching(message) }));
    // The subject never appears in a refusal.
    try {
      checkConsentCovers(claims, other, now, 90);
    } catch (error) {
      expect(String((error as Error).message)).not.toContain(citizen);
    }
  });

  it('is valid only from notBefore (within the clock skew) until expiresAt, and no longer than the node allows', async () => {
    const hub = await generateSigningKey('Ed25519', '100000');
    const at = (offset: number) => new Date(now.getTime() + offset);
    const claims = claimsFor(hub, { issuedAt: now.toISOString(), notBefore: at(3_600_000).toISOString(), expiresAt: at(2 * day).toISOString() });
    expect(() => checkConsentCovers(claims, exchange(), now, 90)).toThrow(/not valid yet/);
    expect(() => checkConsentCovers(claims, exchange(), at(3_600_000 - 10_000), 90)).not.toThrow();
    expect(() => checkConsentCovers(claims, exchange(), at(2 * day), 90)).toThrow(/expired/);
    const long = claimsFor(hub, { issuedAt: now.toISOString(), notBefore: now.toISOString(), expiresAt: at(100 * day).toISOString() });
    expect(() => checkConsentCovers(long, exchange(), now, 90)).toThrow(/at most 90/);
    expect(() => checkConsentCovers(long, exchange(), now, 365)).not.toThrow();
  });

  it('is strict: unknown members, a reversed period, a subject not in normalised form fail the schema', async () => {
    const hub = await generateSigningKey('Ed25519', '100000');
    const claims = claimsFor(hub);
    expect(ConsentClaims.safeParse({ ...claims, scope: 'all' }).success).toBe(false);
    expect(ConsentClaims.safeParse({ ...claims, expiresAt: claims.notBefore }).success).toBe(false);
    expect(ConsentClaims.safeParse({ ...claims, use: 'twice' }).success).toBe(false);
    expect(ConsentClaims.safeParse({ ...claims, fields: ['name', 'name'] }).success).toBe(false);
    const x = withResidentIdCheck('11010519491231002');
    if (x.endsWith('X')) expect(ConsentClaims.safeParse({ ...claims, subject: { type: 'idNumber', value: x.toLowerCase() } }).success).toBe(false);
    await expect(signConsent(await generateSigningKey('Ed25519', '100000'), claims)).rejects.toThrow(/another key/);
  });
});

describe('a consent as its citizen sees it', () => {
  const later = new Date(now.getTime() + day).toISOString();
  const earlier = new Date(now.getTime() - 1000).toISOString();
  it('is used once a single-use consent has been served; revoked wins over used, used over expired', () => {
    expect(consentViewStatus({ status: 'active', expiresAt: later, useCount: 0 }, 'single', now)).toBe('active');
    expect(consentViewStatus({ status: 'active', expiresAt: later, useCount: 1 }, 'single', now)).toBe('used');
    expect(consentViewStatus({ status: 'active', expiresAt: earlier, useCount: 1 }, 'single', now)).toBe('used');
    expect(consentViewStatus({ status: 'active', expiresAt: earlier, useCount: 0 }, 'single', now)).toBe('expired');
    expect(consentViewStatus({ status: 'revoked', expiresAt: later, useCount: 1 }, 'single', now)).toBe('revoked');
    // A consent until a date is never used up.
    expect(consentViewStatus({ status: 'active', expiresAt: later, useCount: 5 }, 'until-expiry', now)).toBe('active');
    expect(consentViewStatus({ status: 'active', expiresAt: earlier, useCount: 5 }, 'until-expiry', now)).toBe('expired');
  });
});
