import canonicalizeModule from 'canonicalize';
import { fromBase64url, toBase64url } from './base64url.ts';
import { signBytes, verifyBytes, type PublicJwk, type SigningKey } from './keys.ts';

const canonicalizeFn = canonicalizeModule as unknown as (value: unknown) => string | undefined;

/** RFC 8785 JSON Canonicalization Scheme: the bytes every party signs for the same document. */
export function canonicalJson(value: unknown): string {
  const text = canonicalizeFn(value);
  if (text === undefined) throw new TypeError('value cannot be canonicalised');
  return text;
}

/** JOSE names for the two signing algorithms ("SM2" is not IANA-registered; it is SM2 with SM3 and the standard ID). */
export function joseAlg(key: { algorithm: 'Ed25519' | 'SM2' }): 'EdDSA' | 'SM2' {
  return key.algorithm === 'Ed25519' ? 'EdDSA' : 'SM2';
}

export interface JwsHeader {
  readonly alg: 'EdDSA' | 'SM2';
  readonly kid: string;
  readonly typ?: string;
  readonly [extra: string]: unknown;
}

function signingInput(header: string, payload: Uint8Array): Uint8Array {
  return new TextEncoder().encode(`${header}.${toBase64url(payload)}`);
}

/** A compact JWS; with `detached` the payload part is left empty (RFC 7515 Appendix F). */
export async function signJws(
  key: SigningKey,
  payload: Uint8Array,
  options: { typ?: string; detached?: boolean; extra?: Record<string, unknown> } = {},
): Promise<string> {
  const header: JwsHeader = { alg: joseAlg(key), kid: key.kid, ...(options.typ ? { typ: options.typ } : {}), ...options.extra };
  const encodedHeader = toBase64url(new TextEncoder().encode(JSON.stringify(header)));
  const signature = await signBytes(key, signingInput(encodedHeader, payload));
  return `${encodedHeader}.${options.detached ? '' : toBase64url(payload)}.${toBase64url(signature)}`;
}

export type JwsResult =
  | { readonly ok: true; readonly header: JwsHeader; readonly payload: Uint8Array }
  | { readonly ok: false; readonly reason: 'malformed' | 'unknown-key' | 'invalid' };

/**
 * Verifies a compact JWS. `detachedPayload` supplies the payload of a detached JWS.
 * `resolveKey` gets the kid and returns the public key, or null when it is not trusted.
 */
export async function verifyJws(
  jws: string,
  resolveKey: (kid: string) => Promise<PublicJwk | null> | PublicJwk | null,
  detachedPayload?: Uint8Array,
): Promise<JwsResult> {
  const parts = jws.split('.');
  if (parts.length !== 3) return { ok: false, reason: 'malformed' };
  const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string];
  let header: JwsHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(fromBase64url(encodedHeader))) as JwsHeader;
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (typeof header.kid !== 'string' || (header.alg !== 'EdDSA' && header.alg !== 'SM2')) return { ok: false, reason: 'malformed' };
  const payload = detachedPayload ?? fromBase64url(encodedPayload);
  if (detachedPayload && encodedPayload !== '') return { ok: false, reason: 'malformed' };
  const jwk = await resolveKey(header.kid);
  if (!jwk) return { ok: false, reason: 'unknown-key' };
  // The header's alg must match the key's type, or a verifier could be steered to another algorithm.
  if ((jwk.kty === 'OKP') !== (header.alg === 'EdDSA')) return { ok: false, reason: 'invalid' };
  const valid = await verifyBytes(jwk, signingInput(encodedHeader, payload), fromBase64url(encodedSignature));
  return valid ? { ok: true, header, payload } : { ok: false, reason: 'invalid' };
}
