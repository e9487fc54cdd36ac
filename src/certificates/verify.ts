import { z } from 'zod';
import { fromBase64url, verifyBytes, type PublicJwk } from '../crypto/index.ts';
import { TongbanError, type ErrorCode } from '../errors/index.ts';
import { validateLicenseId } from '../standards/index.ts';
import { NODE_URN_PREFIX, type CertificatePayload, type VerifiedCertificate } from './model.ts';
import { decodeDisclosure, parseSdJwt, type ParsedSdJwt } from './parse.ts';
import { decodeJson, digestOf } from './sd-jwt.ts';
import { STATUS_VALUE } from './status-list.ts';
import { issuerKeyFor, type TrustList } from './trust-list.ts';
import { certificateTypeByVct, type CertificateType } from './types.ts';

export interface VerifyPresentationOptions {
  trustList: TrustList;
  now: Date;
  /** The status value (0 valid, 1 revoked, 2 suspended) at idx of the list at uri; may throw CERTIFICATE_STATUS_UNAVAILABLE. */
  statusOf(uri: string, idx: number, issuer: string): Promise<number>;
  /** Required KB-JWT aud when the certificate is bound (a bound certificate verified without one is refused). */
  audience?: string;
  /** Required KB-JWT nonce when given. */
  nonce?: string;
  /** How old a KB-JWT may be; default 300. */
  maxKeyBindingAgeSeconds?: number;
}

/** Allowance for clocks that disagree: nbf, iat and KB-JWT iat may be this far in the future. */
const SKEW_SECONDS = 60;
const DEFAULT_KB_AGE_SECONDS = 300;

const KbHeader = z.object({ typ: z.literal('kb+jwt'), alg: z.enum(['EdDSA', 'SM2']) }).loose();
const KbPayload = z.object({ iat: z.number().int(), aud: z.string(), nonce: z.string(), sd_hash: z.string() }).loose();

const fail = (code: ErrorCode, detail: string) => new TongbanError(code, detail);
const algFits = (jwk: PublicJwk, alg: string) => (jwk.kty === 'OKP' ? alg === 'EdDSA' : alg === 'SM2');

/**
 * Verifies a presented certificate. @sd-jwt 0.19.0 misses tampered, unreferenced and duplicated
 * disclosures, typ, aud, KB-JWT iat and a missing exp, so every check is made here, each with
 * its own code, in this order: MALFORMED → DISCLOSURE_INVALID → ISSUER_UNTRUSTED →
 * SIGNATURE_INVALID → NOT_YET_VALID / EXPIRED → KEY_BINDING_INVALID → REVOKED / SUSPENDED.
 */
export async function verifyPresentation(presentation: string, options: VerifyPresentationOptions): Promise<VerifiedCertificate> {
  const parsed = parseSdJwt(presentation);
  const { header, payload } = parsed;
  const type = certificateTypeByVct(payload.vct);
  if (!type) throw fail('CERTIFICATE_MALFORMED', `Unknown certificate type ${payload.vct}.`);
  const issuer = payload.iss.slice(NODE_URN_PREFIX.length);
  checkConsistent(payload, type, issuer);

  const disclosed = checkDisclosures(parsed, type);

  const now = options.now;
  const issuedAt = new Date(payload.iat * 1000);
  const jwk = issuerKeyFor(options.trustList, issuer, header.kid, payload.vct, issuedAt, now);
  const entry = options.trustList.issuers.find((i) => i.division === issuer);
  if (!jwk || !entry) throw fail('CERTIFICATE_ISSUER_UNTRUSTED', untrustedReason(options.trustList, issuer, header.kid, payload.vct));
  if (entry.authorityCode !== payload.certificate.authorityCode) {
    throw fail('CERTIFICATE_ISSUER_UNTRUSTED', `The trust list does not give ${issuer} the authority ${payload.certificate.authorityCode}.`);
  }

  if (!algFits(jwk, header.alg) || !(await verifyBytes(jwk, new TextEncoder().encode(parsed.signingInput), fromBase64url(parsed.signature)))) {
    throw fail('CERTIFICATE_SIGNATURE_INVALID', "The issuer's signature does not verify.");
  }
  try {
    return await afterSignature(parsed, payload, type, issuer, issuedAt, disclosed, options);
  } catch (error) {
    if (error instanceof TongbanError) refusedAfterSignature.add(error);
    throw error;
  }
}

