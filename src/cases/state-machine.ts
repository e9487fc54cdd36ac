import { certificateTypeByVct } from '../certificates/index.ts';
import { TongbanError, type ErrorCode } from '../errors/index.ts';
import { participantsOf, TERMINAL_STATES, caseStates, type Actor, type Case, type CaseState, type Evidence, type Material, type Part, type Shipment } from './model.ts';

/** Where the acting person must sit: at the node that accepted the case, or at a competent one. */
type Seat = 'accepting' | 'competent' | 'participant';

export interface ActionInput {
  readonly reason?: string;
  readonly outcome?: 'grant' | 'refuse';
  readonly result?: { code: string; description: string };
  readonly method?: 'online' | 'post' | 'counter';
  readonly trackingNumber?: string;
  readonly materials?: ReadonlyArray<{ name: string; checked: boolean; note?: string }>;
  readonly requestedMaterials?: readonly string[];
  readonly identityVerified?: boolean;
  readonly shipment?: { carrier: string; trackingNumber: string; contents: readonly string[] };
  readonly shipmentId?: string;
  /** release-evidence, refuse-evidence: which evidence (its exchange's request id). */
  readonly requestId?: string;
  readonly evidence?: Evidence;
  /** conclude: values of the e-certificate's fields the case yields (names of its type's fields); never shared with other nodes. */
  readonly certificateFields?: Readonly<Record<string, string>>;
}

/** A guard's refusal: a sentence (CASE_TRANSITION_NOT_ALLOWED), or one with its own code. */
type Refusal = string | { readonly code: ErrorCode; readonly message: string };

interface Rule {
  readonly from: readonly CaseState[];
  readonly roles: readonly Actor['role'][];
  readonly seat: Seat;
  readonly needsReason?: boolean;
  /** The new state (or the same, for actions that record without moving). */
  readonly to: (c: Case, input: ActionInput, actor: Actor) => CaseState;
  readonly guard?: (c: Case, input: ActionInput, actor: Actor, now: string) => Refusal | null;
  readonly apply?: (c: Case, input: ActionInput, actor: Actor, now: string, ids: () => string) => Partial<Case>;
}

const OPEN: readonly CaseState[] = ['applied', 'pending_materials', 'accepted', 'in_review', 'returned', 'suspended', 'special_procedure'];
const NOT_TERMINAL: readonly CaseState[] = caseStates.filter((state) => !TERMINAL_STATES.has(state));

/**
 * Preview: the applicant releases or refuses one piece of evidence held for their review. Between
 * nodes, a release carries the entry with the data the destination may hold; it must be the entry held.
 */
function previewGuard(c: Case, input: ActionInput, releasing: boolean): string | null {
  const entry = input.requestId ? c.evidence.find((e) => e.requestId === input.requestId) : undefined;
  if (!entry) return `No evidence ${input.requestId ?? ''} on this case: give the requestId of the evidence.`;
  if (entry.preview !== 'pending') return entry.preview ? `This evidence has already been ${entry.preview}.` : 'This evidence is not held for preview.';
  const carried = input.evidence;
  if (carried && (!releasing || carried.requestId !== entry.requestId || carried.provider !== entry.provider || carried.service !== entry.service || carried.fetchedBy !== entry.fetchedBy || carried.fetchedAt !== entry.fetchedAt)) {
    return 'The evidence carried is not the entry held for preview.';
  }
  return null;
}

/**
 * The case lifecycle as a table of guarded transitions (DOMAIN.md): apply → pre-check →
 * accept | reject → notice to complete → completed → review → special procedure → decide →
 * conclude → deliver, with withdraw, return and suspend. Pure: no I/O, no clock.
 */
