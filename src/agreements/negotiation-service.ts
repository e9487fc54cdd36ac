import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { AuditLog, operatorActor, type AuditActor, type AuditEvent } from '../audit/index.ts';
import { canonicalJson, type PublicJwk, type SigningKeySource } from '../crypto/index.ts';
import { TongbanError, validationError } from '../errors/index.ts';
import type { Messaging, ReceivedMessage } from '../messaging/index.ts';
import type { Store, StoreOps } from '../store/index.ts';
import { diffTerms, formatDiff } from './diff.ts';
import { learningReport, type LearningReport } from './learning.ts';
import type { AgreementStanding } from './lifecycle.ts';
import { Agreement, type SignedAgreement } from './model.ts';
import { applyNegotiationAction, openNegotiation, type NegotiationAction, type NegotiationInput } from './negotiation.ts';
import { latestRound, Negotiation, NegotiationActor, partiesOf, termsHash } from './negotiation-model.ts';
import { signAgreement, signRound, verifyTermsSignature } from './signing.ts';
import { templateLibrary } from './template-library.ts';
import { instantiateTemplate } from './templates.ts';

/** A step a party sends to the convener, which sequences it (docs/agreements.md). */
export const NegotiationStep = z.object({
  negotiation: z.string(),
  action: z.enum(['counter', 'accept', 'sign', 'abandon']),
  actor: NegotiationActor,
  terms: Agreement.optional(),
  answers: z.number().int().optional(),
  round: z.number().int().optional(),
  hash: z.string().optional(),
  jws: z.string().optional(),
  authorSignature: z.string().optional(),
  reason: z.string().max(1000).optional(),
});
export type NegotiationStep = z.infer<typeof NegotiationStep>;

/** The compare-and-set lost to a step committed meanwhile (NEGOTIATION_ROUND_STALE if it keeps losing). */
class StaleWrite extends TongbanError {
  constructor(id: string) {
    super('NEGOTIATION_ROUND_STALE', `${id} changed meanwhile; read it again.`);
  }
}

export const NEGOTIATION_STEP = 'agreement.step';
export const NEGOTIATION_COPY = 'agreement.negotiation';

interface SenderKeys {
  readonly division: string;
  readonly signingKey: { readonly kid: string; readonly jwk: PublicJwk };
  readonly previousKeys?: readonly { readonly kid: string; readonly jwk: PublicJwk }[] | undefined;
}

export interface NegotiationServiceOptions {
  readonly self: string;
  readonly store: Store;
  readonly audit: AuditLog;
  readonly signingKey: SigningKeySource;
  readonly messages: Messaging;
  readonly clock: () => Date;
  /** Submits fully signed terms to the hub (the operator's submit flow) and refreshes the directory. */
  readonly submit: (signed: SignedAgreement) => Promise<void>;
  /** Refreshes this node's directory copy (a party learns the registered agreement at once). */
  readonly refresh: () => Promise<void>;
  /** The directory this node relies on: the keys a round's author signs it with. */
  readonly directory: { current(): Promise<{ node(division: string): SenderKeys | undefined }> };
}

export type DraftRequest =
  | { readonly terms: Agreement; readonly id?: string }
  | { readonly template: string; readonly params: unknown; readonly id?: string };

/**
 * A negotiation as the API shows it: each round with its diff against the round it answers, and
 * against the template; once it is active, where the agreement stands in its lifecycle
 * (`standing`, from this node's AgreementLifecycles: suspended, terminated or expired since).
 */
export function describeNegotiation(n: Negotiation, standing?: AgreementStanding) {
  return {
    ...n,
    ...(standing ? { agreementState: standing.state, ...(standing.change ? { agreementStateChange: standing.change } : {}) } : {}),
    parties: partiesOf(n),
    rounds: n.rounds.map((r, i) => ({ ...r, changes: i === 0 ? [] : formatDiff(diffTerms(n.rounds[i - 1]!.terms, r.terms)) })),
    ...(n.template ? { changesFromTemplate: formatDiff(diffTerms(n.template.baseline, n.terms)) } : {}),
  };
}

