import { createHeaderAndPayload, StatusList } from '@sd-jwt/jwt-status-list';
import { z } from 'zod';
import { fromBase64url, joseAlg, signBytes, toBase64url, verifyBytes, type PublicJwk, type SigningKey } from '../crypto/index.ts';
import { TongbanError } from '../errors/index.ts';
import { nodeUrn } from './model.ts';
import { decodeJson } from './sd-jwt.ts';

/** IETF Token Status List values, two bits per certificate. */
export const STATUS_VALUE = { valid: 0, revoked: 1, suspended: 2 } as const;

export const STATUS_LIST_TYP = 'statuslist+jwt';
const BITS = 2;
/** Allowance for clocks that disagree (an iat a little in the future). */
const SKEW_SECONDS = 60;

const StatusListHeader = z.object({ alg: z.enum(['EdDSA', 'SM2']), typ: z.literal(STATUS_LIST_TYP), kid: z.string().min(1).max(200) }).loose();
const StatusListPayload = z
  .object({
    sub: z.string().min(1),
    iss: z.string().regex(/^urn:tongban:node:\d{6}$/),
    iat: z.number().int().nonnegative(),
    exp: z.number().int().nonnegative(),
    ttl: z.number().int().positive(),
    status_list: z.object({ bits: z.literal(BITS), lst: z.string().regex(/^[A-Za-z0-9_-]*$/) }).loose(),
  })
  .loose();

const b64json = (value: unknown) => toBase64url(new TextEncoder().encode(JSON.stringify(value)));

/**
 * A signed status list (IETF Token Status List, JWT form): `sub` is the list's own URI so a list
 * cannot be served in place of another, `ttl` tells verifiers how long to cache it.
 */
export async function signStatusList(input: {
  key: SigningKey;
  issuer: string;
  uri: string;
  statuses: readonly number[];
  now: Date;
  ttlSeconds: number;
  validSeconds: number;
}): Promise<string> {
  // StatusList itself lets 4 through with two bits.
  const bad = input.statuses.findIndex((s) => !Number.isInteger(s) || s < 0 || s > 3);
  if (bad >= 0) throw new TongbanError('VALIDATION_FAILED', `Status at index ${bad} is not a two-bit value.`);
  if (!Number.isInteger(input.ttlSeconds) || input.ttlSeconds <= 0 || !Number.isInteger(input.validSeconds) || input.validSeconds <= 0) {
    throw new TongbanError('VALIDATION_FAILED', 'ttlSeconds and validSeconds are positive whole numbers.');
  }
  const iat = Math.floor(input.now.getTime() / 1000);
  const list = new StatusList([...input.statuses], BITS);
  const { header, payload } = createHeaderAndPayload(
    list,
    { sub: input.uri, iat, exp: iat + input.validSeconds, ttl: input.ttlSeconds, iss: nodeUrn(input.issuer) },
    { alg: joseAlg(input.key), typ: STATUS_LIST_TYP, kid: input.key.kid },
  );
  const signingInput = `${b64json(header)}.${b64json(payload)}`;
  const signature = await signBytes(input.key, new TextEncoder().encode(signingInput));
  return `${signingInput}.${toBase64url(signature)}`;
}

/**
 * Verifies a status list fetched for `uri`: signed by a key `keys` resolves for its kid (the kid
 * must belong to the division in `iss`), about this very URI, not expired. Anything else →
 * CERTIFICATE_STATUS_UNAVAILABLE: a verifier that cannot trust the list cannot know the status.
 */
export async function verifyStatusList(
  jwt: string,
  input: { keys: (kid: string) => PublicJwk | undefined; uri: string; now: Date },
): Promise<{ statusAt(idx: number): number; issuedAt: Date; expiresAt: Date; ttlSeconds: number }> {
  const refuse = (detail: string) => new TongbanError('CERTIFICATE_STATUS_UNAVAILABLE', `Status list ${input.uri}: ${detail}`);
  const parts = typeof jwt === 'string' ? jwt.split('.') : [];
  if (parts.length !== 3) throw refuse('not a compact JWT.');
  const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string];
  let header: z.infer<typeof StatusListHeader>;
  let payload: z.infer<typeof StatusListPayload>;
  try {
    header = StatusListHeader.parse(decodeJson(encodedHeader));
    payload = StatusListPayload.parse(decodeJson(encodedPayload));
  } catch {
    throw refuse('not a Tongban status list JWT.');
  }
  if (!header.kid.startsWith(payload.iss.slice('urn:tongban:node:'.length) + ':')) throw refuse("the key is not the issuer's.");
  const jwk = input.keys(header.kid);
  if (!jwk) throw refuse(`unknown key ${header.kid}.`);
  if ((jwk.kty === 'OKP') !== (header.alg === 'EdDSA')) throw refuse('alg does not match the key.');
  if (!/^[A-Za-z0-9_-]+$/.test(encodedSignature)) throw refuse('bad signature.');
  const valid = await verifyBytes(jwk, new TextEncoder().encode(`${encodedHeader}.${encodedPayload}`), fromBase64url(encodedSignature));
  if (!valid) throw refuse('bad signature.');
  if (payload.sub !== input.uri) throw refuse(`it is the list of ${payload.sub}.`);
  const nowSeconds = input.now.getTime() / 1000;
  if (payload.iat > nowSeconds + SKEW_SECONDS) throw refuse('issued in the future.');
  if (payload.exp <= nowSeconds) throw refuse('expired.');
  let list: StatusList;
  try {
    list = StatusList.decompressStatusList(payload.status_list.lst, BITS);
  } catch {
    throw refuse('the list does not decompress.');
  }
  return {
    statusAt(idx: number): number {
      if (!Number.isInteger(idx) || idx < 0 || idx >= list.statusList.length) throw refuse(`no index ${idx}.`);
      return list.getStatus(idx);
    },
    issuedAt: new Date(payload.iat * 1000),
    expiresAt: new Date(payload.exp * 1000),
    ttlSeconds: payload.ttl,
  };
}