export const caseActions = {
  precheck: {
    from: ['applied', 'pending_materials'],
    roles: ['clerk'],
    seat: 'accepting',
    to: (c) => c.state,
    apply: (c, input) => ({
      materials: c.materials.map((m) => {
        const check = input.materials?.find((x) => x.name === m.name);
        return check ? { ...m, checked: check.checked, ...(check.note ? { note: check.note } : {}) } : m;
      }),
      identityVerified: input.identityVerified ?? c.identityVerified,
    }),
  },
  'request-materials': {
    from: ['applied'],
    roles: ['clerk'],
    seat: 'accepting',
    needsReason: true,
    // 行政许可法: missing materials are notified once.
    guard: (c, input) =>
      c.materialsRequested
        ? 'Missing materials can be requested only once.'
        : !input.requestedMaterials || input.requestedMaterials.length === 0
          ? 'Name the materials to complete.'
          : null,
    to: () => 'pending_materials',
    apply: () => ({ materialsRequested: true }),
  },
  'complete-materials': { from: ['pending_materials'], roles: ['clerk', 'applicant'], seat: 'accepting', to: () => 'applied' },
  accept: {
    from: ['applied'],
    roles: ['clerk'],
    seat: 'accepting',
    guard: (c) => {
      if (!c.identityVerified) return 'The applicant’s identity has not been verified.';
      // The hand-off would send the evidence to the deciding node: not before the applicant has seen it.
      const held = c.evidence.filter((e) => e.preview === 'pending').map((e) => `${e.service} from ${e.provider} (${e.requestId})`);
      if (held.length > 0) return { code: 'EVIDENCE_PREVIEW_PENDING', message: `The applicant has not yet released or refused: ${held.join(', ')}. The case is handed over once they have.` };
      const unchecked = c.materials.filter((m) => m.required && !m.checked).map((m) => m.name);
      return unchecked.length > 0 ? `Required materials not checked: ${unchecked.join(', ')}.` : null;
    },
    to: () => 'accepted',
    apply: (_c, _input, _actor, now) => ({ acceptedAt: now }),
  },
  reject: { from: ['applied', 'pending_materials'], roles: ['clerk'], seat: 'accepting', needsReason: true, to: () => 'rejected' },
  ship: {
    from: ['accepted', 'in_review', 'returned'],
    roles: ['clerk'],
    seat: 'accepting',
    guard: (c, input) => (c.mode !== 'proxy' ? 'Only remote-acceptance (proxy) cases ship physical materials.' : !input.shipment ? 'Give carrier, tracking number and contents.' : null),
    to: (c) => c.state,
    apply: (c, input, _actor, now, ids) => ({
      shipments: [
        ...c.shipments,
        ...c.competentNodes.map(
          (to): Shipment => ({ id: ids(), carrier: input.shipment!.carrier, trackingNumber: input.shipment!.trackingNumber, contents: [...input.shipment!.contents], to, status: 'sent', sentAt: now }),
        ),
      ],
    }),
  },
  receive: {
    from: ['accepted', 'in_review', 'returned'],
    roles: ['clerk', 'approver'],
    seat: 'competent',
    guard: (c, input, actor) => {
      const shipment = c.shipments.find((s) => s.id === input.shipmentId);
      if (!shipment) return `No shipment ${input.shipmentId ?? ''} on this case.`;
      if (shipment.to !== actor.node) return 'This shipment is addressed to another node.';
      return shipment.status !== 'sent' ? `The shipment is already ${shipment.status}.` : null;
    },
    to: (c) => c.state,
    apply: (c, input, _actor, now) => ({ shipments: c.shipments.map((s) => (s.id === input.shipmentId ? { ...s, status: 'received', receivedAt: now } : s)) }),
  },
  'report-lost': {
    from: ['accepted', 'in_review', 'returned'],
    roles: ['clerk', 'approver'],
    seat: 'participant',
    needsReason: true,
    guard: (c, input) => (c.shipments.find((s) => s.id === input.shipmentId)?.status === 'sent' ? null : 'Only a shipment in transit can be reported lost.'),
    to: (c) => c.state,
    apply: (c, input) => ({ shipments: c.shipments.map((s) => (s.id === input.shipmentId ? { ...s, status: 'lost' } : s)) }),
  },
  'start-review': {
    from: ['accepted'],
    roles: ['approver'],
    seat: 'competent',
    guard: (c, _input, actor) => {
      if (c.mode !== 'proxy' || !c.materials.some((m) => m.kind === 'physical')) return null;
      const mine = c.shipments.filter((s) => s.to === actor.node);
      if (mine.length === 0) return 'The physical materials have not been shipped yet.';
      return mine.some((s) => s.status === 'received') ? null : 'The physical materials have not been received yet.';
    },
    to: () => 'in_review',
  },
  return: { from: ['accepted', 'in_review'], roles: ['approver'], seat: 'competent', needsReason: true, to: () => 'returned' },
  resubmit: { from: ['returned'], roles: ['clerk'], seat: 'accepting', to: () => 'accepted' },
  'start-special': { from: ['in_review'], roles: ['approver'], seat: 'competent', needsReason: true, to: () => 'special_procedure' },
  'end-special': { from: ['special_procedure'], roles: ['approver'], seat: 'competent', to: () => 'in_review' },
  suspend: {
    from: ['accepted', 'in_review'],
    roles: ['approver', 'supervisor'],
    seat: 'participant',
    needsReason: true,
    to: () => 'suspended',
    apply: (c) => ({ resumeState: c.state }),
  },
  resume: { from: ['suspended'], roles: ['approver', 'supervisor'], seat: 'participant', to: (c) => c.resumeState ?? 'in_review' },
  decide: {
    from: ['in_review'],
    roles: ['approver'],
    seat: 'competent',
    needsReason: true,
    guard: (c, input, actor) => {
      if (input.outcome !== 'grant' && input.outcome !== 'refuse') return 'The outcome is grant or refuse.';
      return c.parts.find((p) => p.node === actor.node)?.status === 'pending' ? null : 'This node has already decided its part.';
    },
    // Joint handling: the case is decided when every part is granted, or at the first refusal.
    // The decision is a function of the parts alone, so part decisions taken at the same time on
    // different nodes give the same case whatever order each node applies them in.
    to: (c, input, actor) => (decisionOf(decidePart(c.parts, input, actor, '')) ? 'decided' : 'in_review'),
    apply: (c, input, actor, now) => {
      const parts = decidePart(c.parts, input, actor, now);
      const decision = decisionOf(parts);
      return { parts, ...(decision ? { decision } : {}) };
    },
  },
  conclude: {
    from: ['decided'],
    roles: ['approver'],
    seat: 'competent',
    guard: (_c, input) => (input.result?.code ? null : 'Give the result code and description.'),
    to: () => 'concluded',
    apply: (_c, input) => ({ result: input.result! }),
  },
  deliver: {
    from: ['concluded'],
    roles: ['clerk'],
    seat: 'participant',
    guard: (_c, input) => (input.method ? null : 'Give the delivery method: online, post or counter.'),
    to: () => 'delivered',
    apply: (_c, input, _actor, now) => ({ delivery: { method: input.method!, at: now, ...(input.trackingNumber ? { trackingNumber: input.trackingNumber } : {}) } }),
  },
  'fetch-evidence': {
    from: caseStates.filter((state) => !TERMINAL_STATES.has(state)),
    roles: ['clerk', 'approver', 'supervisor'],
    seat: 'participant',
    needsReason: true,
    guard: (c, input, actor, now) =>
      !input.evidence
        ? 'Give the evidence fetched.'
        : input.evidence.fetchedBy !== actor.node || input.evidence.fetchedAt !== now
          ? 'Evidence is recorded by the node that fetched it, when it fetched it.'
          : input.evidence.preview !== undefined && (input.evidence.preview !== 'pending' || actor.node !== c.acceptingNode)
            ? 'Evidence for preview is fetched by the accepting node and held there for the applicant.'
            : input.evidence.certificate && (input.evidence.preview !== undefined || input.evidence.certificate.issuer !== input.evidence.provider || input.evidence.certificate.vct !== input.evidence.service)
              ? 'A presented certificate is recorded under its issuer and type, without preview.'
              : null,
    to: (c) => c.state,
    apply: (c, input) => {
      const entry = input.evidence!;
      // A presented certificate replaces the paper copy of the material of its name (结婚证…).
      const material = entry.certificate ? certificateTypeByVct(entry.certificate.vct)?.name : undefined;
      if (!material || !c.materials.some((m) => m.name === material)) return { evidence: [...c.evidence, entry] };
      return {
        evidence: [...c.evidence, entry],
        materials: c.materials.map((m) => (m.name === material ? { ...m, kind: 'electronic' as const, checked: true, note: `电子证照 ${entry.certificate!.id}` } : m)),
      };
    },
  },
  // Preview (EU once-only): the applicant, at the accepting node, lets evidence held for their
  // review go to the other participants, or refuses it (its data is deleted; the case goes on without it).
  'release-evidence': {
    from: NOT_TERMINAL,
    roles: ['applicant'],
    seat: 'accepting',
    guard: (c, input) => previewGuard(c, input, true),
    to: (c) => c.state,
    apply: (c, input) => ({
      evidence: c.evidence.map((e) =>
        e.requestId === input.requestId ? { ...e, ...(e.data === undefined && input.evidence?.data !== undefined ? { data: input.evidence.data } : {}), preview: 'released' as const } : e,
      ),
    }),
  },
  'refuse-evidence': {
    from: NOT_TERMINAL,
    roles: ['applicant'],
    seat: 'accepting',
    guard: (c, input) => previewGuard(c, input, false),
    to: (c) => c.state,
    apply: (c, input) => ({
      evidence: c.evidence.map((e) => {
        if (e.requestId !== input.requestId) return e;
        const reference: Evidence = { ...e, preview: 'refused' };
        delete reference.data;
        return reference;
      }),
    }),
  },
  withdraw: { from: OPEN, roles: ['applicant', 'clerk'], seat: 'accepting', needsReason: true, to: () => 'withdrawn' },
  escalate: {
    from: OPEN,
    roles: ['system', 'supervisor'],
    seat: 'participant',
    needsReason: true,
    guard: (c) => (c.escalated ? 'The case is already escalated.' : null),
    to: (c) => c.state,
    apply: (_c, input, _actor, now) => ({ escalated: { at: now, reason: input.reason! } }),
  },
} satisfies Record<string, Rule>;

