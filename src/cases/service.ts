import { randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { AuditActor, AuditEvent } from '../audit/index.ts';
import { agreementInForce } from '../agreements/index.ts';
import { AuditLog, subjectHash } from '../audit/index.ts';
import type { Catalog } from '../catalog/index.ts';
import { canonicalJson, signJws, verifyJws, type SigningKeySource } from '../crypto/index.ts';
import { signingKeyFor } from '../directory/snapshot.ts';
import { TongbanError } from '../errors/index.ts';
import type { DirectorySource, ExchangeClient } from '../exchange/index.ts';
import { validateResidentId } from '../standards/index.ts';
import type { MessageSender } from '../messaging/index.ts';
import type { Store, StoreOps } from '../store/index.ts';
import { caseTimeStatus, type TimeStatus, type WorkingCalendar } from './calendar.ts';
import { evidenceFor, previewRequired } from './evidence.ts';
import { caseStates, participantsOf, TERMINAL_STATES, ThreadMessage, type Actor, type Case, type CaseState, type CaseTransitionMessage, type Evidence } from './model.ts';
import { actingRole, applyCaseAction, caseActions, handOffRefusal, openCase, type ActionInput, type CaseAction } from './state-machine.ts';

/**
 * Who is calling, as authentication proved it (principalFor maps the authenticated Person): staff
 * or a machine client of this node with their case roles, or an applicant known by their ID number.
 */
export interface Principal {
  /** The hub's subject, `client:<id>` for a machine client, or the name of a job of the node. */
  readonly id: string;
  /** Every role the caller holds here (`applicant` for a citizen); each step is taken in one of them (actingRole). */
  readonly roles: readonly Actor['role'][];
  readonly node: string;
  /** Applicants: their resident ID number. */
  readonly subject?: string | null;
}

/** Applicants act on their own cases only (the role a citizen holds). */
export function isApplicant(principal: Principal): boolean {
  return principal.roles.includes('applicant');
}

export interface CaseContext {
  readonly self: string;
  readonly store: Store;
  readonly audit: AuditLog;
  readonly clock: () => Date;
  /** Read at each use: it changes when a key rotation is approved. */
  readonly signingKey: SigningKeySource;
  readonly directory: DirectorySource;
  readonly client: ExchangeClient;
  readonly catalog: () => Promise<Catalog>;
  readonly calendar: WorkingCalendar;
  /** Node-to-node messages: enqueued with the change, kicked once it is committed. */
  readonly messages: MessageSender;
  /** The node's audit key: case entries carry the applicant's keyed subject hash (as exchanges do), so a citizen's accesses can be found. */
  readonly auditKey?: Uint8Array;
  /** What a granted conclude also writes in its transaction: the e-certificate the case yields (src/issuer). */
  readonly onConclude?: ConcludeHook;
  /** An agreement's lifecycle state here (active, suspended, terminated): what is offered to choose from is what is in force. */
  readonly agreementState?: (agreementId: string) => string;
}

/**
 * A write that goes with a conclude, in the same transaction: no concluded case without it, nothing
 * of it without the conclude. `prepare` runs before the transaction (it may refuse the conclude,
 * e.g. CERTIFICATE_NOT_ISSUABLE); the write it returns runs inside it and gives the audit entries
 * to append with the case's own.
 */
export interface ConcludeHook {
  prepare(c: Case, input: ActionInput, principal: Principal): Promise<ConcludeWrite | undefined>;
}
export type ConcludeWrite = (tx: StoreOps) => Promise<{ events: AuditEvent[]; sentMessages: boolean }>;

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

/** One committed step, as it is replayed by the other participants. */
interface Change {
  readonly action: CaseAction;
  readonly actor: Actor;
  readonly input: ActionInput;
  readonly at: string;
  /** Identifiers the step generated (shipments), so every copy names them alike. */
  readonly ids: readonly string[];
}

/**
 * An approver's queue (GET /v1/cases?queue=decision): the states in which a case waits on its
 * competent node — to start the review, to decide, back from a special procedure or a suspension,
 * to conclude once decided.
 */
export const DECISION_QUEUE_STATES: readonly CaseState[] = ['accepted', 'in_review', 'special_procedure', 'suspended', 'decided'];

/** States a case can still move from: the overdue monitor pages over these only. */
const NOT_TERMINAL: readonly CaseState[] = caseStates.filter((state) => !TERMINAL_STATES.has(state));

/** How far ahead of this node's clock another node's step may be dated. */
const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** A refusal of a copy from another node: final for the sender, recorded on this node. */
const rejected = (message: string) => new TongbanError('CASE_COPY_REJECTED', message);

/**
 * Cases at one node: opening, guarded transitions, sharing with the other participants through
 * node-to-node messages (enqueued in the same transaction as the change), visibility, consultation threads, and
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
      actorOf(principal, ['applicant', 'clerk']),
      now,
    );
    await this.#commit(c, undefined, this.#event(principal, c, { kind: 'case.apply', outcome: 'allowed' }));
    return this.#view(c);
  }

  /**
   * One step of the lifecycle. With `expectedVersion` (the version the caller decided on), a case
   * at any other version is refused with CASE_VERSION_CONFLICT before the step is looked at; either
   * way a step that loses a race with another writer (another replica) is refused so at commit.
   */
  async act(principal: Principal, id: string, action: CaseAction, input: ActionInput, expectedVersion?: number): Promise<CaseView> {
    const current = await this.get(principal, id);
    if (expectedVersion !== undefined && current.case.version !== expectedVersion) {
      throw new TongbanError('CASE_VERSION_CONFLICT', `The case is at version ${current.case.version}, not ${expectedVersion}: another step was taken meanwhile. Reload it and decide again.`);
    }
    const change: { action: CaseAction; actor: Actor; input: ActionInput; at: string; ids: string[] } = { action, actor: actorOf(principal, (caseActions[action] as { roles: readonly Actor['role'][] }).roles), input, at: this.#ctx.clock().toISOString(), ids: [] };
    let next: Case;
    try {
      next = applyCaseAction(current.case, action, change.actor, input, change.at, () => {
        const generated = randomUUID();
        change.ids.push(generated);
        return generated;
      });
    } catch (error) {
      // A refused step is on record too, with who asked for it.
      if (error instanceof TongbanError) {
        await this.#ctx.audit.append(this.#event(principal, current.case, { kind: `case.${action}`, outcome: 'refused', code: error.code, detail: { state: current.case.state, ...previewDetail(input) } }, change.actor.role));
      }
      throw error;
    }
    // A release travels with the entry released (filtered per destination when shared): the other copies hold no data for it yet.
    if (action === 'release-evidence') change.input = { ...input, evidence: next.evidence.find((e) => e.requestId === input.requestId)! };
    // Certificate fields are personal values for this node's certificate: they never travel with the step.
    if (change.input.certificateFields !== undefined) change.input = Object.fromEntries(Object.entries(change.input).filter(([name]) => name !== 'certificateFields')) as ActionInput;
    // A conclude also writes what the hook prepares (the e-certificate), or nothing at all: a refusal
    // by the hook, before or inside the transaction, is the conclude's refusal and is on record.
    const hook = action === 'conclude' ? this.#ctx.onConclude : undefined;
    try {
      const write = hook ? await hook.prepare(next, input, principal) : undefined;
      await this.#commit(
        next,
        current.case.version,
        this.#event(principal, next, { kind: `case.${action}`, outcome: 'allowed', detail: { from: current.case.state, to: next.state, ...previewDetail(input) } }, change.actor.role),
        change,
        write,
      );
    } catch (error) {
      if (hook && error instanceof TongbanError && (error.code.startsWith('CERTIFICATE_') || error.code === 'VALIDATION_FAILED')) {
        await this.#ctx.audit.append(this.#event(principal, current.case, { kind: `case.${action}`, outcome: 'refused', code: error.code, detail: { state: current.case.state } }, change.actor.role));
      }
      throw error;
    }
    return this.#view(next);
  }

  /**
   * Online mode: the data an item needs is fetched through a governed exchange, under the
   * agreement that grants it, and kept with the case instead of papers.
   */
  async fetchEvidence(principal: Principal, id: string, request: { provider: string; service: string; purpose: string; fields?: readonly string[] | undefined; consent?: string | undefined }): Promise<CaseView> {
    const { case: c } = await this.get(principal, id);
    if (isApplicant(principal)) throw new TongbanError('CASE_FORBIDDEN', 'Applicants do not fetch data from other nodes.');
    const actor = actorOf(principal, caseActions['fetch-evidence'].roles);
    if (TERMINAL_STATES.has(c.state)) throw new TongbanError('CASE_TRANSITION_NOT_ALLOWED', `A case that is ${c.state} takes no more evidence.`);
    const view = await this.#ctx.directory.current();
    const self = this.#ctx.self;
    const found = view.policy.findGrant({ requester: self, provider: request.provider, service: request.service, itemCode: c.itemCode }, this.#ctx.clock());
    const agreementId = found?.agreement.id;
    const fields = request.fields ?? found?.grant.fields;
    if (!agreementId || !fields) {
      throw new TongbanError('AGREEMENT_NOT_FOUND', `No agreement grants ${self} the service ${request.service} of ${request.provider} for item ${c.itemCode}.`);
    }
    // Preview: the applicant sees the evidence before the deciding node does, at the node where they
    // applied. Another node fetching it would hold it before the applicant saw it: refused before any data moves.
    const preview = previewRequired((await this.#ctx.catalog()).get(c.itemCode), found.agreement.items.find((i) => i.itemCode === c.itemCode));
    if (preview && c.acceptingNode !== self) {
      throw new TongbanError('CASE_FORBIDDEN', `Evidence for item ${c.itemCode} is previewed by the applicant: the accepting node ${c.acceptingNode} fetches it and holds it for their review.`);
    }
    const result = await this.#ctx.client.request({
      provider: request.provider,
      agreementId,
      itemCode: c.itemCode,
      service: request.service,
      purpose: request.purpose,
      caseId: c.id,
      // Who asks is who authenticated: the principal, never a name from the request.
      operator: { id: principal.id, role: actor.role === 'applicant' ? 'system' : actor.role },
      subject: { type: 'idNumber', value: c.applicant.idNumber },
      fields: [...fields],
      ...(request.consent ? { consent: request.consent } : {}),
    });
    // Re-read: the case may have moved while the exchange ran.
    const fresh = (await this.get(principal, id)).case;
    const at = this.#ctx.clock().toISOString();
    const evidence: Evidence = {
      provider: request.provider,
      service: request.service,
      requestId: result.requestId,
      fetchedAt: at,
      fetchedBy: self,
      purpose: request.purpose,
      data: result.response.data,
      ...(preview ? { preview: 'pending' as const } : {}),
    };
    const change: Change = { action: 'fetch-evidence', actor, input: { reason: `${request.service} from ${request.provider}`, evidence }, at, ids: [] };
    const next = applyCaseAction(fresh, change.action, change.actor, change.input, at, () => randomUUID());
    await this.#commit(
      next,
      fresh.version,
      this.#event(principal, next, {
        kind: 'case.fetch-evidence',
        outcome: 'allowed',
        requestId: result.requestId,
        agreementId,
        provider: request.provider,
        service: request.service,
        purpose: request.purpose,
        detail: preview ? { preview: 'pending' } : {},
      }, actor.role),
      change,
    );
    return this.#view(next);
  }

  /**
   * A certificate the applicant presented, as evidence instead of a paper copy: `verify` checks the
   * presentation against this case (its own audit entry) and gives the entry; it is recorded as the
   * evidence of a fetch and travels to the other participants with the disclosed data.
   */
  async addCertificate(principal: Principal, id: string, verify: (c: Case) => Promise<Omit<Evidence, 'fetchedAt' | 'fetchedBy'>>): Promise<CaseView> {
    const { case: c } = await this.get(principal, id);
    if (isApplicant(principal)) throw new TongbanError('CASE_FORBIDDEN', 'Staff of a node involved verify the certificates an applicant presents.');
    const actor = actorOf(principal, ['clerk', 'approver']);
    if (TERMINAL_STATES.has(c.state)) throw new TongbanError('CASE_TRANSITION_NOT_ALLOWED', `A case that is ${c.state} takes no more evidence.`);
    const entry = await verify(c);
    // Re-read: the case may have moved while the certificate was verified.
    const fresh = (await this.get(principal, id)).case;
    const at = this.#ctx.clock().toISOString();
    const evidence: Evidence = { ...entry, fetchedAt: at, fetchedBy: this.#ctx.self };
    const change: Change = { action: 'fetch-evidence', actor, input: { reason: `certificate ${entry.certificate?.id ?? ''} of ${entry.provider}`.slice(0, 1000), evidence }, at, ids: [] };
    const next = applyCaseAction(fresh, change.action, change.actor, change.input, at, () => randomUUID());
    await this.#commit(
      next,
      fresh.version,
      this.#event(principal, next, {
        kind: 'case.certificate',
        outcome: 'allowed',
        requestId: evidence.requestId,
        provider: evidence.provider,
        service: evidence.service,
        ...(evidence.purpose ? { purpose: evidence.purpose } : {}),
        detail: { certificate: evidence.certificate?.id ?? null, fields: Object.keys(evidence.data ?? {}).join(',') },
      }, actor.role),
      change,
    );
    return this.#view(next);
  }

  /**
   * A read of a case by a person (GET /v1/cases/:id): the case as `get` gives it, audited with the
   * reader and the outcome — a refusal too (CASE_NOT_FOUND), so probing for cases is on record.
   */
  async read(principal: Principal, id: string): Promise<CaseView> {
    let view: CaseView;
    try {
      view = await this.get(principal, id);
    } catch (error) {
      if (error instanceof TongbanError) await this.#ctx.audit.append({ kind: 'case.read', outcome: 'refused', code: error.code, caseId: id.slice(0, 80), actor: auditActor(principal) });
      throw error;
    }
    const c = view.case;
    const shown = c.evidence.filter((e) => e.data !== undefined);
    await this.#ctx.audit.append(
      this.#event(principal, c, {
        kind: 'case.read',
        outcome: 'allowed',
        // Evidence views: which data the reader was shown with the case (services and their exchanges, never values).
        detail: { state: c.state, evidence: shown.length, evidenceRequests: shown.map((e) => e.requestId).join(',').slice(0, 500), pendingPreview: c.evidence.filter((e) => e.preview === 'pending').length },
      }),
    );
    return view;
  }

  /** A case visible to the caller; CASE_NOT_FOUND for anything else, so existence is not revealed. Not audited: the steps that use it are. */
  async get(principal: Principal, id: string): Promise<CaseView> {
    const c = await this.#ctx.store.cases.get(id);
    if (!c || !this.#visible(principal, c)) throw new TongbanError('CASE_NOT_FOUND', `No case ${id}.`);
    return this.#view(c);
  }

  /** One page of the cases the caller may see, newest first, with the true total; filtered and paged by the database. */
  async list(principal: Principal, page: { state?: CaseState | undefined; queue?: 'decision' | undefined; limit: number; offset: number }): Promise<{ cases: CaseView[]; total: number }> {
    if (!isApplicant(principal) && principal.node !== this.#ctx.self) {
      await this.#ctx.audit.append({ kind: 'case.list', outcome: 'refused', code: 'CASE_FORBIDDEN', actor: auditActor(principal), detail: { shown: 0 } });
      return { cases: [], total: 0 };
    }
    // The decision queue: cases this node decides, from hand-over to conclusion.
    const states = page.queue === 'decision' ? DECISION_QUEUE_STATES.filter((s) => !page.state || s === page.state) : page.state ? [page.state] : undefined;
    const filter = {
      ...(isApplicant(principal) ? { applicantId: principal.subject ?? '\u0000' } : { participant: this.#ctx.self }),
      ...(page.queue === 'decision' ? { competent: this.#ctx.self } : {}),
      ...(states ? { states } : {}),
    };
    const [cases, total] = await Promise.all([this.#ctx.store.cases.list({ ...filter, limit: page.limit, offset: page.offset }), this.#ctx.store.cases.count(filter)]);
    // One entry per list call (not one per case): who listed, what filter, how many they were shown.
    await this.#ctx.audit.append({
      kind: 'case.list',
      outcome: 'allowed',
      actor: auditActor(principal),
      detail: { state: page.state ?? null, queue: page.queue ?? null, limit: page.limit, offset: page.offset, shown: cases.length, total },
    });
    return { cases: cases.map((c) => this.#view(c)), total };
  }

  /**
   * Where an application for `itemCode` can be decided, as this node knows it: every node of the
   * directory but the hub, each with the agreements in force that cover the item with this node
   * accepting and that node deciding (in `mode`, when given), and the services it grants this node
   * for the item (the evidence a case of it can fetch there); nodes with an agreement first. The
   * directory is public: anyone signed in may ask (a counter's form, a citizen's application).
   */
  async competentNodes(itemCode: string, mode?: Case['mode']): Promise<Array<{ division: string; name: string; agreements: string[]; grants: Array<{ service: string; agreement: string; purposes: string[]; consentRequired: boolean }> }>> {
    const item = (await this.#ctx.catalog()).get(itemCode);
    if (!item) throw new TongbanError('ITEM_NOT_FOUND', `There is no item ${itemCode} in the catalogue.`);
    const view = await this.#ctx.directory.current();
    const self = this.#ctx.self;
    const nodes = view.snapshot.nodes.filter((n) => n.role === 'node' && view.node(n.division));
    // Only agreements in force: a suspended or terminated one (or one not begun, or expired) offers no node and no evidence.
    const now = this.#ctx.clock();
    const stateOf = this.#ctx.agreementState ?? (() => 'active');
    const agreements = view.agreements.filter((signed) => agreementInForce(signed, stateOf, now));
    const covering = (division: string) =>
      agreements
        .filter(({ agreement: a }) => a.parties.includes(self) && a.parties.includes(division))
        .filter(({ agreement: a }) =>
          a.items.some((i) => i.itemCode === item.code && (!i.acceptingNodes || i.acceptingNodes.includes(self)) && (!i.decidingNodes || i.decidingNodes.includes(division)) && (!mode || !i.mode || i.mode === mode)),
        )
        .map(({ agreement: a }) => a.id)
        .sort();
    const grants = (division: string) =>
      agreements.flatMap(({ agreement: a }) =>
        a.items
          .filter((i) => i.itemCode === item.code)
          .flatMap((i) => i.grants.filter((g) => g.provider === division && g.requesters.includes(self)).map((g) => ({ service: g.service, agreement: a.id, purposes: [...g.purposes], consentRequired: g.consentRequired }))),
      );
    return nodes
      .map((n) => ({ division: n.division, name: n.name, agreements: covering(n.division), grants: grants(n.division) }))
      .sort((a, b) => Number(b.agreements.length > 0) - Number(a.agreements.length > 0) || a.division.localeCompare(b.division));
  }

  visibleTo(principal: Principal, c: Case): boolean {
    return this.#visible(principal, c);
  }

  #visible(principal: Principal, c: Case): boolean {
    if (isApplicant(principal)) return c.applicant.idNumber === principal.subject;
    return participantsOf(c).includes(this.#ctx.self) && principal.node === this.#ctx.self;
  }

  /** An entry about a case a person at this node touched: who (as authenticated), which case, whose data (keyed hash). */
  #event(principal: Principal, c: Case, event: Omit<AuditEvent, 'caseId' | 'itemCode' | 'operator' | 'actor' | 'subjectHash'>, role?: Actor['role']): AuditEvent {
    const key = this.#ctx.auditKey;
    return {
      ...event,
      caseId: c.id,
      itemCode: c.itemCode,
      operator: principal.id,
      actor: auditActor(principal, role),
      ...(key ? { subjectHash: subjectHash(key, 'idNumber', c.applicant.idNumber) } : {}),
    };
  }

  #view(c: Case): CaseView {
    return { case: c, time: caseTimeStatus(c, this.#ctx.calendar, this.#ctx.clock()) };
  }

  /**
   * Writes the new version, its audit entry and a message to every other participant in one
   * transaction. A case is handed over (`case.snapshot`) when it is accepted; before that it is
   * the accepting node's alone. After that every step travels as itself (`case.transition`), for
   * the other participants to replay through the state machine.
   */
  async #commit(next: Case, expectedVersion: number | undefined, event: AuditEvent, change?: Change, write?: ConcludeWrite): Promise<void> {
    const ctx = this.#ctx;
    const shared = next.acceptedAt !== undefined && change !== undefined;
    // Evidence is filtered per destination against the agreements in force.
    const carriesData = shared && (change.action === 'accept' ? next.evidence.some((e) => e.data) : change.input.evidence?.data !== undefined);
    const policy = carriesData ? (await ctx.directory.current()).policy : undefined;
    const sent = await ctx.store.transaction(async (tx) => {
      if (!(await tx.cases.put(next, expectedVersion ?? 0))) {
        throw new TongbanError('CASE_VERSION_CONFLICT', 'The case changed meanwhile (another step was written first); reload it and try again.');
      }
      if (shared) await this.#share(tx, next, change, policy);
      const written = write ? await write(tx) : undefined;
      await AuditLog.appendIn(tx, [event, ...(written?.events ?? [])], ctx.clock());
      return written?.sentMessages === true;
    });
    if (shared || sent) ctx.messages.kick();
    this.emit('change', next);
  }

  async #share(tx: StoreOps, c: Case, change: Change, policy: { findGrant: Parameters<typeof evidenceFor>[3] } | undefined): Promise<void> {
    const now = this.#ctx.clock();
    const evidence = (node: string, entries: Case['evidence']) => (policy ? evidenceFor(node, entries, c.itemCode, (q, t) => policy.findGrant(q, t), now) : entries);
    for (const node of participantsOf(c)) {
      if (node === this.#ctx.self) continue;
      if (change.action === 'accept') {
        await this.#ctx.messages.send(tx, { destination: node, conversation: caseConversation(c.id), kind: 'case.snapshot', payload: { ...c, evidence: evidence(node, c.evidence) } });
        continue;
      }
      const input = change.input.evidence ? { ...change.input, evidence: evidence(node, [change.input.evidence])[0]! } : change.input;
      const payload = { caseId: c.id, action: change.action, actor: change.actor, at: change.at, input, ids: [...change.ids] };
      await this.#ctx.messages.send(tx, { destination: node, conversation: caseConversation(c.id), kind: 'case.transition', payload });
    }
  }

  /**
   * A case handed over by its accepting node. Accepted only if this node is one of its competent
   * nodes, does not hold it yet, and the copy is what acceptance at that node produces
   * (handOffRefusal); anything else is CASE_COPY_REJECTED and nothing is stored.
   */
  async receiveSnapshot(tx: StoreOps, from: string, c: Case): Promise<'applied' | 'stale'> {
    if (!c.competentNodes.includes(this.#ctx.self) || c.acceptingNode === this.#ctx.self) throw rejected(`Case ${c.id} is not handed over to ${this.#ctx.self}.`);
    if (await tx.cases.get(c.id)) throw rejected(`${this.#ctx.self} already holds case ${c.id}; changes to it travel as transitions.`);
    const refusal = handOffRefusal(c, from);
    if (refusal) throw rejected(refusal);
    if (!(await tx.cases.put(c, 0))) throw rejected(`${this.#ctx.self} already holds case ${c.id}.`);
    await AuditLog.appendIn(tx, [{ kind: 'case.received', outcome: 'received', caseId: c.id, requester: from, detail: { version: c.version, state: c.state } }], this.#ctx.clock());
    return 'applied';
  }

  /**
   * A step another participant took on a case this node holds: replayed on this node's copy with
   * the state machine, as that node's (the sender's) act — so it must be a step the state allows to
   * that role at that node's seat. Returns the new copy (undefined when it changed nothing).
   */
  async receiveTransition(tx: StoreOps, from: string, m: CaseTransitionMessage): Promise<Case | undefined> {
    for (let attempt = 0; ; attempt++) {
      const local = await tx.cases.get(m.caseId);
      // The hand-off from the accepting node may still be on its way: the sender retries.
      if (!local) throw new TongbanError('CASE_NOT_YET_SHARED', `${this.#ctx.self} does not hold case ${m.caseId} yet.`);
      if (!participantsOf(local).includes(from)) throw rejected(`${from} takes no part in case ${m.caseId}.`);
      if (m.actor.node !== from) throw rejected(`${from} sent a step taken at ${m.actor.node}; a node reports only its own steps.`);
      if (!Object.hasOwn(caseActions, m.action)) throw rejected(`Unknown case action ${m.action}.`);
      // A step is reported after it was taken: a time ahead of this node's clock (beyond skew) is not one.
      if (Date.parse(m.at) > this.#ctx.clock().getTime() + MAX_CLOCK_SKEW_MS) throw rejected(`The ${m.action} step is dated in the future (${m.at}).`);
      // Both competent nodes of a joint case watch its time limit: a second escalation is no news.
      if (m.action === 'escalate' && local.escalated) return undefined;
      const ids = [...m.ids];
      let next: Case;
      try {
        next = applyCaseAction(local, m.action as CaseAction, m.actor, m.input, m.at, () => {
          const id = ids.shift();
          if (!id) throw rejected(`The ${m.action} step lacks the identifiers it generated.`);
          return id;
        });
      } catch (error) {
        if (error instanceof TongbanError) throw rejected(`${m.action} by a ${m.actor.role} of ${from} is not allowed on case ${m.caseId}: ${error.message}`);
        throw error;
      }
      if (ids.length > 0) throw rejected(`The ${m.action} step carries identifiers it did not generate.`);
      if (await tx.cases.put(next, local.version)) {
        await AuditLog.appendIn(
          tx,
          [{ kind: 'case.received', outcome: 'received', caseId: m.caseId, requester: from, detail: { action: m.action, version: next.version, state: next.state } }],
          this.#ctx.clock(),
        );
        return next;
      }
      // A local step committed meanwhile: replay on the newer copy.
      if (attempt >= 4) throw new TongbanError('CASE_TRANSITION_NOT_ALLOWED', `Case ${m.caseId} keeps changing; try again.`);
    }
  }

  /** Records on this node that a copy from another node was refused (the refusal rolled back everything else). */
  async recordRefusal(from: string, kind: string, caseId: string | undefined, error: TongbanError): Promise<void> {
    await this.#ctx.audit.append({
      kind: 'case.received',
      outcome: 'refused',
      code: error.code,
      requester: from,
      ...(caseId ? { caseId: caseId.slice(0, 80) } : {}),
      detail: { message: kind, reason: error.message.slice(0, 500) },
    });
  }

  notifyReceived(c: Case): void {
    this.emit('change', c);
  }

  // ---- consultation threads (协商沟通) ----

  async thread(principal: Principal, id: string, page: { limit: number; offset: number }): Promise<ThreadMessage[]> {
    let c: Case;
    try {
      if (isApplicant(principal)) throw new TongbanError('CASE_FORBIDDEN', 'Consultation threads are between staff of the nodes involved.');
      c = (await this.get(principal, id)).case;
    } catch (error) {
      if (error instanceof TongbanError) await this.#ctx.audit.append({ kind: 'case.read-thread', outcome: 'refused', code: error.code, caseId: id.slice(0, 80), actor: auditActor(principal) });
      throw error;
    }
    const messages = await this.#ctx.store.caseMessages.list(id, page);
    await this.#ctx.audit.append(this.#event(principal, c, { kind: 'case.read-thread', outcome: 'allowed', detail: { offset: page.offset, shown: messages.length } }));
    return messages;
  }

  async post(principal: Principal, id: string, text: string, escalation: boolean): Promise<ThreadMessage> {
    if (isApplicant(principal)) throw new TongbanError('CASE_FORBIDDEN', 'Consultation threads are between staff of the nodes involved.');
    const { case: c } = await this.get(principal, id);
    // The other nodes hold the case only once it is handed over: a thread before that would
    // send them messages about a case they do not know.
    if (c.acceptedAt === undefined) throw new TongbanError('CASE_TRANSITION_NOT_ALLOWED', 'The consultation thread opens once the case is accepted and handed over.');
    const unsigned = {
      id: `${this.#ctx.self}-${randomUUID()}`,
      caseId: id,
      node: this.#ctx.self,
      author: principal.id,
      role: actorOf(principal, ['clerk', 'approver', 'supervisor']).role,
      text,
      at: this.#ctx.clock().toISOString(),
      escalation,
    };
    const signature = await signJws(this.#ctx.signingKey.current(), new TextEncoder().encode(canonicalJson(unsigned)), { typ: MESSAGE_TYP, detached: true });
    const message = ThreadMessage.parse({ ...unsigned, signature });
    await this.#ctx.store.transaction(async (tx) => {
      await tx.caseMessages.add(message);
      for (const node of participantsOf(c)) {
        if (node !== this.#ctx.self) await this.#ctx.messages.send(tx, { destination: node, conversation: caseConversation(id), kind: 'case.message', payload: message });
      }
      await AuditLog.appendIn(tx, [this.#event(principal, c, { kind: escalation ? 'case.escalate-thread' : 'case.message', outcome: 'sent', detail: { message: message.id } })], this.#ctx.clock());
    });
    this.#ctx.messages.kick();
    this.emit('message', message);
    return message;
  }

  /** A thread message from another node: kept only if its node's signature verifies. */
  async receiveMessage(tx: StoreOps, from: string, message: ThreadMessage): Promise<'applied' | 'stale'> {
    if (message.node !== from) throw new TongbanError('SIGNATURE_INVALID', 'The message names another node than its sender.');
    const c = await tx.cases.get(message.caseId);
    if (!c) throw new TongbanError('CASE_NOT_YET_SHARED', `${this.#ctx.self} does not hold case ${message.caseId} yet.`);
    if (!participantsOf(c).includes(from)) throw new TongbanError('CASE_FORBIDDEN', `${from} takes no part in case ${message.caseId}.`);
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

  /**
   * Escalates every overdue open case this node decides; returns the ids escalated. Walks all
   * open cases in pages by id (escalating moves a case's update time, not its id, so nothing is
   * skipped or seen twice).
   */
  async escalateOverdue(options: { pageSize?: number } = {}): Promise<string[]> {
    const system: Principal = { id: 'time-limit-monitor', roles: ['system'], node: this.#ctx.self };
    const pageSize = options.pageSize ?? 500;
    const escalated: string[] = [];
    for (let afterId: string | undefined; ; ) {
      const page = await this.#ctx.store.cases.list({ participant: this.#ctx.self, states: NOT_TERMINAL, order: 'id', ...(afterId ? { afterId } : {}), limit: pageSize });
      for (const c of page) {
        if (c.escalated || !c.competentNodes.includes(this.#ctx.self)) continue;
        const time = caseTimeStatus(c, this.#ctx.calendar, this.#ctx.clock());
        if (!time.overdue || time.finished) continue;
        await this.act(system, c.id, 'escalate', { reason: `Overdue: the committed limit of ${time.limitDays} ${time.unit} days ended on ${time.deadline}.` });
        escalated.push(c.id);
      }
      if (page.length < pageSize) return escalated;
      afterId = page.at(-1)!.id;
    }
  }
}

/** The conversation of a case's messages: delivered in order per destination and case. */
export function caseConversation(caseId: string): string {
  return `case:${caseId}`;
}

/** The actor of a step `allowed` roles may take: the caller in the role they take it in (actingRole). */
function actorOf(principal: Principal, allowed: readonly Actor['role'][]): Actor {
  const role = actingRole(allowed, principal.roles);
  if (!role) throw new TongbanError('CASE_FORBIDDEN', 'You hold no role in cases at this node.');
  return { node: principal.node, id: role === 'applicant' ? (principal.subject ?? principal.id) : principal.id, role };
}

/** The audit entry's actor: the authenticated person (their subject, never an applicant's ID number) in the role they acted in. */
function auditActor(principal: Principal, role?: Actor['role']): AuditActor {
  return { subject: principal.id, node: principal.node, role: role ?? principal.roles[0] ?? 'system' };
}

function previewDetail(input: ActionInput): Record<string, string> {
  return input.requestId ? { evidenceRequest: input.requestId.slice(0, 80) } : {};
}

function caseId(node: string, now: string): string {
  return `C-${node}-${now.slice(0, 10).replaceAll('-', '')}${randomBytes(5).toString('hex').toUpperCase()}`;
}
