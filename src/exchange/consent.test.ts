import { describe, expect, it } from 'vitest';
import { checkConsent } from './consent.ts';
import { Consent } from './protocol.ts';

const now = new Date('2026-11-30T08:00:00Z');
const day = 86_400_000;
const exchange = (consent: Record<string, unknown>) => ({
  subject: { type: 'idNumber' as const, value: '11010519491231002X' },
  agreementId: 'AGR-1',
  itemCode: 'N037',
  provider: '522732',
  consent: Consent.parse(consent),
});
const consent = (grantedAt: number, expiresAt: number, extra: Record<string, unknown> = {}) => ({
  subject: '11010519491231002X',
  agreementId: 'AGR-1',
  itemCode: 'N037',
  provider: '522732',
  grantedAt: new Date(now.getTime() + grantedAt).toISOString(),
  expiresAt: new Date(now.getTime() + expiresAt).toISOString(),
  method: 'counter-signature',
  ...extra,
});

describe('consent', () => {
  it('is valid within its period, up to the maximum, with the subject in either case of x', () => {
    expect(() => checkConsent(exchange(consent(-day, 89 * day)), now)).not.toThrow();
    expect(() => checkConsent(exchange(consent(-day, 29 * day, { subject: '11010519491231002x' })), now)).not.toThrow();
    // Within the clock skew a consent granted "now" on a slightly faster clock is fine.
    expect(() => checkConsent(exchange(consent(10_000, day)), now)).not.toThrow();
  });

  it.each([
    ['longer than 90 days', consent(-day, 90 * day), /at most 90 days/],
    ['granted in the future', consent(3_600_000, day), /future/],
    ['expired', consent(-2 * day, -day), /expired/],
    ['for another subject', consent(-day, day, { subject: '110105194912310021' }), /does not cover/],
  ])('refuses a consent %s with CONSENT_INVALID', (_name, c, message) => {
    expect(() => checkConsent(exchange(c), now)).toThrow(expect.objectContaining({ code: 'CONSENT_INVALID', message: expect.stringMatching(message) }));
  });

  it('takes the node’s configured maximum', () => {
    expect(() => checkConsent(exchange(consent(-day, 20 * day)), now, 30)).not.toThrow();
    expect(() => checkConsent(exchange(consent(-day, 40 * day)), now, 30)).toThrow(/at most 30 days/);
    expect(() => checkConsent(exchange(consent(-day, 200 * day)), now, 365)).not.toThrow();
  });

  it('is strict: unknown members and reversed periods fail the schema', () => {
    expect(Consent.safeParse({ ...consent(-day, day), scope: 'all' }).success).toBe(false);
    expect(Consent.safeParse(consent(day, -day)).success).toBe(false);
    expect(Consent.safeParse({ ...consent(-day, day), grantedAt: 'yesterday' }).success).toBe(false);
  });
});