export type CaseAction = keyof typeof caseActions;
export const caseActionNames = Object.keys(caseActions) as CaseAction[];
/** Steps people take through the actions route and the CLI; fetch-evidence is taken by fetching evidence. */
export type StaffCaseAction = Exclude<CaseAction, 'fetch-evidence'>;
export const staffCaseActionNames = caseActionNames.filter((a): a is StaffCaseAction => a !== 'fetch-evidence');

/**
 * The role a caller holding `held` (a person may hold several) takes a step in that `allowed`
 * roles may take: the first allowed one they hold, in the step's order — recorded as the actor's
 * role. When they hold none, their first role (which applyCaseAction then refuses, naming it);
 * undefined when they hold no role at all.
 */
export function actingRole(allowed: readonly Actor['role'][], held: readonly Actor['role'][]): Actor['role'] | undefined {
  return allowed.find((role) => held.includes(role)) ?? held[0];
}

/**
 * Applies one action: checks state, role, seat and guard, and returns the new case with the
 * transition recorded. Throws CASE_TRANSITION_NOT_ALLOWED or CASE_FORBIDDEN with the reason.
 */
export function applyCaseAction(c: Case, action: CaseAction, actor: Actor, input: ActionInput, now: string, ids: () => string): Case {
  const rule: Rule = caseActions[action];
  if (!rule) throw new TongbanError('VALIDATION_FAILED', `Unknown case action ${String(action)}.`);
  if (!rule.roles.includes(actor.role)) throw new TongbanError('CASE_FORBIDDEN', `A ${actor.role} cannot ${action} a case.`);
  const seatOk =
    rule.seat === 'accepting'
      ? actor.node === c.acceptingNode
      : rule.seat === 'competent'
        ? c.competentNodes.includes(actor.node)
        : participantsOf(c).includes(actor.node);
  if (!seatOk) throw new TongbanError('CASE_FORBIDDEN', `Only the ${rule.seat === 'participant' ? 'participating' : rule.seat} node can ${action} this case.`);
  if (actor.role === 'applicant' && actor.id !== c.applicant.idNumber) throw new TongbanError('CASE_FORBIDDEN', 'Applicants act only on their own cases.');
  if (!rule.from.includes(c.state)) throw new TongbanError('CASE_TRANSITION_NOT_ALLOWED', `A case that is ${c.state} cannot ${action}.`);
  if (rule.needsReason && !input.reason?.trim()) throw new TongbanError('CASE_TRANSITION_NOT_ALLOWED', `Give a reason to ${action}.`);
  const refusal = rule.guard?.(c, input, actor, now);
  if (typeof refusal === 'string') throw new TongbanError('CASE_TRANSITION_NOT_ALLOWED', refusal);
  if (refusal) throw new TongbanError(refusal.code, refusal.message);
  const to = rule.to(c, input, actor);
  const changes = rule.apply?.(c, input, actor, now, ids) ?? {};
  return {
    ...c,
    ...changes,
    state: to,
    history: [...c.history, { action, from: c.state, to, at: now, actor, ...(input.reason ? { reason: input.reason } : {}) }],
    version: c.version + 1,
    // Steps replayed from other nodes may arrive after later local ones: the copy's time is its latest step's.
    updatedAt: now > c.updatedAt ? now : c.updatedAt,
  };
}

