import { TongbanError, type ErrorCode } from '../errors/index.ts';
import type { Agreement } from './model.ts';
import {
  latestRound,
  partiesOf,
  termsHash,
  type Negotiation,
  type NegotiationActor,
  type NegotiationState,
  type TemplateOrigin,
} from './negotiation-model.ts';

export interface NegotiationInput {
  /** New terms (edit, counter). */
  readonly terms?: Agreement;
  /** The round a counter answers. */
  readonly answers?: number;
  /** The round and terms hash a party accepts or signs. */
  readonly round?: number;
  readonly hash?: string;
  /** The party's detached JWS over the canonical terms (sign). */
  readonly jws?: string;
  /** The author's detached JWS over a round's terms (propose, counter). */
  readonly authorSignature?: string;
  readonly reason?: string;
}

/** Who may act: the convener only, or any party (of the terms or of the version they amend). */
type Seat = 'convener' | 'party';
type Refusal = { readonly code: ErrorCode; readonly message: string };

interface Rule {
  readonly from: readonly NegotiationState[];
  readonly roles: readonly NegotiationActor['role'][];
  readonly seat: Seat;
  readonly needsReason?: boolean;
  readonly guard?: (n: Negotiation, input: NegotiationInput, actor: NegotiationActor, now: string) => Refusal | null;
  readonly to: (n: Negotiation, input: NegotiationInput, actor: NegotiationActor) => NegotiationState;
  readonly apply?: (n: Negotiation, input: NegotiationInput, actor: NegotiationActor, now: string) => Partial<Negotiation>;
}

const NEGOTIATORS = ['operator', 'dataAdmin', 'supervisor'] as const;
const OPEN: readonly NegotiationState[] = ['proposed', 'countered'];
const notAllowed = (message: string): Refusal => ({ code: 'NEGOTIATION_TRANSITION_NOT_ALLOWED', message });
const stale = (message: string): Refusal => ({ code: 'NEGOTIATION_ROUND_STALE', message });

/** New terms must stay the same agreement (id, version) and keep the convener among the parties. */
function termsRefusal(n: Negotiation, terms: Agreement | undefined, actor: NegotiationActor): Refusal | null {
  if (!terms) return notAllowed('Give the terms.');
  if (terms.id !== n.agreementId) return notAllowed(`These terms are for ${terms.id}, not ${n.agreementId}.`);
  if (terms.version !== n.terms.version) return notAllowed(`This negotiation is about version ${n.terms.version}, not ${terms.version}.`);
  if (!terms.parties.includes(n.convener)) return notAllowed(`The convener ${n.convener} must stay a party.`);
  if (!terms.parties.includes(actor.node) && !n.amends?.parties.includes(actor.node)) return notAllowed(`${actor.node} cannot write itself out of the terms it offers.`);
  return null;
}

/** Rounds a negotiation may have: past this, the parties accept the latest round or walk away. */
export const MAX_NEGOTIATION_ROUNDS = 40;
/**
 * The largest a negotiation may grow (UTF-8 JSON): the convener sends the whole of it, every
 * round included, to every party after each step, so it must stay well inside a node's request
 * body limit (1 MiB by default), sealed (JWE, base64url) included.
 */
export const MAX_NEGOTIATION_BYTES = 512 * 1024;

/** Whether one more round with these terms keeps the negotiation deliverable. */
function growthRefusal(n: Negotiation, terms: Agreement): Refusal | null {
  if (n.rounds.length >= MAX_NEGOTIATION_ROUNDS) return notAllowed(`${n.id} has had ${n.rounds.length} rounds, the most allowed: accept the latest round or abandon.`);
  // A round holds its terms, and they become the negotiation's terms too.
  const size = Buffer.byteLength(JSON.stringify(n)) + 2 * Buffer.byteLength(JSON.stringify(terms)) + 1024;
  return size > MAX_NEGOTIATION_BYTES ? notAllowed(`The negotiation would be too large to deliver to every party (${size} bytes, at most ${MAX_NEGOTIATION_BYTES}).`) : null;
}

/** A new round: the author offers these terms, which is also the author's acceptance of them. */
function newRound(n: Negotiation, terms: Agreement, input: NegotiationInput, actor: NegotiationActor, now: string): Partial<Negotiation> {
  const number = n.rounds.length + 1;
  const hash = termsHash(terms);
  const answers = latestRound(n)?.number;
  return {
    terms,
    rounds: [
      ...n.rounds,
      { number, terms, hash, author: actor.node, ...(answers ? { answers } : {}), ...(input.authorSignature ? { authorSignature: input.authorSignature } : {}), at: now },
    ],
    acceptances: [{ party: actor.node, round: number, hash, at: now }],
  };
}

