import { createHash } from 'node:crypto';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { TongbanError } from '../errors/index.ts';
import { Person } from './person.ts';

/**
 * The audience of a token that is the person's own credential — issued to the command line
 * (client `tongban-cli`): every node and the hub accept it.
 */
export const FEDERATION_AUDIENCE = 'urn:tongban:federation';
const NODE_AUDIENCE_PREFIX = 'urn:tongban:node:';

/** The audience of a token issued to one node's client (its division): that node accepts it, nobody else. */
export function nodeAudience(division: string): string {
  return `${NODE_AUDIENCE_PREFIX}${division}`;
}

/** What a node (or the hub, as `self`) accepts as an access token: the person's own credential, or one issued for it. */
export function accessTokenAudiences(self: string): readonly string[] {
  return [FEDERATION_AUDIENCE, nodeAudience(self)];
}

/** RFC 9068: a JWT access token says so in its header; an ID token (or any other JWT) is no access token. */
export const ACCESS_TOKEN_TYP = 'at+jwt';
/** The hub signs its OIDC tokens with Ed25519 (identity contract). */
export const HUB_TOKEN_ALGORITHMS = ['EdDSA'];
/** Clock skew tolerated between the hub and a node when checking exp/nbf/iat. */
export const CLOCK_TOLERANCE_SECONDS = 30;

/** The hub's issuer identifier: `<hubUrl>/oidc` (a trailing slash of the URL ignored). */
export function issuerOf(hubUrl: string): string {
  return `${hubUrl.replace(/\/+$/, '')}/oidc`;
}

/** Where the hub publishes the keys of its tokens: `<hubUrl>/oidc/jwks`. */
export function hubJwksUrl(hubUrl: string): URL {
  return new URL(`${issuerOf(hubUrl)}/jwks`);
}

/** The hub's JWKS, fetched and cached by jose (fetched again when a token names a kid it does not know, or the hub's URL changes). */
export function remoteHubKeys(hubUrl: () => string): JWTVerifyGetKey {
  let resolver: JWTVerifyGetKey | undefined;
  let forUrl: string | undefined;
  return (header, token) => {
    const url = hubUrl();
    if (!resolver || forUrl !== url) {
      resolver = createRemoteJWKSet(hubJwksUrl(url), { timeoutDuration: 5000, cooldownDuration: 30_000 });
      forUrl = url;
    }
    return resolver(header, token);
  };
}

/** How a node checks what the hub signed: the hub's keys (its JWKS in production, a test key in unit tests), its issuer, the clock. */
export interface HubTokenVerifier {
  readonly keys: JWTVerifyGetKey;
  /** `<hubUrl>/oidc`. */
  readonly issuer: string;
  readonly clock: () => Date;
}

export interface HubTokenExpectation {
  /** The header's `typ`: `at+jwt` for access tokens; a tracker proof has its own. */
  readonly typ: string;
  /** The token's `aud` must be one of these. */
  readonly audiences: readonly string[];
  /** Claims that must be present besides `sub`, `exp` and `iat`. */
  readonly requiredClaims?: readonly string[];
  /** Words for the refusal: "access token", "tracker proof". */
  readonly what?: string;
}

/**
 * The one check of a JWT the hub signed (access tokens at every node and the hub, the tracker's
 * proofs): signature by a key of the hub's JWKS (EdDSA only), issuer, `typ`, an audience of the
 * expected set, not expired (30 s of skew). Answers the claims. UNAUTHORIZED (401) for a token that
 * does not verify; HUB_UNREACHABLE (503) when the hub's keys cannot be fetched.
 */
export async function verifyHubToken(token: string | undefined, verifier: HubTokenVerifier, expected: HubTokenExpectation): Promise<JWTPayload> {
  const what = expected.what ?? 'access token';
  if (!token) throw new TongbanError('UNAUTHORIZED', `This call needs a hub ${what} (Authorization: Bearer …).`);
  try {
    const { payload } = await jwtVerify(token, verifier.keys, {
      issuer: verifier.issuer,
      audience: [...expected.audiences],
      typ: expected.typ,
      algorithms: HUB_TOKEN_ALGORITHMS,
      requiredClaims: ['sub', 'exp', 'iat', ...(expected.requiredClaims ?? [])],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      currentDate: verifier.clock(),
    });
    return payload;
  } catch (error) {
    // The keys could not be fetched: the hub is unreachable, not the caller's fault.
    if (error instanceof joseErrors.JWKSTimeout || !(error instanceof joseErrors.JOSEError)) {
      throw new TongbanError('HUB_UNREACHABLE', `The hub's keys (${verifier.issuer}/jwks) cannot be fetched to check the ${what}; retry later.`, { cause: error });
    }
    const reason = error instanceof joseErrors.JWTExpired ? 'it has expired; sign in again' : error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'aud' ? 'it was issued for another audience' : error.code;
    throw new TongbanError('UNAUTHORIZED', `The ${what} is not one the hub issued for this server (${reason}).`, { cause: error });
  }
}

/**
 * The person a hub access token names, at a server that accepts `audiences`: the token verified
 * (`verifyHubToken`, typ at+jwt) and its claims read as a Person. UNAUTHORIZED when it does not
 * describe a citizen or staff member.
 */
export async function verifyAccessToken(token: string, verifier: HubTokenVerifier, audiences: readonly string[]): Promise<Person> {
  const claims = await verifyHubToken(token, verifier, { typ: ACCESS_TOKEN_TYP, audiences });
  const person = personFromClaims(claims, 'access-token');
  if (!person) throw new TongbanError('UNAUTHORIZED', 'The access token does not describe a Tongban citizen or staff member.');
  return person;
}

/**
 * The Person the hub's claims describe (ID token or JWT access token): the tongban_* claims of the
 * identity contract, checked with the Person schema. Undefined when they do not describe one.
 */
export function personFromClaims(claims: Record<string, unknown>, via: Person['via']): Person | undefined {
  const kind = claims.tongban_kind;
  const base = { subject: claims.sub, name: claims.name, via };
  const candidate =
    kind === 'citizen'
      ? { ...base, kind, idNumber: claims.tongban_id_number, roles: [] }
      : kind === 'staff'
        ? { ...base, kind, node: claims.tongban_node, roles: claims.tongban_roles, ...(claims.tongban_login === undefined ? {} : { login: claims.tongban_login }) }
        : undefined;
  const parsed = Person.safeParse(candidate);
  if (!parsed.success) return undefined;
  if (parsed.data.kind === 'citizen' && !parsed.data.idNumber) return undefined;
  if (parsed.data.kind === 'staff' && !parsed.data.node) return undefined;
  return parsed.data;
}

/** SHA-256 (base64url) of a token: binds a signed answer to the token it was asked with, without repeating it. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url');
}