export interface NewCase {
  readonly id: string;
  readonly itemCode: string;
  readonly itemName: string;
  readonly mode: Case['mode'];
  readonly applicant: Case['applicant'];
  readonly acceptingNode: string;
  readonly competentNodes: readonly string[];
  readonly materials: readonly Omit<Material, 'checked'>[];
  readonly timeLimit: Case['timeLimit'];
}

/** 申办: a new case in state `applied`. */
export function openCase(input: NewCase, actor: Actor, now: string): Case {
  if (actor.node !== input.acceptingNode) throw new TongbanError('CASE_FORBIDDEN', 'A case is opened at the node that accepts it.');
  if (actor.role === 'applicant' && actor.id !== input.applicant.idNumber) throw new TongbanError('CASE_FORBIDDEN', 'Applicants apply for themselves.');
  if (actor.role !== 'applicant' && actor.role !== 'clerk') throw new TongbanError('CASE_FORBIDDEN', `A ${actor.role} cannot open a case.`);
  const competent = [...new Set(input.competentNodes)];
  if (input.mode === 'joint' ? competent.length < 2 : competent.length !== 1) {
    throw new TongbanError('VALIDATION_FAILED', input.mode === 'joint' ? 'Joint handling needs at least two competent nodes.' : 'This mode has exactly one competent node.');
  }
  return {
    id: input.id,
    itemCode: input.itemCode,
    itemName: input.itemName,
    mode: input.mode,
    applicant: input.applicant,
    acceptingNode: input.acceptingNode,
    competentNodes: competent,
    state: 'applied',
    parts: competent.map((node) => ({ node, status: 'pending' })),
    materials: input.materials.map((m) => ({ ...m, checked: false })),
    materialsRequested: false,
    identityVerified: false,
    shipments: [],
    evidence: [],
    timeLimit: input.timeLimit,
    history: [{ action: 'apply', from: null, to: 'applied', at: now, actor }],
    version: 1,
    createdAt: now,
    updatedAt: now,
  };
}

