import { z } from 'zod';
import { TongbanError } from '../errors/index.ts';
import { errorStatus, type ErrorCode } from '../errors/codes.ts';
import { ConsentGrantInput } from '../identity/consent/index.ts';
import { ACCESS_TOKEN_TYP, nodeAudience, personFromClaims, tokenHash, verifyHubToken, type HubTokenVerifier } from '../identity/hub-tokens.ts';
import type { Person } from '../identity/person.ts';
import { validateResidentId } from '../standards/index.ts';
import type { CitizenProof } from '../tracker/index.ts';

/** The hub's route a node relays a signed-in citizen's own calls to (signed by the node). */
export const CITIZEN_RELAY_PATH = '/v1/citizen/relay';

const PageQuery = { limit: z.number().int().min(1).max(200).default(50), offset: z.number().int().min(0).max(1_000_000).default(0) };

/** What the node asks the hub on the citizen's behalf: their wallet, tracker, consents (list, grant, revoke). */
export const RelayCall = z.discriminatedUnion('op', [
  z.object({ op: z.literal('wallet'), ...PageQuery }).strict(),
  z.object({ op: z.literal('tracker'), limit: z.number().int().min(1).max(200).default(50), cursor: z.string().max(4000).optional() }).strict(),
  z.object({ op: z.literal('consents'), ...PageQuery }).strict(),
  z.object({ op: z.literal('consent-grant'), grant: ConsentGrantInput }).strict(),
  z.object({ op: z.literal('consent-revoke'), id: z.uuid() }).strict(),
]);
export type RelayCall = z.output<typeof RelayCall>;

/** The signed body: the citizen's hub access token (issued to the calling node's client) and the call. */
export const RelayRequest = z.object({ accessToken: z.string().min(1).max(8000), call: RelayCall }).strict();
export type RelayRequest = z.output<typeof RelayRequest>;

/**
 * The citizen a relayed token proves, at the hub: an access token (typ at+jwt) the hub issued to
 * the client of `node` — the node whose signature the hub verified on the request, so a node relays
 * only the tokens its own sign-ins obtained (another node's, or the citizen's federation-wide CLI
 * token, are refused), and a token copied out of a node is useless without that node's signing
 * key. Not expired (30 s of skew). UNAUTHORIZED otherwise; CITIZEN_ONLY for staff.
 */
export async function relayedCitizen(token: string, verifier: HubTokenVerifier, node: string): Promise<{ person: Person; proof: CitizenProof; authTime: number | undefined }> {
  const claims = await verifyHubToken(token, verifier, { typ: ACCESS_TOKEN_TYP, audiences: [nodeAudience(node)] });
  const person = personFromClaims(claims, 'access-token');
  if (!person) throw new TongbanError('UNAUTHORIZED', 'The access token does not describe a Tongban citizen or staff member.');
  if (person.kind !== 'citizen') throw new TongbanError('CITIZEN_ONLY', "Only a citizen's own calls are relayed to the hub.");
  const id = validateResidentId(person.idNumber ?? '');
  if (!id.valid) throw new TongbanError('UNAUTHORIZED', 'The token carries no valid resident ID number.');
  const authTime = typeof claims.auth_time === 'number' ? claims.auth_time : undefined;
  return { person, proof: { subject: person.subject, idNumber: id.value, tokenHash: tokenHash(token), expiresAt: claims.exp!, certificates: [] }, authTime };
}

/** How recent a citizen's password sign-in at the hub must be for a node to relay a consent in their name. */
export const CONSENT_SIGN_IN_MAX_AGE_SECONDS = 300;

/**
 * A consent relayed by a node binds the citizen towards a third party, so it needs a sign-in the
 * citizen made themselves a moment ago: the token's `auth_time` (when they last typed their
 * password at the hub, which a silent sign-in does not renew) within `maxAgeSeconds` of `now`.
 * RECENT_SIGN_IN_REQUIRED otherwise: the node sends the citizen to sign in again
 * (`/v1/auth/login?fresh=1`).
 */
export function requireRecentSignIn(authTime: number | undefined, now: Date, maxAgeSeconds = CONSENT_SIGN_IN_MAX_AGE_SECONDS): void {
  const age = authTime === undefined ? Infinity : now.getTime() / 1000 - authTime;
  if (age > maxAgeSeconds) {
    throw new TongbanError('RECENT_SIGN_IN_REQUIRED', `Granting a consent through a node needs a sign-in at the hub with your password within the last ${Math.round(maxAgeSeconds / 60)} minutes; sign in again.`);
  }
}

const NODE_REFUSALS: ReadonlySet<string> = new Set(['SIGNATURE_INVALID', 'REQUEST_EXPIRED', 'REPLAYED_REQUEST', 'NODE_UNKNOWN', 'NODE_NOT_APPROVED']);

/** The hub's refusal as the node passes it on: the hub's own code when it is one of ours, else PEER_RESPONSE_INVALID. */
export function hubRefusal(status: number, body: unknown): TongbanError {
  const problem = typeof body === 'object' && body !== null ? (body as { code?: unknown; detail?: unknown }) : {};
  const code = typeof problem.code === 'string' && problem.code in errorStatus ? (problem.code as ErrorCode) : undefined;
  const detail = typeof problem.detail === 'string' ? problem.detail.slice(0, 500) : `status ${status}`;
  if (!code) return new TongbanError('PEER_RESPONSE_INVALID', `The hub answered ${status} without a problem this node knows.`);
  // The token no longer holds (expired, account gone): the citizen signs in again.
  if (code === 'UNAUTHORIZED') return new TongbanError('HUB_SIGN_IN_NEEDED', `hub: ${detail}`);
  // A refusal of this node's own request (signature, key, status): the node's problem, not the citizen's.
  if (NODE_REFUSALS.has(code)) return new TongbanError('HUB_REFUSED', `hub refused this node (${code}): ${detail}`);
  return new TongbanError(code, `hub: ${detail}`);
}
