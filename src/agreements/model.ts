import { z } from 'zod';
import { dataDictionary } from '../standards/index.ts';

const Division = z.string().regex(/^\d{6}$/, 'a division code has six digits');
const ServiceId = z.string().regex(/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$/, 'service ids look like household.residence-proof');

/** One grant: what one provider gives which requesters under one item. */
export const Grant = z.object({
  provider: Division,
  service: ServiceId,
  requesters: z.array(Division).min(1),
  /** Data elements the requesters may receive; nothing else leaves the provider. */
  fields: z
    .array(z.string())
    .min(1)
    .refine((ids) => ids.every((id) => dataDictionary.has(id)), { message: 'every field must be a data dictionary element' }),
  purposes: z.array(z.string().min(1).max(100)).min(1),
  consentRequired: z.boolean(),
});
export type Grant = z.infer<typeof Grant>;

export const AgreementItem = z.object({
  itemCode: z.string().min(1).max(30),
  grants: z.array(Grant).min(1),
});

/**
 * A cooperation agreement (合作协议): parties, items, and per item the services, the fields
 * each requester may receive, allowed purposes, whether consent is required, validity.
 */
export const Agreement = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{2,79}$/),
    version: z.number().int().min(1),
    title: z.string().min(1).max(200),
    parties: z.array(Division).min(2),
    /** bridge: the two nodes call each other directly; hub: calls go through the national hub's relay. */
    topology: z.enum(['bridge', 'hub']),
    validFrom: z.iso.datetime(),
    validUntil: z.iso.datetime(),
    items: z.array(AgreementItem).min(1),
    /** Each side's security responsibilities, in words (retention, who may see what). */
    security: z.string().max(4000).optional(),
  })
  .superRefine((a, ctx) => {
    if (new Set(a.parties).size !== a.parties.length) ctx.addIssue({ code: 'custom', path: ['parties'], message: 'a party is listed twice' });
    if (a.topology === 'bridge' && a.parties.length !== 2) {
      ctx.addIssue({ code: 'custom', path: ['parties'], message: 'a bridge agreement has exactly two parties' });
    }
    if (Date.parse(a.validUntil) <= Date.parse(a.validFrom)) {
      ctx.addIssue({ code: 'custom', path: ['validUntil'], message: 'validity must end after it starts' });
    }
    a.items.forEach((item, i) =>
      item.grants.forEach((grant, g) => {
        for (const who of [grant.provider, ...grant.requesters]) {
          if (!a.parties.includes(who)) {
            ctx.addIssue({ code: 'custom', path: ['items', i, 'grants', g], message: `${who} is not a party to the agreement` });
          }
        }
      }),
    );
  });
export type Agreement = z.infer<typeof Agreement>;

export const PartySignature = z.object({ division: Division, jws: z.string().min(10) });
export type PartySignature = z.infer<typeof PartySignature>;

/** An agreement with one detached JWS per party over its RFC 8785 canonical form. */
export const SignedAgreement = z.object({ agreement: Agreement, signatures: z.array(PartySignature) });
export type SignedAgreement = z.infer<typeof SignedAgreement>;
