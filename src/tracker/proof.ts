import { randomUUID, type KeyObject } from 'node:crypto';
import { decodeProtectedHeader, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { z } from 'zod';
import { TongbanError } from '../errors/index.ts';
import { accessTokenAudiences, ACCESS_TOKEN_TYP, CLOCK_TOLERANCE_SECONDS, nodeAudience, tokenHash, verifyHubToken, type HubTokenVerifier } from '../identity/hub-tokens.ts';
import { validateResidentId } from '../standards/index.ts';

/** The header `typ` of the hub's per-node tracker proof: no access token, no ID token is one. */
export const TRACKER_PROOF_TYP = 'tongban-tracker-proof+jwt';
/** A tracker proof lives this long at most (the node refuses a longer one). */
export const TRACKER_PROOF_TTL_SECONDS = 60;
/** The `purpose` claim of a tracker proof: it opens `GET /v1/tracker/entries`, nothing else. */
export const TRACKER_PURPOSE = 'tracker';
/** The replay cache's key for tracker proofs (their `jti`s). */
const REPLAY_KEY = 'tracker-proof';

/** A citizen, as a verified hub token proves them: never what a request says. */
export interface CitizenProof {
  /** The hub's `sub`. */
  readonly subject: string;
  /** The resident ID number (GB 11643, normalised) from `tongban_id_number`. */
  readonly idNumber: string;
  /** SHA-256 of the token (base64url): binds a node's signed answer to the token it was asked with. */
  readonly tokenHash: string;
  /** Expiry of the token (seconds since the epoch). */
  readonly expiresAt: number;
  /**
   * The citizen's certificate ids from the hub's certificate index (a tracker proof only; empty for
   * the citizen's own token): a node files a verification that withheld the holder's ID number
   * under the certificate's hash instead, and reads those entries too.
   */
  readonly certificates: readonly string[];
}

/** The most certificate ids one tracker proof names (the hub sends the newest). */
export const MAX_PROOF_CERTIFICATES = 100;
const CertificateIds = z.array(z.string().regex(/^[0-9A-Z.]{10,150}$/)).max(MAX_PROOF_CERTIFICATES);

/** The citizen the verified claims name: TRACKER_CITIZEN_ONLY (403) for staff, UNAUTHORIZED without a valid ID number. */
function citizenOf(claims: JWTPayload, token: string, certificates: readonly string[] = []): CitizenProof {
  if (claims.tongban_kind !== 'citizen') throw new TongbanError('TRACKER_CITIZEN_ONLY', 'Only a citizen signed in at the hub can read their data tracker.');
  const id = typeof claims.tongban_id_number === 'string' ? validateResidentId(claims.tongban_id_number) : undefined;
  if (!id?.valid) throw new TongbanError('UNAUTHORIZED', 'The token carries no valid resident ID number.');
  return { subject: claims.sub!, idNumber: id.value, tokenHash: tokenHash(token), expiresAt: claims.exp!, certificates };
}

/**
 * The citizen's own hub access token at `self` (the hub's `GET /v1/tracker`, or a node asked
 * directly): typ at+jwt, audience the federation (the CLI's token) or `self`'s node audience.
 */
export async function verifyCitizenToken(token: string | undefined, verifier: HubTokenVerifier, self: string): Promise<CitizenProof> {
  const claims = await verifyHubToken(token, verifier, { typ: ACCESS_TOKEN_TYP, audiences: accessTokenAudiences(self) });
  return citizenOf(claims, token!);
}

/**
 * Who may read `self`'s `GET /v1/tracker/entries`: a tracker proof the hub minted for this node
 * (typ tongban-tracker-proof+jwt, aud `urn:tongban:node:<self>`, purpose tracker, at most 60 s,
 * its `jti` never seen here before — `remember` answers false for a replay), or the citizen's own
 * access token for this node or the federation. Any other token is UNAUTHORIZED.
 */
export async function verifyTrackerCaller(
  token: string | undefined,
  verifier: HubTokenVerifier,
  self: string,
  remember: (key: string, jti: string, expiresAt: number) => Promise<boolean>,
): Promise<CitizenProof> {
  let typ: unknown;
  try {
    typ = token ? decodeProtectedHeader(token).typ : undefined;
  } catch {
    throw new TongbanError('UNAUTHORIZED', "This call needs the hub's tracker proof or the citizen's hub access token.");
  }
  if (typ !== TRACKER_PROOF_TYP) return verifyCitizenToken(token, verifier, self);
  const claims = await verifyHubToken(token, verifier, { typ: TRACKER_PROOF_TYP, audiences: [nodeAudience(self)], requiredClaims: ['jti', 'purpose'], what: 'tracker proof' });
  if (claims.purpose !== TRACKER_PURPOSE || typeof claims.jti !== 'string' || claims.exp! - claims.iat! > TRACKER_PROOF_TTL_SECONDS) {
    throw new TongbanError('UNAUTHORIZED', `The tracker proof is not one the hub mints (purpose ${TRACKER_PURPOSE}, at most ${TRACKER_PROOF_TTL_SECONDS} s).`);
  }
  // Only the hub's tracker proof names certificates: the hub read them from its index for this citizen.
  const certificates = CertificateIds.safeParse(claims.tongban_certificates ?? []);
  if (!certificates.success) throw new TongbanError('UNAUTHORIZED', 'The tracker proof names certificates in a form the hub does not mint.');
  const citizen = citizenOf(claims, token!, certificates.data);
  // Used once: a proof seen again within its lifetime is a replay.
  if (!(await remember(REPLAY_KEY, claims.jti, claims.exp! + CLOCK_TOLERANCE_SECONDS))) {
    throw new TongbanError('UNAUTHORIZED', 'This tracker proof was used already.');
  }
  return citizen;
}

/** The hub's OIDC signing key (the one its JWKS publishes) and its issuer. */
export interface TrackerProofSigner {
  readonly key: CryptoKey | KeyObject;
  readonly kid: string;
  /** `<hubUrl>/oidc`. */
  readonly issuer: string;
  readonly clock: () => Date;
}

/**
 * A tracker proof for one node: the hub vouches, for `TRACKER_PROOF_TTL_SECONDS`, that the citizen
 * asks that node — and that node only — for their tracker entries, once. The citizen's own token
 * never leaves the hub.
 */
export function mintTrackerProof(signer: TrackerProofSigner, citizen: CitizenProof, division: string): Promise<string> {
  const iat = Math.floor(signer.clock().getTime() / 1000);
  const certificates = citizen.certificates.slice(0, MAX_PROOF_CERTIFICATES);
  return new SignJWT({ tongban_kind: 'citizen', tongban_id_number: citizen.idNumber, purpose: TRACKER_PURPOSE, ...(certificates.length > 0 ? { tongban_certificates: certificates } : {}) })
    .setProtectedHeader({ alg: 'EdDSA', typ: TRACKER_PROOF_TYP, kid: signer.kid })
    .setIssuer(signer.issuer)
    .setAudience(nodeAudience(division))
    .setSubject(citizen.subject)
    .setJti(randomUUID())
    .setIssuedAt(iat)
    .setExpirationTime(iat + TRACKER_PROOF_TTL_SECONDS)
    .sign(signer.key);
}
