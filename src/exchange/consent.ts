import type { DirectoryView } from '../directory/snapshot.ts';
import { TongbanError } from '../errors/index.ts';
import { CONSENT_REVOKED_KIND, CONSENT_USED_KIND, type ConsentClaims } from '../identity/consent/model.ts';
import { checkConsentCovers, verifyConsent } from '../identity/consent/verify.ts';
import type { ExchangeContext } from './context.ts';
import { DEFAULT_CONSENT_MAX_DAYS, type ExchangeRequest } from './protocol.ts';

export { CONSENT_REVOKED_KIND, CONSENT_USED_KIND };

/**
 * The exchange's consent artefact, when it carries one: signed by the hub of `view` (offline,
 * against the key the signed directory lists), covering exactly this exchange, valid now and no
 * longer than `maxDays`. Requester (before sending) and provider (before serving) both check it.
 * CONSENT_INVALID otherwise.
 */
export async function checkConsentArtefact(
  exchange: ExchangeRequest,
  view: DirectoryView,
  now: Date,
  maxDays: number = DEFAULT_CONSENT_MAX_DAYS,
): Promise<ConsentClaims | undefined> {
  if (exchange.consent === undefined) return undefined;
  const hub = view.hub();
  if (!hub) throw new TongbanError('DIRECTORY_INVALID', 'The directory does not list the hub whose key signs consents.');
  const claims = await verifyConsent(exchange.consent, hub, now);
  checkConsentCovers(claims, exchange, now, maxDays);
  return claims;
}

/** What the provider knows of a consent before it reads its registry: revoked, or a single use already spent. */
export async function checkConsentUsable(ctx: Pick<ExchangeContext, 'store'>, claims: ConsentClaims): Promise<void> {
  const known = await ctx.store.consentUses.get(claims.id);
  if (known?.revokedAt) throw revoked(claims);
  if (known && claims.use === 'single' && known.uses > 0) throw used(claims);
}

/**
 * Counts one use, atomically (two concurrent uses of a single-use consent: exactly one is counted),
 * and — in the same transaction — queues the new count for the hub (message `consent.used`), so the
 * citizen sees it there. CONSENT_REVOKED or CONSENT_USED when it may not be used (nothing counted).
 */
export async function countConsentUse(ctx: ExchangeContext, claims: ConsentClaims): Promise<number> {
  const at = ctx.clock().toISOString();
  const uses = await ctx.store.transaction(async (tx) => {
    const result = await tx.consentUses.use(claims.id, { single: claims.use === 'single', at });
    if (result.outcome === 'revoked') throw revoked(claims);
    if (result.outcome === 'used') throw used(claims);
    await ctx.consentReports?.send(tx, {
      destination: claims.issuer,
      kind: CONSENT_USED_KIND,
      conversation: `consent:${claims.id}`,
      payload: { id: claims.id, uses: result.uses, lastUsedAt: at },
    });
    return result.uses;
  });
  ctx.consentReports?.kick();
  return uses;
}

function revoked(claims: ConsentClaims): TongbanError {
  return new TongbanError('CONSENT_REVOKED', `The citizen revoked consent ${claims.id}.`);
}

function used(claims: ConsentClaims): TongbanError {
  return new TongbanError('CONSENT_USED', `Consent ${claims.id} was for a single use, and it has been used.`);
}
