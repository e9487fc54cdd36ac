import { createHash } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson } from '../crypto/index.ts';
import { Agreement, StaffRole } from './model.ts';

const Division = z.string().regex(/^\d{6}$/);

export const negotiationStates = [
  'draft', // the convener writes the first terms
  'proposed', // round 1 is on the table
  'countered', // a later round answers an earlier one
  'accepted', // every party accepted the latest round
  'signed', // every party signed exactly those terms
  'registered', // the hub registered the signed agreement
  'active', // in force (the version it amends, if any, is replaced)
  'abandoned', // a party walked away; nothing was agreed
] as const;
export const NegotiationState = z.enum(negotiationStates);
export type NegotiationState = z.infer<typeof NegotiationState>;

/** Who acted: a person with a staff role at a node, or the node's own machinery (`system`). */
export const NegotiationActor = z.object({
  node: Division,
  id: z.string().min(1).max(64),
  role: z.union([StaffRole, z.literal('system')]),
});
export type NegotiationActor = z.infer<typeof NegotiationActor>;

/** SHA-256 (hex) of the RFC 8785 canonical terms: what a party accepts and signs. */
export function termsHash(terms: Agreement): string {
  return createHash('sha256').update(canonicalJson(terms)).digest('hex');
}

/**
 * One round: a full version of the terms, who wrote it, which round it answers. The author's
 * signature over the round (a detached JWS by its node key, checked by the convener before
 * numbering the round) keeps authorship provable after the convener redistributes it.
 */
export const Round = z.object({
  number: z.number().int().min(1),
  terms: Agreement,
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  author: Division,
  /** The round this one answers (none for the proposal). */
  answers: z.number().int().min(1).optional(),
  authorSignature: z.string().min(10).optional(),
  at: z.iso.datetime(),
});
export type Round = z.infer<typeof Round>;

export const Acceptance = z.object({ party: Division, round: z.number().int().min(1), hash: z.string(), at: z.iso.datetime() });
export type Acceptance = z.infer<typeof Acceptance>;

export const NegotiationSignature = z.object({ party: Division, hash: z.string(), jws: z.string().min(10), at: z.iso.datetime() });
export type NegotiationSignature = z.infer<typeof NegotiationSignature>;

export const NegotiationTransition = z.object({
  action: z.string(),
  from: NegotiationState.nullable(),
  to: NegotiationState,
  actor: NegotiationActor,
  node: Division,
  at: z.iso.datetime(),
  round: z.number().int().optional(),
  reason: z.string().max(1000).optional(),
});
export type NegotiationTransition = z.infer<typeof NegotiationTransition>;

/** Where the terms came from, when they came from a template: the diff against it is what is negotiated. */
export const TemplateOrigin = z.object({ id: z.string(), version: z.number().int().min(1), baseline: Agreement });
export type TemplateOrigin = z.infer<typeof TemplateOrigin>;

export const Negotiation = z.object({
  id: z.string().regex(/^NEG-[A-Za-z0-9._-]{3,80}$/),
  agreementId: z.string(),
  /** The party that drafted; it numbers the rounds (docs/agreements.md). */
  convener: Division,
  state: NegotiationState,
  /** The terms being drafted (state draft), then those of the latest round. */
  terms: Agreement,
  rounds: z.array(Round),
  acceptances: z.array(Acceptance),
  signatures: z.array(NegotiationSignature),
  /** An amendment: the version in force it replaces, whose parties must sign too. */
  amends: z.object({ version: z.number().int().min(1), parties: z.array(Division).min(2) }).optional(),
  template: TemplateOrigin.optional(),
  history: z.array(NegotiationTransition).min(1),
  version: z.number().int().min(1),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type Negotiation = z.infer<typeof Negotiation>;

/** Everyone who must accept and sign: the parties of the terms and of the version they amend. */
export function partiesOf(n: Pick<Negotiation, 'terms' | 'amends'>): string[] {
  return [...new Set([...n.terms.parties, ...(n.amends?.parties ?? [])])];
}

export function latestRound(n: Pick<Negotiation, 'rounds'>): Round | undefined {
  return n.rounds.at(-1);
}