function decidePart(parts: readonly Part[], input: ActionInput, actor: Actor, now: string): Part[] {
  return parts.map((p) => (p.node === actor.node ? { ...p, status: input.outcome === 'grant' ? 'granted' : 'refused', reason: input.reason ?? '', decidedAt: now } : p));
}

/** The case's decision implied by its parts: the first refusal (in part order), or all granted. */
function decisionOf(parts: readonly Part[]): Case['decision'] {
  const refused = parts.find((p) => p.status === 'refused');
  if (refused) return { outcome: 'refuse', reason: `${refused.node}: ${refused.reason ?? ''}`, at: refused.decidedAt ?? '' };
  if (!parts.every((p) => p.status === 'granted')) return undefined;
  const at = parts.map((p) => p.decidedAt ?? '').sort().at(-1)!;
  return { outcome: 'grant', reason: parts.length === 1 ? (parts[0]!.reason ?? '') : parts.map((p) => `${p.node}: ${p.reason ?? ''}`).join('; '), at };
}

/**
 * Checks a case another node hands over (`case.snapshot`) that this node does not hold yet:
 * only the accepting node hands a case over, once, at acceptance. So the copy must be exactly
 * what acceptance produces: state `accepted`, every step taken at the accepting node by a role
 * the state machine allows there, starting with apply and ending with a clerk's accept, nothing
 * decided, shipped or delivered. Null when it is; otherwise why not. Pure.
 */
