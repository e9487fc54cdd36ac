import { z } from 'zod';
import { dataDictionary } from '../standards/index.ts';
import { HandlingMode } from '../catalog/index.ts';

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

/** Staff roles an agreement can name (DESIGN.md glossary): counter clerk, approver, supervisor, data administration, node operator. */
export const staffRoles = ['clerk', 'approver', 'supervisor', 'dataAdmin', 'operator'] as const;
export const StaffRole = z.enum(staffRoles);
export type StaffRole = z.infer<typeof StaffRole>;

/** What one party does in an item's business process (业务流程), in order. */
export const ItemSteps = z.object({ party: Division, steps: z.array(z.string().min(1).max(200)).min(1).max(30) });

/** Acceptance criteria (无差别受理、同标准办理): the same materials and conditions at every counter. */
export const AcceptanceCriteria = z.object({
  materials: z.array(z.object({ name: z.string().min(1).max(100), kind: z.enum(['electronic', 'physical']), required: z.boolean() })).max(50),
  conditions: z.array(z.string().min(1).max(300)).max(30),
});

/**
 * One item of an agreement. Everything beyond the grants is optional and has no default, so
 * the canonical form (and every signature) of an agreement written before these terms existed
 * is unchanged: absent means "as the national item list says" (see `itemTerms`).
 */
export const AgreementItem = z.object({
  itemCode: z.string().min(1).max(30),
  grants: z.array(Grant).min(1),
  /** 全程网办 / 异地代收代办 / 多地联办. */
  mode: HandlingMode.optional(),
  /** Nodes whose counters accept applications (受理地). */
  acceptingNodes: z.array(Division).min(1).optional(),
  /** Nodes that decide (属地); several for joint handling. */
  decidingNodes: z.array(Division).min(1).optional(),
  steps: z.array(ItemSteps).max(20).optional(),
  acceptance: AcceptanceCriteria.optional(),
  /** Committed time limit (承诺时限) in working days. */
  timeLimitDays: z.number().int().min(0).max(365).optional(),
  /**
   * Preview (EU once-only): evidence fetched under this item for a case is held for the applicant's
   * review at the accepting node before it goes to the deciding node (src/cases).
   */
  preview: z.boolean().optional(),
});
export type AgreementItem = z.infer<typeof AgreementItem>;

/** Which staff roles of a party may request which services under the agreement. */
export const Permission = z.object({ party: Division, role: StaffRole, services: z.array(ServiceId).min(1) });
export type Permission = z.infer<typeof Permission>;

export const SecurityContact = z.object({
  party: Division,
  name: z.string().min(1).max(100),
  phone: z.string().max(40).optional(),
  email: z.string().max(200).optional(),
});

/** Security responsibilities (安全责任) as terms a node can check, beside the free text. */
export const SecurityDuties = z.object({
  contacts: z.array(SecurityContact).min(1),
  /** Hours within which a party tells the others of an incident touching shared data. */
  incidentNotificationHours: z.number().int().min(1).max(720),
  /** Days a receiving party may keep data it received. */
  retentionDays: z.number().int().min(0).max(3650),
  encryptionRequired: z.boolean(),
});
export type SecurityDuties = z.infer<typeof SecurityDuties>;

export const ServiceLevels = z.object({
  availabilityPercent: z.number().min(0).max(100),
  /** Longest answer time a provider commits to for one data request. */
  responseSeconds: z.number().min(0.1).max(3600),
});
export type ServiceLevels = z.infer<typeof ServiceLevels>;

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
    permissions: z.array(Permission).max(200).optional(),
    securityDuties: SecurityDuties.optional(),
    serviceLevels: ServiceLevels.optional(),
  })
  .superRefine((a, ctx) => {
    if (new Set(a.parties).size !== a.parties.length) ctx.addIssue({ code: 'custom', path: ['parties'], message: 'a party is listed twice' });
    if (a.topology === 'bridge' && a.parties.length !== 2) {
      ctx.addIssue({ code: 'custom', path: ['parties'], message: 'a bridge agreement has exactly two parties' });
    }
    if (Date.parse(a.validUntil) <= Date.parse(a.validFrom)) {
      ctx.addIssue({ code: 'custom', path: ['validUntil'], message: 'validity must end after it starts' });
    }
    const notParty = (who: string, path: (string | number)[]) => {
      if (!a.parties.includes(who)) ctx.addIssue({ code: 'custom', path, message: `${who} is not a party to the agreement` });
    };
    const codes = new Set<string>();
    a.items.forEach((item, i) => {
      if (codes.has(item.itemCode)) ctx.addIssue({ code: 'custom', path: ['items', i, 'itemCode'], message: `item ${item.itemCode} is listed twice` });
      codes.add(item.itemCode);
      item.grants.forEach((grant, g) => [grant.provider, ...grant.requesters].forEach((who) => notParty(who, ['items', i, 'grants', g])));
      item.acceptingNodes?.forEach((who) => notParty(who, ['items', i, 'acceptingNodes']));
      item.decidingNodes?.forEach((who) => notParty(who, ['items', i, 'decidingNodes']));
      item.steps?.forEach((s, k) => notParty(s.party, ['items', i, 'steps', k]));
      // The same rule as a case (src/cases): joint handling has several deciding nodes, the other modes one.
      if (item.mode && item.decidingNodes && (item.mode === 'joint' ? item.decidingNodes.length < 2 : item.decidingNodes.length !== 1)) {
        ctx.addIssue({ code: 'custom', path: ['items', i, 'decidingNodes'], message: item.mode === 'joint' ? 'joint handling needs at least two deciding nodes' : `${item.mode} handling has exactly one deciding node` });
      }
    });
    a.permissions?.forEach((p, k) => notParty(p.party, ['permissions', k]));
    a.securityDuties?.contacts.forEach((c, k) => notParty(c.party, ['securityDuties', 'contacts', k]));
  });
export type Agreement = z.infer<typeof Agreement>;

export const PartySignature = z.object({ division: Division, jws: z.string().min(10) });
export type PartySignature = z.infer<typeof PartySignature>;

/** An agreement with one detached JWS per party over its RFC 8785 canonical form. */
export const SignedAgreement = z.object({ agreement: Agreement, signatures: z.array(PartySignature) });
export type SignedAgreement = z.infer<typeof SignedAgreement>;
