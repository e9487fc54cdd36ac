import { randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { AuditEvent } from '../audit/index.ts';
import { AuditLog } from '../audit/index.ts';
import type { Catalog } from '../catalog/index.ts';
import { canonicalJson, signJws, verifyJws, type SigningKey } from '../crypto/index.ts';
import { signingKeyFor } from '../directory/snapshot.ts';
import { TongbanError } from '../errors/index.ts';
import type { DirectorySource, ExchangeClient } from '../exchange/index.ts';
import { validateResidentId } from '../standards/index.ts';
import type { Store, StoreOps } from '../store/index.ts';
import { caseTimeStatus, type TimeStatus, type WorkingCalendar } from './calendar.ts';
import { participantsOf, TERMINAL_STATES, ThreadMessage, type Actor, type Case } from './model.ts';
import { applyCaseAction, mergePartDecisions, openCase, type ActionInput, type CaseAction } from './state-machine.ts';

/** Who is calling: staff of this node, or an applicant known by their ID number. */
export interface Principal {
  readonly id: string;
  readonly role: 'applicant' | 'clerk' | 'approver' | 'supervisor' | 'system';
  readonly node: string;
  /** Applicants: their resident ID number. */
  readonly subject?: string | null;
}

export interface CaseContext {
  readonly self: string;
  readonly store: Store;
  readonly audit: AuditLog;
  readonly clock: () => Date;
  readonly signingKey: SigningKey;
  readonly directory: DirectorySource;
  readonly client: ExchangeClient;
  readonly catalog: () => Promise<Catalog>;
  readonly calendar: WorkingCalendar;
  /** Called after a change is committed with messages for other nodes. */
  readonly kickOutbox: () => void;
}

export interface CaseView {
  readonly case: Case;
  readonly time: TimeStatus;
}

export interface ApplyInput {
  readonly itemCode: string;
  readonly mode: Case['mode'];
  readonly competentNodes: readonly string[];
  readonly applicant: { idNumber: string; name: string; phone?: string };
}

const MESSAGE_TYP = 'tongban-case-message+jws';

/**
 * Cases at one node: opening, guarded transitions, sharing with the other participants through
 * the outbox (in the same transaction as the change), visibility, consultation threads, and
 * escalation of overdue cases. Emits `change` events for live views.
 */
export class CaseService extends EventEmitter<{ change: [Case]; message: [ThreadMessage] }> {
  readonly #ctx: CaseContext;

  constructor(ctx: CaseContext) {
    super();
    this.#ctx = ctx;
  }

  async apply(principal: Principal, input: ApplyInput): Promise<CaseView> {
    const ctx = this.#ctx;
    const item = (await ctx.catalog()).get(input.itemCode);
    if (!item) throw new TongbanError('ITEM_NOT_FOUND', `There is no item ${input.itemCode} in the catalogue.`);
    if (!item.modes.includes(input.mode)) throw new TongbanError('VALIDATION_FAILED', `Item ${item.code} is handled ${item.modes.join(' or ')}, not ${input.mode}.`);
    const idCheck = validateResidentId(input.applicant.idNumber, { today: ctx.clock() });
    if (!idCheck.valid) throw new TongbanError('SUBJECT_INVALID', `The applicant's ID number is not valid: ${idCheck.errors.map((e) => e.message).join(' ')}`);
    const view = await ctx.directory.current();
    for (const node of input.competentNodes) {
      if (!view.node(node)) throw new TongbanError('NODE_UNKNOWN', `${node} is not in the directory.`);
    }
    const now = ctx.clock().toISOString();
    const c = openCase(
      {
        id: caseId(ctx.self, now),
        itemCode: item.code,
        itemName: item.name,
        mode: input.mode,
        applicant: { ...input.applicant, idNumber: idCheck.value },
        acceptingNode: ctx.self,
        competentNodes: input.competentNodes,
        // Fully online: everything is submitted electronically, nothing goes by post.
        materials: input.mode === 'online' ? item.materials.map((m) => ({ ...m, kind: 'electronic' as const })) : item.materials,
        timeLimit: { unit: item.timeLimit.unit, statutoryDays: item.timeLimit.statutoryDays, committedDays: item.timeLimit.committedDays },
      },
      actorOf(principal),
      now,
    );
    await this.#commit(c, undefined, { kind: 'case.apply', outcome: 'allowed', caseId: c.id, itemCode: c.itemCode, operator: principal.id });
    return this.#view(c);
  }

  async act(principal: Principal, id: string, action: CaseAction, input: ActionInput): Promise<CaseView> {
    const current = await this.get(principal, id);
    const next = applyCaseAction(current.case, action, actorOf(principal), input, this.#ctx.clock().toISOString(), () => randomUUID());
    await this.#commit(next, current.case.version, {
      kind: `case.${action}`,
      outcome: 'allowed',
      caseId: id,
      itemCode: next.itemCode,
      operator: principal.id,
      detail: { from: current.case.state, to: next.state },
    });
    return this.#view(next);
  }

  /**
   * Online mode: the data an item needs is fetched through a governed exchange, under the
   * agreement that grants it, and kept with the case instead of papers.
   */
  async fetchEvidence(principal: Principal, id: string, request: { provider: string; service: string; purpose: string; fields?: readonly string[] }): Promise<CaseView> {
    const { case: c } = await this.get(principal, id);
    if (principal.role === 'applicant') throw new TongbanError('CASE_FORBIDDEN', 'Applicants do not fetch data from other nodes.');
    if (TERMINAL_STATES.has(c.state)) throw new TongbanError('CASE_TRANSITION_NOT_ALLOWED', `A case that is ${c.state} takes no more evidence.`);
    const view = await this.#ctx.directory.current();
    const self = this.#ctx.self;
    const found = view.policy.findGrant({ requester: self, provider: request.provider, service: request.service, itemCode: c.itemCode }, this.#ctx.clock());
    const agreementId = found?.agreement.id;
    const fields = request.fields ?? found?.grant.fields;
    if (!agreementId || !fields) {
      throw new TongbanError('AGREEMENT_NOT_FOUND', `No agreement grants ${self} the service ${request.service} of ${request.provider} for item ${c.itemCode}.`);
    }
    const result = await this.#ctx.client.request({
      provider: request.provider,
      agreementId,
      itemCode: c.itemCode,
      service: request.service,
      purpose: request.purpose,
      caseId: c.id,
      operator: { id: principal.id, role: principal.role === 'system' ? 'system' : principal.role },
      subject: { type: 'idNumber', value: c.applicant.idNumber },
      fields: [...fields],
    });
    // Re-read: the case may have moved while the exchange ran.
    const fresh = (await this.get(principal, id)).case;
    const at = this.#ctx.clock().toISOString();
    const next: Case = {
      ...fresh,
      evidence: [...fresh.evidence, { provider: request.provider, service: request.service, requestId: result.requestId, fetchedAt: at, fetchedBy: self, data: result.response.data }],
      history: [...fresh.history, { action: 'fetch-evidence', from: fresh.state, to: fresh.state, at, actor: actorOf(principal), reason: `${request.service} from ${request.provider}` }],
      version: fresh.version + 1,
      updatedAt: at,
    };
    await this.#commit(next, fresh.version, { kind: 'case.fetch-evidence', outcome: 'allowed', caseId: id, operator: principal.id, provider: request.provider, service: request.service });
    return this.#view(next);
  }

  /** A case visible to the caller; CASE_NOT_FOUND for anything else, so existence is not revealed. */
  async get(principal: Principal, id: string): Promise<CaseView> {
    const c = await this.#ctx.store.cases.get(id);
    if (!c || !this.#visible(principal, c)) throw new TongbanError('CASE_NOT_FOUND', `No case ${id}.`);
    return this.#view(c);
  }

  async list(principal: Principal): Promise<CaseView[]> {
    const cases =
      principal.role === 'applicant'
        ? await this.#ctx.store.cases.list({ applicantId: principal.subject ?? '\u0000', limit: 10_000 })
        : await this.#ctx.store.cases.list({ participant: this.#ctx.self, limit: 10_000 });
    return cases.filter((c) => this.#visible(principal, c)).map((c) => this.#view(c));
  }

  visibleTo(principal: Principal, c: Case): boolean {
    return this.#visible(principal, c);
  }

  #visible(principal: Principal, c: Case): boolean {
    if (principal.role === 'applicant') return c.applicant.idNumber === principal.subject;
    return participantsOf(c).includes(this.#ctx.self) && principal.node === this.#ctx.self;
  }

  #view(c: Case): CaseView {
    return { case: c, time: caseTimeStatus(c, this.#ctx.calendar, this.#ctx.clock()) };
  }

  /**
   * Writes the new version, its audit entry and a message to every other participant in one
   * transaction. A case is shared once accepted; before that it is the accepting node's alone.
   */
  async #commit(next: Case, expectedVersion: number | undefined, event: AuditEvent): Promise<void> {
    const ctx = this.#ctx;
    const shared = next.acceptedAt !== undefined;
    await ctx.store.transaction(async (tx) => {
      if (!(await tx.cases.put(next, expectedVersion ?? 0))) {
        throw new TongbanError('CASE_TRANSITION_NOT_ALLOWED', 'The case changed meanwhile; reload it and try again.');
      }
      if (shared) await this.#share(tx, next);
      await AuditLog.appendIn(tx, [event], ctx.clock());
    });
    if (shared) ctx.kickOutbox();
    this.emit('change', next);
  }

  async #share(tx: StoreOps, c: Case): Promise<void> {
    for (const node of participantsOf(c)) {
      if (node === this.#ctx.self) continue;
      await tx.outbox.enqueue({ id: randomUUID(), destination: node, kind: 'case.snapshot', payload: c });
    }
  }

  /** A case (or a newer version of it) from another participant; applied at most once. */
  async receiveSnapshot(tx: StoreOps, from: string, c: Case): Promise<'applied' | 'stale'> {
    const participants = participantsOf(c);
    if (!participants.includes(from) || !participants.includes(this.#ctx.self)) {
      throw new TongbanError('CASE_FORBIDDEN', `${from} cannot send case ${c.id} to ${this.#ctx.self}.`);
    }
    const local = await tx.cases.get(c.id);
    if (local && !participantsOf(local).includes(from)) throw new TongbanError('CASE_FORBIDDEN', `${from} takes no part in case ${c.id}.`);
    let applied = await tx.cases.put(c);
    if (!applied && local) {
      // Concurrent part decisions of a joint case: merge them and tell everyone.
      const merged = mergePartDecisions(local, c, this.#ctx.clock().toISOString());
      if (merged && (await tx.cases.put(merged, local.version))) {
        await this.#share(tx, merged);
        applied = true;
        this.#ctx.kickOutbox();
      }
    }
    await AuditLog.appendIn(tx, [{ kind: 'case.received', outcome: applied ? 'received' : 'refused', caseId: c.id, requester: from, detail: { version: c.version, state: c.state } }], this.#ctx.clock());
    return applied ? 'applied' : 'stale';
  }

  notifyReceived(c: Case): void {
    this.emit('change', c);
  }

  // ---- consultation threads (协商沟通) ----

  async thread(principal: Principal, id: string): Promise<ThreadMessage[]> {
    await this.get(principal, id);
    return this.#ctx.store.caseMessages.list(id);
  }

  async post(principal: Principal, id: string, text: string, escalation: boolean): Promise<ThreadMessage> {
    if (principal.role === 'applicant') throw new TongbanError('CASE_FORBIDDEN', 'Consultation threads are between staff of the nodes involved.');
    const { case: c } = await this.get(principal, id);
    const unsigned = {
      id: `${this.#ctx.self}-${randomUUID()}`,
      caseId: id,
      node: this.#ctx.self,
      author: principal.id,
      role: principal.role,
      text,
      at: this.#ctx.clock().toISOString(),
      escalation,
    };
    const signature = await signJws(this.#ctx.signingKey, new TextEncoder().encode(canonicalJson(unsigned)), { typ: MESSAGE_TYP, detached: true });
    const message = ThreadMessage.parse({ ...unsigned, signature });
    await this.#ctx.store.transaction(async (tx) => {
      await tx.caseMessages.add(message);
      for (const node of participantsOf(c)) {
        if (node !== this.#ctx.self) await tx.outbox.enqueue({ id: randomUUID(), destination: node, kind: 'case.message', payload: message });
      }
      await AuditLog.appendIn(
        tx,
        [{ kind: escalation ? 'case.escalate-thread' : 'case.message', outcome: 'sent', caseId: id, operator: principal.id, detail: { message: message.id } }],
        this.#ctx.clock(),
      );
    });
    this.#ctx.kickOutbox();
    this.emit('message', message);
    return message;
  }

  /** A thread message from another node: kept only if its node's signature verifies. */
  async receiveMessage(tx: StoreOps, from: string, message: ThreadMessage): Promise<'applied' | 'stale'> {
    if (message.node !== from) throw new TongbanError('SIGNATURE_INVALID', 'The message names another node than its sender.');
    const c = await tx.cases.get(message.caseId);
    if (!c || !participantsOf(c).includes(from)) throw new TongbanError('CASE_FORBIDDEN', `${from} takes no part in case ${message.caseId}.`);
    const sender = (await this.#ctx.directory.current()).node(from);
    const { signature, ...unsigned } = message;
    const verified = await verifyJws(signature, (kid) => (sender ? signingKeyFor(sender, kid, this.#ctx.clock()) : null), new TextEncoder().encode(canonicalJson(unsigned)));
    if (!verified.ok) throw new TongbanError('SIGNATURE_INVALID', `The message is not signed by ${from}.`);
    const added = await tx.caseMessages.add(message);
    await AuditLog.appendIn(tx, [{ kind: 'case.message', outcome: 'received', caseId: message.caseId, requester: from, detail: { message: message.id } }], this.#ctx.clock());
    return added ? 'applied' : 'stale';
  }

  notifyMessage(message: ThreadMessage): void {
    this.emit('message', message);
  }

  // ---- supervision (超期督办) ----

  /** Escalates every overdue open case this node takes part in; returns the ids escalated. */
  async escalateOverdue(): Promise<string[]> {
    const system: Principal = { id: 'time-limit-monitor', role: 'system', node: this.#ctx.self };
    const escalated: string[] = [];
    for (const c of await this.#ctx.store.cases.list({ participant: this.#ctx.self, limit: 10_000 })) {
      if (c.escalated || TERMINAL_STATES.has(c.state) || !c.competentNodes.includes(this.#ctx.self)) continue;
      const time = caseTimeStatus(c, this.#ctx.calendar, this.#ctx.clock());
      if (!time.overdue || time.finished) continue;
      await this.act(system, c.id, 'escalate', { reason: `Overdue: the committed limit of ${time.limitDays} ${time.unit} days ended on ${time.deadline}.` });
      escalated.push(c.id);
    }
    return escalated;
  }
}

function actorOf(principal: Principal): Actor {
  return { node: principal.node, id: principal.role === 'applicant' ? (principal.subject ?? principal.id) : principal.id, role: principal.role };
}

function caseId(node: string, now: string): string {
  return `C-${node}-${now.slice(0, 10).replaceAll('-', '')}${randomBytes(5).toString('hex').toUpperCase()}`;
}