export function handOffRefusal(c: Case, from: string): string | null {
  if (from !== c.acceptingNode) return `Only the accepting node ${c.acceptingNode} hands case ${c.id} over.`;
  // Case identifiers carry the accepting node, so no node can take another's.
  if (!c.id.startsWith(`C-${c.acceptingNode}-`)) return `The case identifier ${c.id} is not one of ${c.acceptingNode}.`;
  if (c.mode === 'joint' ? c.competentNodes.length < 2 : c.competentNodes.length !== 1) return 'The competent nodes do not fit the mode.';
  if (c.parts.length !== c.competentNodes.length || c.parts.some((p, i) => p.node !== c.competentNodes[i] || p.status !== 'pending' || p.decidedAt || p.reason)) {
    return 'A case is handed over with every part pending.';
  }
  if (c.state !== 'accepted' || c.resumeState || c.decision || c.result || c.delivery || c.shipments.length > 0) return `A case is handed over when accepted, not ${c.state}.`;
  const [first, ...steps] = c.history;
  if (!first || first.action !== 'apply' || first.from !== null || first.to !== 'applied' || first.actor.node !== from) return 'The history does not start with the application at the accepting node.';
  if (first.actor.role !== 'clerk' && !(first.actor.role === 'applicant' && first.actor.id === c.applicant.idNumber)) return 'The case was not opened by a clerk or its applicant.';
  let state: CaseState = 'applied';
  for (const step of steps) {
    const rule: Rule | undefined = (caseActions as Record<string, Rule>)[step.action];
    if (!rule) return `Unknown action ${step.action} in the history.`;
    if (step.actor.node !== from || rule.seat === 'competent') return `${step.action} by ${step.actor.node} cannot come before the hand-off.`;
    if (!rule.roles.includes(step.actor.role) || (step.actor.role === 'applicant' && step.actor.id !== c.applicant.idNumber)) return `A ${step.actor.role} cannot ${step.action}.`;
    if (step.from !== state || !rule.from.includes(state)) return `The history does not follow the state machine at ${step.action}.`;
    if (rule.needsReason && !step.reason?.trim()) return `${step.action} without a reason.`;
    const to = rule.to({ ...c, state }, {}, step.actor);
    if (step.to !== to) return `The history does not follow the state machine at ${step.action}.`;
    state = to;
  }
  if (!c.identityVerified || c.materials.some((m) => m.required && !m.checked)) return 'The case was accepted without the counter checks.';
  const last = c.history.at(-1)!;
  if (last.action !== 'accept' || last.actor.role !== 'clerk' || c.acceptedAt !== last.at) return 'The hand-off is not the acceptance by a clerk of the accepting node.';
  if (c.version !== c.history.length) return 'The version does not match the history.';
  if (c.materialsRequested !== c.history.some((h) => h.action === 'request-materials')) return 'The notice to complete does not match the history.';
  if (Boolean(c.escalated) !== c.history.some((h) => h.action === 'escalate')) return 'The escalation does not match the history.';
  const fetched = c.history.filter((h) => h.action === 'fetch-evidence');
  if (c.evidence.length !== fetched.length || c.evidence.some((e, i) => e.fetchedBy !== from || e.fetchedAt !== fetched[i]!.at)) return 'The evidence does not match the history.';
  // Preview: nothing the applicant has not seen, nothing they refused.
  if (c.evidence.some((e) => e.preview === 'pending')) return 'The case is handed over with evidence its applicant has not released.';
  if (c.evidence.some((e) => e.preview === 'refused' && e.data !== undefined)) return 'Evidence the applicant refused is handed over with its data.';
  const count = (action: string) => c.history.filter((h) => h.action === action).length;
  if (c.evidence.filter((e) => e.preview === 'released').length !== count('release-evidence') || c.evidence.filter((e) => e.preview === 'refused').length !== count('refuse-evidence')) {
    return 'The previewed evidence does not match the history.';
  }
  return null;
}