const acceptedByAll = (n: Negotiation, extra: string): boolean => {
  const round = latestRound(n)!;
  const accepted = new Set([...n.acceptances.filter((a) => a.round === round.number).map((a) => a.party), extra]);
  return partiesOf(n).every((p) => accepted.has(p));
};

/**
 * Negotiation of an agreement (or of an amendment: version n+1 while n stays in force) as a
 * table of guarded transitions, written like `caseActions`: draft → proposed → countered (any
 * number of rounds, each a full new version answering the latest) → accepted by every party →
 * signed by every party over exactly the accepted terms → registered at the hub → active.
 * Any party may walk away before signing is complete. Pure: no I/O, no clock.
 */
export const negotiationActions = {
  edit: {
    from: ['draft'],
    roles: NEGOTIATORS,
    seat: 'convener',
    guard: (n, input, actor) => termsRefusal(n, input.terms, actor),
    to: () => 'draft',
    apply: (_n, input) => ({ terms: input.terms! }),
  },
  propose: {
    from: ['draft'],
    roles: NEGOTIATORS,
    seat: 'convener',
    guard: (n) => growthRefusal(n, n.terms),
    to: () => 'proposed',
    apply: (n, input, actor, now) => newRound(n, n.terms, input, actor, now),
  },
  counter: {
    from: OPEN,
    roles: NEGOTIATORS,
    seat: 'party',
    guard: (n, input, actor) => {
      const latest = latestRound(n)!;
      if (input.answers !== latest.number) return stale(`Round ${latest.number} is the latest; a counter-offer to round ${input.answers ?? '(none)'} is out of date.`);
      const refusal = termsRefusal(n, input.terms, actor) ?? growthRefusal(n, input.terms!);
      if (refusal) return refusal;
      return termsHash(input.terms!) === latest.hash ? notAllowed(`These are the terms of round ${latest.number}: accept them instead.`) : null;
    },
    to: () => 'countered',
    apply: (n, input, actor, now) => newRound(n, input.terms!, input, actor, now),
  },
  accept: {
    from: OPEN,
    roles: NEGOTIATORS,
    seat: 'party',
    guard: (n, input, actor) => {
      const latest = latestRound(n)!;
      if (input.round !== latest.number) return stale(`Round ${latest.number} is the latest; round ${input.round ?? '(none)'} can no longer be accepted.`);
      if (input.hash !== latest.hash) return stale(`The terms accepted are not those of round ${latest.number}.`);
      return n.acceptances.some((a) => a.party === actor.node && a.round === latest.number) ? notAllowed(`${actor.node} already accepted round ${latest.number}.`) : null;
    },
    to: (n, _input, actor) => (acceptedByAll(n, actor.node) ? 'accepted' : n.state),
    apply: (n, _input, actor, now) => {
      const latest = latestRound(n)!;
      return { acceptances: [...n.acceptances, { party: actor.node, round: latest.number, hash: latest.hash, at: now }] };
    },
  },
  sign: {
    from: ['accepted'],
    // The node's key signs: its operator, or its data administrator (who negotiates for the node).
    roles: ['operator', 'dataAdmin'],
    seat: 'party',
    guard: (n, input, actor) => {
      // A party signs only the exact terms it accepted: anything else has its own code.
      const accepted = n.acceptances.find((a) => a.party === actor.node && a.hash === input.hash && a.round === latestRound(n)!.number);
      if (!accepted) return { code: 'AGREEMENT_NOT_ACCEPTED', message: `${actor.node} has not accepted the terms it is asked to sign.` };
      if (!input.jws) return notAllowed('Give the signature.');
      return n.signatures.some((s) => s.party === actor.node) ? notAllowed(`${actor.node} already signed.`) : null;
    },
    to: (n, _input, actor) => (partiesOf(n).every((p) => p === actor.node || n.signatures.some((s) => s.party === p)) ? 'signed' : 'accepted'),
    apply: (n, input, actor, now) => ({ signatures: [...n.signatures, { party: actor.node, hash: input.hash!, jws: input.jws!, at: now }] }),
  },
  register: { from: ['signed'], roles: ['operator', 'dataAdmin', 'system'], seat: 'convener', to: () => 'registered' },
  activate: {
    from: ['registered'],
    roles: ['operator', 'dataAdmin', 'system'],
    seat: 'party',
    guard: (n, _input, _actor, now) => (Date.parse(now) < Date.parse(n.terms.validFrom) ? notAllowed(`The agreement is valid from ${n.terms.validFrom}.`) : null),
    to: () => 'active',
  },
  abandon: { from: ['draft', 'proposed', 'countered', 'accepted'], roles: NEGOTIATORS, seat: 'party', needsReason: true, to: () => 'abandoned' },
} satisfies Record<string, Rule>;