/**
 * Refusals made once the issuer's signature had verified: the certificate named in them is the
 * issuer's, not the presenter's invention (a verifier may file such a refusal under its holder).
 */
const refusedAfterSignature = new WeakSet<TongbanError>();

/** Whether verifyPresentation refused `error` after the issuer's signature verified. */
export function isRefusedAfterSignature(error: unknown): boolean {
  return error instanceof TongbanError && refusedAfterSignature.has(error);
}

async function afterSignature(parsed: ParsedSdJwt, payload: CertificatePayload, type: CertificateType, issuer: string, issuedAt: Date, disclosed: Record<string, string>, options: VerifyPresentationOptions): Promise<VerifiedCertificate> {
  const { header } = parsed;
  const now = options.now;

  const nowSeconds = now.getTime() / 1000;
  if (payload.nbf > nowSeconds + SKEW_SECONDS || payload.iat > nowSeconds + SKEW_SECONDS) {
    throw fail('CERTIFICATE_NOT_YET_VALID', `The certificate is valid from ${payload.certificate.validFrom}.`);
  }
  if (nowSeconds >= payload.exp) throw fail('CERTIFICATE_EXPIRED', `The certificate expired after ${payload.certificate.validUntil}.`);

  const keyBound = await checkKeyBinding(parsed, options, nowSeconds);

  const status = await options.statusOf(payload.status.status_list.uri, payload.status.status_list.idx, issuer);
  if (status === STATUS_VALUE.revoked) throw fail('CERTIFICATE_REVOKED', 'The issuer has revoked this certificate.');
  if (status === STATUS_VALUE.suspended) throw fail('CERTIFICATE_SUSPENDED', 'The issuer has suspended this certificate.');
  if (status !== STATUS_VALUE.valid) throw fail('CERTIFICATE_STATUS_UNAVAILABLE', `Unknown status value ${status}.`);

  return {
    metadata: payload.certificate,
    vct: payload.vct,
    issuer,
    kid: header.kid,
    disclosed,
    withheld: type.fields.map((f) => f.name).filter((name) => !(name in disclosed)),
    status: 'valid',
    keyBound,
    issuedAt: issuedAt.toISOString(),
    expiresAt: new Date(payload.exp * 1000).toISOString(),
  };
}

/**
 * The GB/T 36904 identifier names the type, the issuing authority and the serial: they must be the
 * certificate's own, so that no issuer can present (and have filed under) another's certificate id.
 * The authority code itself is then checked against the trust list.
 */
function idNamesItself(m: CertificatePayload['certificate']): boolean {
  const id = validateLicenseId(m.id);
  return id.valid && id.parsed!.typeCode === m.typeCode && id.parsed!.issuerCode === m.authorityCode && id.parsed!.serial === m.number;
}

/** The issuer signed these together: one that contradicts another is not a Tongban certificate. */
function checkConsistent(payload: CertificatePayload, type: CertificateType, issuer: string): void {
  const m = payload.certificate;
  const problem =
    payload.jti !== m.id ? 'jti is not the certificate id'
    : m.division !== issuer ? 'the division is not the issuer'
    : m.typeCode !== type.typeCode || m.typeName !== type.name ? `the type code is not a ${type.name}'s`
    : m.holderCodeType !== type.holderCodeType ? 'the holder code type does not fit the type'
    : !idNamesItself(m) ? 'the certificate id (GB/T 36904) does not name its own type code, authority code and number'
    : payload.nbf > payload.exp ? 'nbf is after exp'
    : undefined;
  if (problem) throw fail('CERTIFICATE_MALFORMED', `Inconsistent certificate: ${problem}.`);
}

/**
 * Every disclosure must hash to a digest the issuer signed in `_sd`, once, and name a field of
 * the type; a changed value, an added or a repeated disclosure is refused.
 */
