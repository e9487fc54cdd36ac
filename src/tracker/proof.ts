import { createHash } from 'node:crypto';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { TongbanError } from '../errors/index.ts';
import { validateResidentId } from '../standards/index.ts';

/** The audience of every hub-issued access token (the contract's default resource indicator). */
export const FEDERATION_AUDIENCE = 'urn:tongban:federation';
/** RFC 9068: a JWT access token says so in its header; an ID token (or any other JWT) is no proof. */
export const ACCESS_TOKEN_TYP = 'at+jwt';
/** The hub signs its OIDC tokens with Ed25519 (identity contract). */
export const ACCESS_TOKEN_ALGORITHMS = ['EdDSA'];
/** Clock skew tolerated between the hub and a node when checking exp/nbf/iat. */
export const CLOCK_TOLERANCE_SECONDS = 30;

/** A citizen, as a valid hub access token proves them: never what a request body says. */
export interface CitizenProof {
  /** The hub's `sub`. */
  readonly subject: string;
  /** The resident ID number (GB 11643, normalised) from `tongban_id_number`. */
  readonly idNumber: string;
  /** SHA-256 of the token (base64url): binds a node's signed answer to the proof it was asked with. */
  readonly tokenHash: string;
  /** Expiry of the token (seconds since the epoch). */
  readonly expiresAt: number;
}

export interface ProofOptions {
  /** Resolves the hub's verification key for a token header: the hub JWKS in production, a test key in unit tests. */
  readonly keys: JWTVerifyGetKey;
  /** `<hubUrl>/oidc`. */
  readonly issuer: string;
  readonly clock: () => Date;
}

/** The issuer and JWKS location of the hub at `hubUrl` (identity contract). */
export function hubOidc(hubUrl: string): { issuer: string; jwks: URL } {
  const base = hubUrl.replace(/\/+$/, '');
  return { issuer: `${base}/oidc`, jwks: new URL(`${base}/oidc/jwks`) };
}

/** The hub's JWKS, fetched and cached by jose (refetched when a token names a kid it does not know). */
export function remoteHubKeys(hubUrl: () => string): JWTVerifyGetKey {
  let resolver: JWTVerifyGetKey | undefined;
  let forUrl: string | undefined;
  return (header, token) => {
    const url = hubUrl();
    if (!resolver || forUrl !== url) {
      resolver = createRemoteJWKSet(hubOidc(url).jwks, { timeoutDuration: 5000, cooldownDuration: 30_000 });
      forUrl = url;
    }
    return resolver(header, token);
  };
}

export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url');
}

/**
 * Verifies a citizen's proof of sign-in offline: a JWT access token issued by the hub for the
 * federation (signature by a key of the hub's JWKS, `iss`, `aud`, `typ` at+jwt, not expired), of a
 * citizen (`tongban_kind` 'citizen') with a valid resident ID number. UNAUTHORIZED (401) for any
 * token that does not verify; TRACKER_CITIZEN_ONLY (403) for a valid token of someone else (staff).
 */
export async function verifyCitizenProof(token: string | undefined, options: ProofOptions): Promise<CitizenProof> {
  if (!token) throw new TongbanError('UNAUTHORIZED', "This call needs the citizen's hub access token (Authorization: Bearer …).");
  let payload;
  try {
    ({ payload } = await jwtVerify(token, options.keys, {
      issuer: options.issuer,
      audience: FEDERATION_AUDIENCE,
      typ: ACCESS_TOKEN_TYP,
      algorithms: ACCESS_TOKEN_ALGORITHMS,
      requiredClaims: ['exp', 'sub'],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      currentDate: options.clock(),
    }));
  } catch (error) {
    // The JWKS could not be fetched: the hub is unreachable, not the caller's fault.
    if (error instanceof joseErrors.JWKSTimeout || (error instanceof Error && /fetch failed|ECONNREFUSED/.test(error.message))) {
      throw new TongbanError('HUB_UNREACHABLE', "The hub's signing keys could not be fetched to check the access token; retry later.", { cause: error });
    }
    const expired = error instanceof joseErrors.JWTExpired;
    throw new TongbanError('UNAUTHORIZED', expired ? 'The access token has expired; sign in again.' : 'The access token is not a valid hub access token for the federation.', { cause: error });
  }
  if (payload.tongban_kind !== 'citizen') {
    throw new TongbanError('TRACKER_CITIZEN_ONLY', 'Only a citizen signed in at the hub can read their data tracker.');
  }
  const id = typeof payload.tongban_id_number === 'string' ? validateResidentId(payload.tongban_id_number) : undefined;
  if (!id?.valid) throw new TongbanError('UNAUTHORIZED', 'The access token carries no valid resident ID number.');
  return { subject: payload.sub!, idNumber: id.value, tokenHash: tokenHash(token), expiresAt: payload.exp! };
}
