import { z } from 'zod';
import { nationalItems } from '../catalog/index.ts';
import { TongbanError, validationError } from '../errors/index.ts';
import { diffTerms, type Change } from './diff.ts';
import { AcceptanceCriteria, Agreement, SecurityContact, ServiceLevels, StaffRole, type AgreementItem, type Grant } from './model.ts';
import { HandlingMode } from '../catalog/index.ts';

const Division = z.string().regex(/^\d{6}$/);
/**
 * A party named by its place in the agreement rather than by its code: the convener (who
 * drafts), each partner, every party, or — for requesters — every party but the provider.
 * `$each` as a provider stands for one grant per party.
 */
const PartyRef = z.union([Division, z.enum(['$convener', '$partners', '$all', '$each', '$others'])]);
type PartyRef = z.infer<typeof PartyRef>;

const TemplateGrant = z.object({
  provider: PartyRef,
  service: z.string(),
  requesters: z.array(PartyRef).min(1),
  fields: z.array(z.string()).min(1),
  purposes: z.array(z.string()).min(1),
  consentRequired: z.boolean(),
});

export const TemplateItem = z.object({
  itemCode: z.string().min(1).max(30),
  grants: z.array(TemplateGrant).min(1),
  mode: HandlingMode.optional(),
  acceptingNodes: z.array(PartyRef).optional(),
  decidingNodes: z.array(PartyRef).optional(),
  steps: z.array(z.object({ party: PartyRef, steps: z.array(z.string()).min(1) })).optional(),
  acceptance: AcceptanceCriteria.optional(),
  timeLimitDays: z.number().int().min(0).max(365).optional(),
});
type TemplateItem = z.infer<typeof TemplateItem>;

/**
 * An agreement template (模板): agreement terms with parties left as parameters. A template
 * may extend another: its items replace the parent's items of the same code, its scalar terms
 * the parent's, and everything it does not say is inherited (a national baseline extended by
 * a regional one, such as the Yangtze Delta's).
 */
export const AgreementTemplate = z.object({
  id: z.string().regex(/^[a-z][a-z0-9-]{2,60}$/),
  version: z.number().int().min(1),
  title: z.string().min(1).max(200),
  description: z.string().max(2000),
  extends: z.string().optional(),
  topology: z.enum(['bridge', 'hub']).optional(),
  items: z.array(TemplateItem),
  security: z.string().max(4000).optional(),
  securityDuties: z.object({ incidentNotificationHours: z.number().int(), retentionDays: z.number().int(), encryptionRequired: z.boolean() }).partial().optional(),
  serviceLevels: ServiceLevels.partial().optional(),
  permissions: z.array(z.object({ party: PartyRef, role: StaffRole, services: z.array(z.string()).min(1) })).optional(),
});
export type AgreementTemplate = z.infer<typeof AgreementTemplate>;

/** What an instance supplies: who, which items, contacts and limits, validity. */
export const TemplateParams = z.object({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{2,79}$/),
  title: z.string().min(1).max(200).optional(),
  convener: Division,
  partners: z.array(Division).min(1),
  /** A subset of the template's items (all when absent). */
  items: z.array(z.string()).min(1).optional(),
  contacts: z.array(SecurityContact).optional(),
  limits: z
    .object({
      timeLimitDays: z.record(z.string(), z.number().int().min(0).max(365)),
      retentionDays: z.number().int().min(0).max(3650),
      incidentNotificationHours: z.number().int().min(1).max(720),
      availabilityPercent: z.number().min(0).max(100),
      responseSeconds: z.number().min(0.1).max(3600),
    })
    .partial()
    .optional(),
  validFrom: z.iso.datetime(),
  validUntil: z.iso.datetime(),
});
export type TemplateParams = z.infer<typeof TemplateParams>;

/** The template with its ancestors folded in (parent first, each child over it). */
export function resolveTemplate(id: string, library: readonly AgreementTemplate[]): AgreementTemplate {
  const chain: AgreementTemplate[] = [];
  if (!id) throw new TongbanError('TEMPLATE_NOT_FOUND', 'Name a template.');
  for (let next: string | undefined = id; next; ) {
    const t = library.find((x) => x.id === next);
    if (!t) throw new TongbanError('TEMPLATE_NOT_FOUND', chain.length === 0 ? `No agreement template ${next}.` : `Template ${chain.at(-1)!.id} extends ${next}, which is not in the library.`);
    if (chain.some((c) => c.id === t.id)) throw new TongbanError('VALIDATION_FAILED', `Template ${id} extends itself.`);
    chain.push(t);
    next = t.extends;
  }
  return chain.reduceRight((parent, child) => {
    const items = [...parent.items.filter((p) => !child.items.some((c) => c.itemCode === p.itemCode)), ...child.items];
    const permissions = [...(parent.permissions ?? []).filter((p) => !child.permissions?.some((c) => c.party === p.party && c.role === p.role)), ...(child.permissions ?? [])];
    return {
      ...parent,
      ...child,
      items,
      securityDuties: { ...parent.securityDuties, ...child.securityDuties },
      serviceLevels: { ...parent.serviceLevels, ...child.serviceLevels },
      ...(permissions.length > 0 ? { permissions } : {}),
    };
  });
}