function checkDisclosures(parsed: ParsedSdJwt, type: CertificateType): Record<string, string> {
  const signed = new Set(parsed.payload._sd);
  const seen = new Set<string>();
  const disclosed: Record<string, string> = {};
  for (const encoded of parsed.disclosures) {
    const digest = digestOf(encoded);
    if (!signed.has(digest)) throw fail('CERTIFICATE_DISCLOSURE_INVALID', 'A disclosure is not one the issuer signed.');
    if (seen.has(digest)) throw fail('CERTIFICATE_DISCLOSURE_INVALID', 'A disclosure is repeated.');
    seen.add(digest);
    const d = decodeDisclosure(encoded);
    if (!d) throw fail('CERTIFICATE_DISCLOSURE_INVALID', 'A disclosure is not [salt, name, value].');
    if (!type.fields.some((f) => f.name === d.name)) throw fail('CERTIFICATE_DISCLOSURE_INVALID', `A ${type.name} has no field ${d.name}.`);
    if (Object.hasOwn(disclosed, d.name)) throw fail('CERTIFICATE_DISCLOSURE_INVALID', `Field ${d.name} is disclosed twice.`);
    disclosed[d.name] = d.value;
  }
  return disclosed;
}

function untrustedReason(list: TrustList, issuer: string, kid: string, vct: string): string {
  const entry = list.issuers.find((i) => i.division === issuer);
  if (!entry) return `${issuer} is not on the trust list.`;
  if (!entry.types.includes(vct)) return `${issuer} is not trusted to issue ${vct}.`;
  const key = entry.keys.find((k) => k.kid === kid);
  if (!key) return `The trust list has no key ${kid} for ${issuer}.`;
  return `Key ${kid} was retired: it is not trusted for this certificate.`;
}

/** A bound certificate (cnf) needs a KB-JWT by that key, for this verifier, fresh, over this very presentation. */
async function checkKeyBinding(parsed: ParsedSdJwt, options: VerifyPresentationOptions, nowSeconds: number): Promise<boolean> {
  const bound = parsed.payload.cnf?.jwk;
  const kb = parsed.keyBinding;
  const refuse = (detail: string) => fail('CERTIFICATE_KEY_BINDING_INVALID', detail);
  if (!bound) {
    if (kb) throw refuse('A key binding JWT came with a certificate bound to no key.');
    return false;
  }
  if (!kb) throw refuse('This certificate is bound to a holder key: the presentation needs a key binding JWT.');
  const [encodedHeader, encodedPayload, encodedSignature] = kb.split('.') as [string, string, string];
  let header: z.infer<typeof KbHeader>;
  let payload: z.infer<typeof KbPayload>;
  try {
    header = KbHeader.parse(decodeJson(encodedHeader));
    payload = KbPayload.parse(decodeJson(encodedPayload));
  } catch {
    throw refuse('The key binding JWT is not a kb+jwt.');
  }
  // The KB-JWT header names no key: it must verify with the key the issuer bound (cnf.jwk).
  if (!algFits(bound, header.alg) || !/^[A-Za-z0-9_-]+$/.test(encodedSignature)) throw refuse('The key binding JWT is not signed by the bound key.');
  const valid = await verifyBytes(bound, new TextEncoder().encode(`${encodedHeader}.${encodedPayload}`), fromBase64url(encodedSignature));
  if (!valid) throw refuse('The key binding JWT is not signed by the bound key.');
  if (options.audience === undefined || payload.aud !== options.audience) throw refuse('The key binding JWT is for another verifier (aud).');
  if (options.nonce !== undefined && payload.nonce !== options.nonce) throw refuse('The key binding JWT answers another challenge (nonce).');
  if (payload.iat > nowSeconds + SKEW_SECONDS) throw refuse('The key binding JWT is issued in the future.');
  if (nowSeconds - payload.iat > (options.maxKeyBindingAgeSeconds ?? DEFAULT_KB_AGE_SECONDS)) throw refuse('The key binding JWT is too old.');
  if (payload.sd_hash !== digestOf(parsed.withoutKeyBinding)) throw refuse('The key binding JWT is over another presentation (sd_hash).');
  return true;
}