export type NegotiationAction = keyof typeof negotiationActions;
export const negotiationActionNames = Object.keys(negotiationActions) as NegotiationAction[];

/**
 * Applies one action: checks seat, role, state and guard (in that order, so an outsider learns
 * nothing about the negotiation's state), and returns the negotiation with the step recorded.
 * Throws NEGOTIATION_FORBIDDEN, NEGOTIATION_TRANSITION_NOT_ALLOWED, NEGOTIATION_ROUND_STALE or
 * AGREEMENT_NOT_ACCEPTED with the reason.
 */
export function applyNegotiationAction(n: Negotiation, action: NegotiationAction, actor: NegotiationActor, input: NegotiationInput, now: string): Negotiation {
  const rule: Rule | undefined = (negotiationActions as Record<string, Rule>)[action];
  if (!rule) throw new TongbanError('VALIDATION_FAILED', `Unknown negotiation action ${String(action)}.`);
  const seatOk = rule.seat === 'convener' ? actor.node === n.convener : partiesOf(n).includes(actor.node);
  if (!seatOk) throw new TongbanError('NEGOTIATION_FORBIDDEN', rule.seat === 'convener' ? `Only the convener ${n.convener} can ${action}.` : `${actor.node} is not a party to ${n.agreementId}.`);
  if (!rule.roles.includes(actor.role)) throw new TongbanError('NEGOTIATION_FORBIDDEN', `A ${actor.role} cannot ${action} an agreement.`);
  if (!rule.from.includes(n.state)) throw new TongbanError('NEGOTIATION_TRANSITION_NOT_ALLOWED', `A negotiation that is ${n.state} cannot ${action}.`);
  if (rule.needsReason && !input.reason?.trim()) throw new TongbanError('NEGOTIATION_TRANSITION_NOT_ALLOWED', `Give a reason to ${action}.`);
  const refusal = rule.guard?.(n, input, actor, now);
  if (refusal) throw new TongbanError(refusal.code, refusal.message);
  const to = rule.to(n, input, actor);
  const changes = rule.apply?.(n, input, actor, now) ?? {};
  const next = { ...n, ...changes };
  const round = action === 'propose' || action === 'counter' ? next.rounds.length : action === 'accept' || action === 'sign' ? latestRound(n)?.number : undefined;
  return {
    ...next,
    state: to,
    history: [
      ...n.history,
      { action, from: n.state, to, actor, node: actor.node, at: now, ...(round ? { round } : {}), ...(input.reason ? { reason: input.reason } : {}) },
    ],
    version: n.version + 1,
    updatedAt: now > n.updatedAt ? now : n.updatedAt,
  };
}

export interface NewNegotiation {
  readonly id: string;
  readonly terms: Agreement;
  /** The version in force this negotiation amends (its parties must sign the new one too). */
  readonly amends?: { readonly version: number; readonly parties: readonly string[] };
  readonly template?: TemplateOrigin;
}

/** A draft, by the convener: the party that writes the first terms and numbers the rounds. */
export function openNegotiation(input: NewNegotiation, actor: NegotiationActor, now: string): Negotiation {
  if (!(NEGOTIATORS as readonly string[]).includes(actor.role)) throw new TongbanError('NEGOTIATION_FORBIDDEN', `A ${actor.role} cannot draft an agreement.`);
  if (!input.terms.parties.includes(actor.node)) throw new TongbanError('NEGOTIATION_FORBIDDEN', `${actor.node} drafts only agreements it is a party to.`);
  if (input.amends && input.terms.version !== input.amends.version + 1) {
    throw new TongbanError('NEGOTIATION_TRANSITION_NOT_ALLOWED', `An amendment of version ${input.amends.version} is version ${input.amends.version + 1}, not ${input.terms.version}.`);
  }
  if (input.amends && !input.amends.parties.includes(actor.node)) throw new TongbanError('NEGOTIATION_FORBIDDEN', `${actor.node} is not a party to the version in force.`);
  return {
    id: input.id,
    agreementId: input.terms.id,
    convener: actor.node,
    state: 'draft',
    terms: input.terms,
    rounds: [],
    acceptances: [],
    signatures: [],
    ...(input.amends ? { amends: { version: input.amends.version, parties: [...input.amends.parties] } } : {}),
    ...(input.template ? { template: input.template } : {}),
    history: [{ action: 'draft', from: null, to: 'draft', actor, node: actor.node, at: now }],
    version: 1,
    createdAt: now,
    updatedAt: now,
  };
}
