import { z } from 'zod';
import { validateResidentId } from '../../standards/index.ts';

/** The `typ` of a consent artefact's JWS header: no other Tongban JWS can stand in for one. */
export const CONSENT_TYP = 'tongban-consent+jws';

/** Message kinds between the hub and providers: a revocation (hub → provider), a use count (provider → hub). */
export const CONSENT_REVOKED_KIND = 'consent.revoked';
export const CONSENT_USED_KIND = 'consent.used';

/** Clocks of two nodes may differ this much (as for message signatures). */
export const CONSENT_CLOCK_SKEW_MS = 30_000;

/** Artefacts are small; anything larger is refused before it is parsed. */
export const CONSENT_MAX_LENGTH = 8_000;

const Division = z.string().regex(/^\d{6}$/, 'a division code has six digits');

/** `single`: the provider serves it once; `until-expiry`: as often as needed until it expires. */
export const ConsentUse = z.enum(['single', 'until-expiry']);
export type ConsentUse = z.infer<typeof ConsentUse>;

/** A normalised GB 11643 number: what the provider looks up and compares, character for character. */
const NormalisedIdNumber = z.string().refine((v) => {
  const result = validateResidentId(v);
  return result.valid && result.value === v;
}, 'a valid resident ID number in its normalised form');

/**
 * What the hub signs on a citizen's behalf (payload of a JWS with `typ` tongban-consent+jws,
 * signed with the hub's directory signing key — the key every node pinned or reads from the
 * signed directory snapshot, so any provider verifies it offline).
 *
 * The subject is the citizen's resident ID number, in clear inside the payload. It could not be
 * left out: the provider must bind the consent to the very person it looks up, and a hash would
 * not hide it (an ID number has too few possible values to survive a dictionary of them, and a key
 * shared by the hub and every provider would be no secret). Where the artefact goes, the number is
 * already known: the hub (which verified it at enrolment), the citizen, the requesting node (which
 * puts it in its request anyway) and the provider — and the artefact travels only inside the
 * exchange request: over a bridge in the signed request body to the provider alone, through the
 * hub inside the JWE sealed for the provider (the hub relays it unread; it signed it). It is never
 * logged: audit entries carry the consent id and the keyed subject hash only.
 */
export const ConsentClaims = z
  .object({
    id: z.uuid(),
    /** The hub's division (the directory snapshot's issuer). */
    issuer: Division,
    /** The hub key it is signed with (equal to the JWS header's kid). */
    kid: z.string().min(8).max(120),
    subject: z.object({ type: z.literal('idNumber'), value: NormalisedIdNumber }).strict(),
    requester: Division,
    provider: Division,
    agreementId: z.string().min(1).max(80),
    itemCode: z.string().min(1).max(30),
    service: z.string().min(3).max(100),
    purpose: z.string().min(1).max(100),
    fields: z
      .array(z.string().min(1).max(60))
      .min(1)
      .max(50)
      .refine((f) => new Set(f).size === f.length, 'a field is listed twice'),
    use: ConsentUse,
    issuedAt: z.iso.datetime(),
    notBefore: z.iso.datetime(),
    expiresAt: z.iso.datetime(),
  })
  .strict()
  .refine((c) => Date.parse(c.expiresAt) > Date.parse(c.notBefore), { message: 'a consent expires after it becomes valid', path: ['expiresAt'] })
  .refine((c) => Date.parse(c.notBefore) >= Date.parse(c.issuedAt), { message: 'a consent becomes valid no earlier than it is issued', path: ['notBefore'] });
export type ConsentClaims = z.infer<typeof ConsentClaims>;

/** Where a consent stands at the hub, as the citizen sees it. */
export type ConsentStatus = 'active' | 'revoked' | 'expired';

export function consentStatus(record: { status: 'active' | 'revoked'; expiresAt: string }, now: Date): ConsentStatus {
  if (record.status === 'revoked') return 'revoked';
  return now.getTime() >= Date.parse(record.expiresAt) ? 'expired' : 'active';
}

/**
 * Where a consent stands as its citizen sees it (`GET /v1/consents`, `tongban consent list`): as
 * `consentStatus`, and `used` for a single-use consent the provider has reported served — spent,
 * though neither revoked nor expired. A revocation still shows as `revoked`. The count is the
 * provider's, as reported (a moment late): until the report arrives a spent consent shows `active`.
 */
export type ConsentViewStatus = ConsentStatus | 'used';

export function consentViewStatus(record: { status: 'active' | 'revoked'; expiresAt: string; useCount: number }, use: ConsentUse, now: Date): ConsentViewStatus {
  const status = consentStatus(record, now);
  if (status === 'revoked') return status;
  return use === 'single' && record.useCount > 0 ? 'used' : status;
}
