import { z } from 'zod';
import { canonicalJson, jwkThumbprint, PublicJwk, signJws, verifyJws, type SigningKey } from '../crypto/index.ts';
import { TongbanError } from '../errors/index.ts';

const Division = z.string().regex(/^\d{6}$/, 'a division code has six digits');

export const TRUST_LIST_TYP = 'tongban-trust-list+jwt';

/** An issuer's signing key; a retired key keeps verifying what it signed before retirement until verifyUntil. */
export const IssuerKey = z
  .object({
    kid: z.string().min(1).max(200),
    jwk: PublicJwk,
    from: z.iso.datetime({ offset: true }),
    retiredAt: z.iso.datetime({ offset: true }).optional(),
    verifyUntil: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();
export type IssuerKey = z.infer<typeof IssuerKey>;

export const TrustedIssuer = z
  .object({
    division: Division,
    name: z.string().min(1).max(200),
    authority: z.string().min(1).max(200),
    authorityCode: z.string().min(1).max(18),
    /** The vct values this issuer is authorised for. */
    types: z.array(z.string().min(1).max(200)),
    keys: z.array(IssuerKey).min(1),
  })
  .strict()
  .superRefine((issuer, ctx) => {
    // A kid names its owner and key (`<division>:<thumbprint>`): one that names another issuer
    // or another key would let a certificate claim a key the list never bound to its issuer.
    issuer.keys.forEach((key, i) => {
      if (key.kid !== `${issuer.division}:${jwkThumbprint(key.jwk)}`) {
        ctx.addIssue({ code: 'custom', path: ['keys', i, 'kid'], message: `kid must be ${issuer.division}:<thumbprint of jwk>` });
      }
    });
  });
export type TrustedIssuer = z.infer<typeof TrustedIssuer>;

export const TrustList = z
  .object({
    /** The hub's division. */
    issuer: Division,
    version: z.number().int().nonnegative(),
    issuedAt: z.iso.datetime({ offset: true }),
    nextUpdate: z.iso.datetime({ offset: true }),
    issuers: z.array(TrustedIssuer),
  })
  .strict()
  .refine((list) => new Set(list.issuers.map((i) => i.division)).size === list.issuers.length, { message: 'an issuer is listed twice', path: ['issuers'] });
export type TrustList = z.infer<typeof TrustList>;

/** A trust list issued this far in the future is refused (clock skew allowance). */
const FUTURE_SKEW_MS = 5 * 60_000;
/** A list this long past its nextUpdate is too stale to trust: the hub has been unreachable for a day. */
const STALE_AFTER_MS = 24 * 3600_000;

/** The trust list as a compact JWS signed with the hub's directory key. */
export async function signTrustList(list: TrustList, hubKey: SigningKey): Promise<string> {
  const parsed = TrustList.parse(list);
  return await signJws(hubKey, new TextEncoder().encode(canonicalJson(parsed)), { typ: TRUST_LIST_TYP });
}

/**
 * Verifies a trust list against the hub's key (from the verified directory snapshot). Refused
 * with TRUST_LIST_INVALID: a bad signature, another key, another typ, a body that is not a trust
 * list, one issued in the future, or one more than a day past its nextUpdate.
 */
export async function verifyTrustList(jws: string, hubJwk: PublicJwk, now: Date): Promise<TrustList> {
  const thumbprint = jwkThumbprint(hubJwk);
  const result = await verifyJws(jws, (kid) => (kid.endsWith(':' + thumbprint) ? hubJwk : null));
  if (!result.ok) throw new TongbanError('TRUST_LIST_INVALID', `The trust list's signature is not the hub's (${result.reason}).`);
  if (result.header.typ !== TRUST_LIST_TYP) throw new TongbanError('TRUST_LIST_INVALID', `The trust list's typ is not ${TRUST_LIST_TYP}.`);
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(result.payload));
  } catch {
    throw new TongbanError('TRUST_LIST_INVALID', 'The trust list is not JSON.');
  }
  const parsed = TrustList.safeParse(body);
  if (!parsed.success) throw new TongbanError('TRUST_LIST_INVALID', `The trust list does not follow its schema: ${parsed.error.issues[0]?.message ?? ''}`);
  const list = parsed.data;
  if (Date.parse(list.issuedAt) > now.getTime() + FUTURE_SKEW_MS) throw new TongbanError('TRUST_LIST_INVALID', 'The trust list is issued in the future.');
  if (now.getTime() > Date.parse(list.nextUpdate) + STALE_AFTER_MS) throw new TongbanError('TRUST_LIST_INVALID', 'The trust list is more than a day past its next update.');
  return list;
}

/**
 * The key the trust list gives `kid` for this issuer and type, for a certificate issued at
 * `issuedAt`: current keys always; a retired key only if issuedAt < retiredAt and now <= verifyUntil
 * (what it signed before retirement keeps verifying for a while; nothing it signs after does).
 */
export function issuerKeyFor(list: TrustList, issuer: string, kid: string, vct: string, issuedAt: Date, now: Date): PublicJwk | undefined {
  const entry = list.issuers.find((i) => i.division === issuer);
  if (!entry || !entry.types.includes(vct)) return undefined;
  const key = entry.keys.find((k) => k.kid === kid);
  // The schema checks this on parse; a list built in code is checked here too.
  if (!key || key.kid !== `${issuer}:${jwkThumbprint(key.jwk)}`) return undefined;
  if (key.retiredAt === undefined) return key.jwk;
  if (issuedAt.getTime() >= Date.parse(key.retiredAt)) return undefined;
  if (key.verifyUntil === undefined || now.getTime() > Date.parse(key.verifyUntil)) return undefined;
  return key.jwk;
}