/**
 * Negotiation at one node: the convener holds the copy that counts and sequences every step;
 * the other parties send their steps to it and keep the copies it sends back. Everything a
 * step changes (negotiation, this node's acceptance, audit entry, outgoing messages) commits
 * in one transaction.
 */
export class NegotiationService {
  readonly #o: NegotiationServiceOptions;

  constructor(options: NegotiationServiceOptions) {
    this.#o = options;
  }

  async get(id: string, tx: StoreOps = this.#o.store): Promise<Negotiation> {
    const raw = await tx.negotiations.get(id);
    if (raw === undefined) throw new TongbanError('NEGOTIATION_NOT_FOUND', `No negotiation ${id} at ${this.#o.self}.`);
    return Negotiation.parse(raw);
  }

  async list(filter: { agreementId?: string; limit?: number } = {}): Promise<Negotiation[]> {
    return (await this.#o.store.negotiations.list(filter)).map((raw) => Negotiation.parse(raw));
  }

  async report(): Promise<LearningReport> {
    return learningReport(await this.list({ limit: 1000 }));
  }

  /**
   * A draft by this node (the convener), from terms or from a template; an amendment when version n is in force.
   * `caller`: who authenticated (the audit entry's actor; the operator token when absent).
   */
  async draft(request: DraftRequest, actor: NegotiationActor, caller?: AuditActor): Promise<Negotiation> {
    const { self, store } = this.#o;
    const fromTemplate = 'template' in request;
    const terms = fromTemplate ? instantiateTemplate(request.template, request.params, templateLibrary) : request.terms;
    const now = this.#now();
    const inForce = await store.agreements.get(terms.id);
    if (terms.version > 1 && inForce?.agreement.version !== terms.version - 1) {
      throw new TongbanError('NEGOTIATION_TRANSITION_NOT_ALLOWED', `Version ${terms.version} of ${terms.id} amends version ${terms.version - 1}, which is not in force here.`);
    }
    if (terms.version === 1 && inForce) throw new TongbanError('NEGOTIATION_TRANSITION_NOT_ALLOWED', `${terms.id} is in force already: amend it with version ${inForce.agreement.version + 1}.`);
    const id = request.id ?? `NEG-${terms.id}-v${terms.version}-${randomBytes(3).toString('hex')}`;
    const template = fromTemplate ? templateLibrary.find((t) => t.id === request.template)! : undefined;
    const n = openNegotiation(
      {
        id,
        terms,
        ...(inForce && terms.version > 1 ? { amends: { version: inForce.agreement.version, parties: inForce.agreement.parties } } : {}),
        ...(template ? { template: { id: template.id, version: template.version, baseline: terms } } : {}),
      },
      { ...actor, node: self },
      now,
    );
    await store.transaction(async (tx) => {
      if (!(await tx.negotiations.put(n, 0))) throw new TongbanError('NEGOTIATION_TRANSITION_NOT_ALLOWED', `A negotiation ${id} exists already.`);
      await this.#audit(tx, n, 'draft', actor, caller);
    });
    return n;
  }

  /**
   * An operator's step. At the convener it is applied and the new copy sent to every party; at
   * another party it is checked against the local copy, this node's acceptance or signature is
   * recorded, and the step goes to the convener, which sequences it.
   */
  async act(id: string, action: NegotiationAction, actor: NegotiationActor, input: NegotiationInput, caller?: AuditActor): Promise<{ negotiation: Negotiation; forwardedTo?: string }> {
    // A party's step applied meanwhile (from the inbox): read again and apply to what is there now.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#actOnce(id, action, actor, input, attempt < 3, caller);
      } catch (error) {
        if (!(error instanceof StaleWrite) || attempt >= 3) throw error;
      }
    }
  }

  async #actOnce(id: string, action: NegotiationAction, actor: NegotiationActor, input: NegotiationInput, retrying: boolean, caller: AuditActor | undefined): Promise<{ negotiation: Negotiation; forwardedTo?: string }> {
    const { self, store, messages } = this.#o;
    const person = { ...actor, node: self };
    let n = await this.get(id);
    const latest = latestRound(n);
    const step: NegotiationInput = { ...input };
    try {
      if (action === 'sign') {
        const hash = input.hash ?? latest?.hash;
        const accepted = await store.acceptances.get(n.agreementId, n.terms.version);
        // The hash of the terms about to be signed, computed here: never the copy's word for it.
        if (!latest || hash !== latest.hash || termsHash(latest.terms) !== hash || accepted?.hash !== hash) throw new TongbanError('AGREEMENT_NOT_ACCEPTED', `${self} has not accepted the terms it is asked to sign.`);
        Object.assign(step, { hash, jws: (await signAgreement(latest.terms, self, this.#o.signingKey.current())).jws });
      }
      if (action === 'accept') Object.assign(step, { round: input.round ?? latest?.number, hash: input.hash ?? latest?.hash });
      if (action === 'counter' || action === 'propose') {
        const offered = input.terms ?? n.terms;
        Object.assign(step, { answers: input.answers ?? latest?.number, authorSignature: await signRound(offered, this.#o.signingKey.current()) });
      }
      if (action === 'register') return { negotiation: await this.#register(n, person, caller) };
      const next = applyNegotiationAction(n, action, person, step, this.#now());
      if (n.convener !== self) {
        // Checked against our copy; the convener applies it for good (it may have moved on).
        await store.transaction(async (tx) => {
          await this.#recordOwnConsent(tx, next, action);
          await messages.send(tx, { destination: n.convener, kind: NEGOTIATION_STEP, conversation: `agreement:${n.agreementId}`, payload: { negotiation: id, action, actor: person, ...step } });
          await this.#audit(tx, next, action, person, caller);
        });
        messages.kick();
        return { negotiation: n, forwardedTo: n.convener };
      }
      n = next;
      await this.#commit(n, action, person, async (tx) => this.#recordOwnConsent(tx, n, action), undefined, caller);
      return { negotiation: n };
    } catch (error) {
      if (error instanceof StaleWrite && retrying) throw error;
      if (error instanceof TongbanError) await this.#o.audit.append(this.#event(n, action, person, 'refused', error.code, caller));
      throw error;
    }
  }

  /** Terms accepted as a whole, outside a negotiation (an agreement agreed on paper, the demo's set-up). */
  async acceptTerms(terms: Agreement, actor: NegotiationActor): Promise<{ agreementId: string; version: number; hash: string }> {
    const { self, store } = this.#o;
    if (!terms.parties.includes(self)) throw new TongbanError('NOT_A_PARTY', `${self} is not a party to ${terms.id}.`);
    const hash = termsHash(terms);
    await store.transaction(async (tx) => {
      await tx.acceptances.put({ agreementId: terms.id, version: terms.version, hash, acceptedAt: this.#now() });
      await AuditLog.appendIn(tx, [{ kind: 'agreement.accept', outcome: 'allowed', agreementId: terms.id, operator: actor.id, actor: operatorActor(self), detail: { version: terms.version, hash } }], this.#o.clock());
    });
    return { agreementId: terms.id, version: terms.version, hash };
  }

  /** The operator's sign endpoint: only the exact terms this node accepted (AGREEMENT_NOT_ACCEPTED otherwise). */
  async signAccepted(terms: Agreement): Promise<{ division: string; jws: string }> {
    const { self, store } = this.#o;
    if (!terms.parties.includes(self)) throw new TongbanError('NOT_A_PARTY', `${self} is not a party to ${terms.id}.`);
    const accepted = await store.acceptances.get(terms.id, terms.version);
    if (accepted?.hash !== termsHash(terms)) {
      await this.#o.audit.append({ kind: 'agreement.sign', outcome: 'refused', code: 'AGREEMENT_NOT_ACCEPTED', agreementId: terms.id, actor: operatorActor(self), detail: { version: terms.version } });
      throw new TongbanError('AGREEMENT_NOT_ACCEPTED', `${self} has not accepted version ${terms.version} of ${terms.id} with these terms; accept them first.`);
    }
    const signature = await signAgreement(terms, self, this.#o.signingKey.current());
    await this.#o.audit.append({ kind: 'agreement.sign', outcome: 'allowed', agreementId: terms.id, actor: operatorActor(self), detail: { version: terms.version } });
    return signature;
  }

  /** Convener: a party's step, from a message signed by that party. */
  async receiveStep(tx: StoreOps, message: ReceivedMessage<NegotiationStep>, sender: SenderKeys): Promise<'applied'> {
    const step = message.payload;
    // Author = signer: a node acts only in its own name.
    if (step.actor.node !== message.from) throw new TongbanError('NEGOTIATION_FORBIDDEN', `${message.from} cannot act for ${step.actor.node}.`);
    const keys = [sender.signingKey, ...(sender.previousKeys ?? [])];
    // A step of the convener's own (or another party's) may commit between our read and our write:
    // read again and apply the step to what is there now, rather than refuse it for good.
    for (let attempt = 1; ; attempt++) {
      const n = await this.get(step.negotiation, tx);
      if (n.convener !== this.#o.self) throw new TongbanError('NEGOTIATION_FORBIDDEN', `${this.#o.self} does not convene ${n.id}.`);
      if (step.action === 'sign') {
        const latest = latestRound(n);
        if (!latest || !step.jws || !(await verifyTermsSignature('agreement', latest.terms, step.jws, keys))) throw new TongbanError('SIGNATURE_INVALID', `The signature of ${message.from} does not cover round ${latest?.number ?? 0}.`);
      }
      if (step.action === 'counter' && (!step.terms || !step.authorSignature || !(await verifyTermsSignature('round', step.terms, step.authorSignature, keys)))) {
        throw new TongbanError('SIGNATURE_INVALID', `The counter-offer of ${message.from} is not signed by it.`);
      }
      const next = applyNegotiationAction(n, step.action, step.actor, step, this.#now());
      if (!(await tx.negotiations.put(next, n.version))) {
        if (attempt < 5) continue;
        throw new TongbanError('NEGOTIATION_ROUND_STALE', `${n.id} changed meanwhile; read it again.`);
      }
      await this.#written(tx, next, step.action, step.actor);
      return 'applied';
    }
  }

  /** Another party: the convener's copy after a step. Taken only from the convener, only forward, never rewriting history. */
  async receiveCopy(tx: StoreOps, message: ReceivedMessage<Negotiation>): Promise<'applied' | 'stale'> {
    const n = message.payload;
    if (n.convener !== message.from) throw new TongbanError('NEGOTIATION_FORBIDDEN', `Only the convener ${n.convener} sends copies of ${n.id}.`);
    if (!partiesOf(n).includes(this.#o.self)) throw new TongbanError('NEGOTIATION_FORBIDDEN', `${this.#o.self} is not a party to ${n.agreementId}.`);
    const raw = await tx.negotiations.get(n.id);
    const local = raw === undefined ? undefined : Negotiation.parse(raw);
    if (local && local.convener !== n.convener) throw new TongbanError('NEGOTIATION_FORBIDDEN', `${n.id} is convened by ${local.convener}.`);
    if (local && n.version <= local.version) return 'stale';
    if (local && JSON.stringify(n.history.slice(0, local.history.length)) !== JSON.stringify(local.history)) {
      throw new TongbanError('NEGOTIATION_TRANSITION_NOT_ALLOWED', `The copy of ${n.id} from ${message.from} rewrites its history.`);
    }
    const forged = copyRefusal(n, local, message.conversation) ?? (await this.#misattributed(n, local));
    if (forged) throw new TongbanError('NEGOTIATION_TRANSITION_NOT_ALLOWED', `The copy of ${n.id} from ${message.from} is refused: ${forged}.`);
    if (!(await tx.negotiations.put(n, local?.version ?? 0))) return 'stale';
    await this.#supersede(tx, n);
    const last = n.history.at(-1)!;
    await AuditLog.appendIn(tx, [this.#event(n, last.action, last.actor, 'received')], this.#o.clock());
    return 'applied';
  }

  /** Registers the messages this service takes (call once, before the server starts). */
  register(messages: Messaging): void {
    messages.register(NEGOTIATION_STEP, NegotiationStep, async (tx, message, sender) => {
      const result = await this.receiveStep(tx, message, sender);
      return { result };
    });
    messages.register(NEGOTIATION_COPY, Negotiation, async (tx, message) => {
      const result = await this.receiveCopy(tx, message);
      // A registered agreement is in the hub's directory: fetch it now rather than at the next refresh.
      const state = message.payload.state;
      return { result, ...(result === 'applied' && (state === 'registered' || state === 'active') ? { afterCommit: () => void this.#o.refresh().catch(() => undefined) } : {}) };
    });
  }

  /** A round this node does not hold yet that is not signed by the party it names as author (the convener relays rounds; it does not write them). */
  async #misattributed(n: Negotiation, local: Negotiation | undefined): Promise<string | null> {
    const view = await this.#o.directory.current();
    for (const round of n.rounds.slice(local?.rounds.length ?? 0)) {
      if (!partiesOf(n).includes(round.author)) return `round ${round.number} is by ${round.author}, not a party`;
      const author = view.node(round.author);
      const keys = author ? [author.signingKey, ...(author.previousKeys ?? [])] : [];
      if (!round.authorSignature || !(await verifyTermsSignature('round', round.terms, round.authorSignature, keys))) return `round ${round.number} is not signed by ${round.author}, its author`;
    }
    return null;
  }

  async #register(n: Negotiation, actor: NegotiationActor, caller: AuditActor | undefined): Promise<Negotiation> {
    // The table decides first (state, convener), then the hub: nothing is submitted that the table refuses.
    const registered = applyNegotiationAction(n, 'register', actor, {}, this.#now());
    const latest = latestRound(n)!;
    await this.#o.submit({ agreement: latest.terms, signatures: n.signatures.map((s) => ({ division: s.party, jws: s.jws })) });
    let next = registered;
    await this.#commit(registered, 'register', actor, undefined, undefined, caller);
    const system: NegotiationActor = { node: this.#o.self, id: 'system', role: 'system' };
    if (this.#o.clock().getTime() >= Date.parse(n.terms.validFrom)) {
      next = applyNegotiationAction(registered, 'activate', system, {}, this.#now());
      await this.#commit(next, 'activate', system, undefined, registered.version);
    }
    return next;
  }

  /** A new round takes this node's acceptance of an earlier one off the table: it can no longer be signed. */
  async #supersede(tx: StoreOps, n: Negotiation): Promise<void> {
    const mine = await tx.acceptances.get(n.agreementId, n.terms.version);
    if (mine?.negotiationId === n.id && mine.hash !== latestRound(n)?.hash) await tx.acceptances.remove(n.agreementId, n.terms.version);
  }

  /** This node's own consent, which is what its sign step checks (never the convener's copy alone). */
  async #recordOwnConsent(tx: StoreOps, n: Negotiation, action: NegotiationAction): Promise<void> {
    if (action !== 'accept' && action !== 'counter' && action !== 'propose') return;
    const latest = latestRound(n)!;
    await tx.acceptances.put({ agreementId: n.agreementId, version: n.terms.version, hash: latest.hash, negotiationId: n.id, acceptedAt: this.#now() });
  }

  async #commit(n: Negotiation, action: string, actor: NegotiationActor, extra?: (tx: StoreOps) => Promise<void>, expected?: number, caller?: AuditActor): Promise<void> {
    await this.#o.store.transaction(async (tx) => {
      await this.#write(tx, n, expected ?? n.version - 1, action, actor, caller);
      await extra?.(tx);
    });
    this.#o.messages.kick();
  }

  /** Stores the convener's copy (compare-and-set), audits the step and sends the copy to every other party. */
  async #write(tx: StoreOps, n: Negotiation, expected: number, action: string, actor: NegotiationActor, caller?: AuditActor): Promise<void> {
    if (!(await tx.negotiations.put(n, expected))) throw new StaleWrite(n.id);
    await this.#written(tx, n, action, actor, caller);
  }

  /** What follows a stored step: this node's acceptance superseded, the audit entry, a copy to every other party. */
  async #written(tx: StoreOps, n: Negotiation, action: string, actor: NegotiationActor, caller?: AuditActor): Promise<void> {
    await this.#supersede(tx, n);
    await AuditLog.appendIn(tx, [this.#event(n, action, actor, 'allowed', undefined, caller)], this.#o.clock());
    for (const party of partiesOf(n).filter((p) => p !== this.#o.self)) {
      await this.#o.messages.send(tx, { destination: party, kind: NEGOTIATION_COPY, conversation: `agreement:${n.agreementId}`, payload: n });
    }
  }

  async #audit(tx: StoreOps, n: Negotiation, action: string, actor: NegotiationActor, caller?: AuditActor): Promise<void> {
    await AuditLog.appendIn(tx, [this.#event(n, action, actor, 'allowed', undefined, caller)], this.#o.clock());
  }

  #event(n: Negotiation, action: string, actor: NegotiationActor, outcome: 'allowed' | 'refused' | 'received', code?: string, caller?: AuditActor): AuditEvent {
    return {
      kind: 'agreement.negotiate',
      outcome,
      ...(code ? { code } : {}),
      agreementId: n.agreementId,
      requester: actor.node,
      // `operator`: the name the step is recorded under (the operator token's label, or the person's login);
      // `actor`: who authenticated at this node — the person (`caller`), the operator token, or the node itself for its own.
      operator: `${actor.role}:${actor.id}`,
      ...(actor.node === this.#o.self && outcome !== 'received' ? { actor: actor.role === 'system' ? { subject: 'system', node: actor.node, role: 'system' } : (caller ?? operatorActor(actor.node)) } : {}),
      detail: { negotiation: n.id, action, state: n.state, version: n.terms.version, rounds: n.rounds.length },
    };
  }

  #now(): string {
    return this.#o.clock().toISOString();
  }
}

/**
 * Why a convener's copy cannot be taken, or null: every round must carry the hash of its own
 * terms, be numbered in order and stay within this agreement and version; rounds this node
 * holds already are never rewritten; the copy travels in its agreement's conversation. A
 * party's acceptance and signature are checked against these hashes, so a round whose hash
 * is not that of its terms would let the convener slip other terms under an acceptance.
 */
export function copyRefusal(n: Negotiation, local: Negotiation | undefined, conversation: string): string | null {
  if (conversation !== `agreement:${n.agreementId}`) return `it travels in conversation ${conversation}, not agreement:${n.agreementId}`;
  if (n.terms.id !== n.agreementId) return `its terms are for ${n.terms.id}, not ${n.agreementId}`;
  if (local && (local.agreementId !== n.agreementId || local.terms.version !== n.terms.version)) return `it is not about version ${local.terms.version} of ${local.agreementId}`;
  for (const [i, round] of n.rounds.entries()) {
    if (round.number !== i + 1) return `round ${round.number} is numbered out of order`;
    if (round.terms.id !== n.agreementId || round.terms.version !== n.terms.version) return `round ${round.number} is not about version ${n.terms.version} of ${n.agreementId}`;
    if (round.hash !== termsHash(round.terms)) return `round ${round.number} does not carry the hash of its terms`;
  }
  const latest = latestRound(n);
  if (latest && termsHash(n.terms) !== latest.hash) return `its terms are not those of round ${latest.number}`;
  if (local && canonicalJson(n.rounds.slice(0, local.rounds.length)) !== canonicalJson(local.rounds)) return 'it rewrites rounds already held';
  return null;
}

export function parseDraftRequest(raw: unknown): DraftRequest {
  const parsed = z.union([z.object({ terms: Agreement, id: z.string().optional() }), z.object({ template: z.string(), params: z.unknown(), id: z.string().optional() })]).safeParse(raw);
  if (!parsed.success) throw validationError(parsed.error);
  return parsed.data as DraftRequest;
}
