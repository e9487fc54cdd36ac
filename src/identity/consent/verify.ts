import { verifyJws } from '../../crypto/index.ts';
import { signingKeyFor, type KeyHolder } from '../../directory/snapshot.ts';
import { TongbanError } from '../../errors/index.ts';
import { CONSENT_CLOCK_SKEW_MS, CONSENT_MAX_LENGTH, CONSENT_TYP, ConsentClaims } from './model.ts';

const DAY_MS = 86_400_000;

/** The hub as a verifier knows it: its division and its keys from the signed directory. */
export type ConsentIssuer = KeyHolder & { readonly division: string };

/**
 * Verifies a consent artefact offline: a compact JWS of typ tongban-consent+jws, signed by a
 * key of the hub (current, or previous within a rotation's overlap), with claims that name that
 * hub and that key. Every failure is CONSENT_INVALID. Pure (no I/O).
 */
export async function verifyConsent(jws: string, hub: ConsentIssuer, now: Date): Promise<ConsentClaims> {
  const invalid = (why: string) => new TongbanError('CONSENT_INVALID', `The consent artefact ${why}.`);
  if (typeof jws !== 'string' || jws.length > CONSENT_MAX_LENGTH) throw invalid('is not a compact JWS of a sensible size');
  const verified = await verifyJws(jws, (kid) => signingKeyFor(hub, kid, now));
  if (!verified.ok) throw invalid(verified.reason === 'malformed' ? 'is not a compact JWS' : `is not signed by the hub ${hub.division}`);
  if (verified.header.typ !== CONSENT_TYP) throw invalid(`is not of type ${CONSENT_TYP}`);
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(verified.payload));
  } catch {
    throw invalid('payload is not JSON');
  }
  const parsed = ConsentClaims.safeParse(raw);
  if (!parsed.success) throw invalid(`payload is malformed (${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')})`);
  const claims = parsed.data;
  if (claims.issuer !== hub.division || claims.kid !== verified.header.kid) throw invalid(`does not name the hub ${hub.division} and the key it is signed with`);
  return claims;
}

/** The exchange a consent is checked against: as the provider sees it (the requester proven by its signature). */
export interface ConsentedExchange {
  readonly requester: string;
  readonly provider: string;
  readonly agreementId: string;
  readonly itemCode: string;
  readonly service: string;
  readonly purpose: string;
  readonly fields: readonly string[];
  /** Normalised. */
  readonly subject: { readonly type: string; readonly value: string };
}

/**
 * The consent covers this exchange, now: same requester, provider, agreement, item, service,
 * subject and purpose, fields within the consented ones, within its validity and no longer than
 * `maxDays` from its issue. Every failure is CONSENT_INVALID; messages never carry the subject.
 */
export function checkConsentCovers(claims: ConsentClaims, exchange: ConsentedExchange, now: Date, maxDays: number): void {
  const invalid = (why: string) => new TongbanError('CONSENT_INVALID', `The consent ${claims.id} ${why}.`);
  for (const key of ['requester', 'provider', 'agreementId', 'itemCode', 'service', 'purpose'] as const) {
    if (claims[key] !== exchange[key]) throw invalid(`is for another ${key} (${claims[key]}, not ${exchange[key]})`);
  }
  if (exchange.subject.type !== claims.subject.type || exchange.subject.value !== claims.subject.value) throw invalid('is for another subject');
  const consented = new Set(claims.fields);
  const outside = exchange.fields.filter((f) => !consented.has(f));
  if (outside.length > 0) throw invalid(`does not cover the field(s) ${outside.join(', ')}`);
  const t = now.getTime();
  const issued = Date.parse(claims.issuedAt);
  const expires = Date.parse(claims.expiresAt);
  if (Date.parse(claims.notBefore) > t + CONSENT_CLOCK_SKEW_MS) throw invalid('is not valid yet');
  if (t >= expires) throw invalid('has expired');
  if (expires - issued > maxDays * DAY_MS) throw invalid(`lasts ${Math.ceil((expires - issued) / DAY_MS)} days; this node relies on a consent for at most ${maxDays}`);
}