function expand(refs: readonly PartyRef[], parties: readonly string[], convener: string, provider?: string): string[] {
  const out = refs.flatMap((r) =>
    r === '$convener' ? [convener] : r === '$partners' ? parties.filter((p) => p !== convener) : r === '$all' || r === '$each' ? [...parties] : r === '$others' ? parties.filter((p) => p !== provider) : [r],
  );
  return [...new Set(out)];
}

function instantiateItem(item: TemplateItem, parties: readonly string[], convener: string, limits: TemplateParams['limits']): AgreementItem {
  const grants: Grant[] = item.grants.flatMap((g) =>
    expand([g.provider], parties, convener).map((provider) => ({
      provider,
      service: g.service,
      requesters: expand(g.requesters, parties, convener, provider).filter((r) => r !== provider),
      fields: g.fields,
      purposes: g.purposes,
      consentRequired: g.consentRequired,
    })),
  );
  // Acceptance criteria and time limit default to the national item list, so that every counter
  // checks the same materials as a case of the item would (无差别受理).
  const national = nationalItems.find((n) => n.code === item.itemCode);
  const acceptance = item.acceptance ?? (national ? { materials: national.materials.map((m) => ({ ...m })), conditions: [] } : undefined);
  const timeLimitDays = limits?.timeLimitDays?.[item.itemCode] ?? item.timeLimitDays ?? national?.timeLimit.committedDays;
  return {
    itemCode: item.itemCode,
    grants: grants.filter((g) => g.requesters.length > 0),
    ...(item.mode ? { mode: item.mode } : {}),
    ...(item.acceptingNodes ? { acceptingNodes: expand(item.acceptingNodes, parties, convener) } : {}),
    ...(item.decidingNodes ? { decidingNodes: expand(item.decidingNodes, parties, convener) } : {}),
    ...(item.steps ? { steps: item.steps.flatMap((s) => expand([s.party], parties, convener).map((party) => ({ party, steps: s.steps }))) } : {}),
    ...(acceptance ? { acceptance } : {}),
    ...(timeLimitDays !== undefined ? { timeLimitDays } : {}),
  };
}

/** Draft terms (version 1) for these parties from a template of the library. */
export function instantiateTemplate(templateId: string, rawParams: unknown, library: readonly AgreementTemplate[]): Agreement {
  const parsedParams = TemplateParams.safeParse(rawParams);
  if (!parsedParams.success) throw validationError(parsedParams.error);
  const params = parsedParams.data;
  const t = resolveTemplate(templateId, library);
  const parties = [params.convener, ...params.partners.filter((p) => p !== params.convener)];
  const unknown = (params.items ?? []).filter((code) => !t.items.some((i) => i.itemCode === code));
  if (unknown.length > 0) throw new TongbanError('VALIDATION_FAILED', `Template ${t.id} has no item ${unknown.join(', ')}.`);
  const items = t.items.filter((i) => !params.items || params.items.includes(i.itemCode)).map((i) => instantiateItem(i, parties, params.convener, params.limits));
  const sd = { ...t.securityDuties, ...pick(params.limits, ['retentionDays', 'incidentNotificationHours']) };
  const sl = { ...t.serviceLevels, ...pick(params.limits, ['availabilityPercent', 'responseSeconds']) };
  const raw = {
    id: params.id,
    version: 1,
    title: params.title ?? t.title,
    parties,
    topology: t.topology ?? (parties.length === 2 ? 'bridge' : 'hub'),
    validFrom: params.validFrom,
    validUntil: params.validUntil,
    items,
    ...(t.security ? { security: t.security } : {}),
    ...(t.permissions ? { permissions: t.permissions.flatMap((p) => expand([p.party], parties, params.convener).map((party) => ({ party, role: p.role, services: p.services }))) } : {}),
    ...(params.contacts && sd.incidentNotificationHours !== undefined && sd.retentionDays !== undefined && sd.encryptionRequired !== undefined
      ? { securityDuties: { contacts: params.contacts, incidentNotificationHours: sd.incidentNotificationHours, retentionDays: sd.retentionDays, encryptionRequired: sd.encryptionRequired } }
      : {}),
    ...(sl.availabilityPercent !== undefined && sl.responseSeconds !== undefined ? { serviceLevels: { availabilityPercent: sl.availabilityPercent, responseSeconds: sl.responseSeconds } } : {}),
  };
  const parsed = Agreement.safeParse(raw);
  if (!parsed.success) throw validationError(parsed.error);
  return parsed.data;
}

function pick<T extends object, K extends keyof T>(o: T | undefined, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o?.[k] !== undefined) out[k] = o[k];
  return out;
}

/** What an instance's terms change from what the template gave: the part that is negotiated. */
export function diffFromTemplate(baseline: Agreement, terms: Agreement): Change[] {
  return diffTerms(baseline, terms);
}
