import { TongbanError } from '../errors/index.ts';
import { participantsOf, type Actor, type Case, type CaseState, type Material, type Shipment } from './model.ts';

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
}

interface Rule {
  readonly from: readonly CaseState[];
  readonly roles: readonly Actor['role'][];
  readonly seat: Seat;
  readonly needsReason?: boolean;
  /** The new state (or the same, for actions that record without moving). */
  readonly to: (c: Case, input: ActionInput, actor: Actor) => CaseState;
  readonly guard?: (c: Case, input: ActionInput, actor: Actor) => string | null;
  readonly apply?: (c: Case, input: ActionInput, actor: Actor, now: string, ids: () => string) => Partial<Case>;
}

const OPEN: readonly CaseState[] = ['applied', 'pending_materials', 'accepted', 'in_review', 'returned', 'suspended', 'special_procedure'];

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
    to: (c, input, actor) => {
      const parts = c.parts.map((p) => (p.node === actor.node ? { ...p, status: input.outcome === 'grant' ? 'granted' : 'refused' } : p));
      if (parts.some((p) => p.status === 'refused')) return 'decided';
      return parts.every((p) => p.status === 'granted') ? 'decided' : 'in_review';
    },
    apply: (c, input, actor, now) => {
      const parts = c.parts.map((p) =>
        p.node === actor.node ? { ...p, status: input.outcome === 'grant' ? ('granted' as const) : ('refused' as const), reason: input.reason!, decidedAt: now } : p,
      );
      const refused = parts.find((p) => p.status === 'refused');
      const done = refused || parts.every((p) => p.status === 'granted');
      return {
        parts,
        ...(done
          ? { decision: refused ? { outcome: 'refuse' as const, reason: `${refused.node}: ${refused.reason ?? ''}`, at: now } : { outcome: 'grant' as const, reason: input.reason!, at: now } }
          : {}),
      };
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
  const refusal = rule.guard?.(c, input, actor);
  if (refusal) throw new TongbanError('CASE_TRANSITION_NOT_ALLOWED', refusal);
  const to = rule.to(c, input, actor);
  const changes = rule.apply?.(c, input, actor, now, ids) ?? {};
  return {
    ...c,
    ...changes,
    state: to,
    history: [...c.history, { action, from: c.state, to, at: now, actor, ...(input.reason ? { reason: input.reason } : {}) }],
    version: c.version + 1,
    updatedAt: now,
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

/**
 * Joint handling lets several competent nodes decide their parts at the same time, so two
 * copies can reach the same version with different parts decided. Part decisions only move
 * forward (pending → granted | refused), so they merge: the result carries every decided part,
 * both transitions, and the case state the parts imply. Null when `incoming` adds nothing.
 */
export function mergePartDecisions(local: Case, incoming: Case, now: string): Case | null {
  if (local.id !== incoming.id) return null;
  const decidedThere = incoming.parts.filter((p) => p.status !== 'pending' && local.parts.find((l) => l.node === p.node)?.status === 'pending');
  if (decidedThere.length === 0 || (local.state !== 'in_review' && local.state !== 'decided')) return null;
  const parts = local.parts.map((p) => decidedThere.find((d) => d.node === p.node) ?? p);
  const refused = parts.find((p) => p.status === 'refused');
  const allGranted = parts.every((p) => p.status === 'granted');
  const state = refused || allGranted ? 'decided' : local.state;
  const missing = incoming.history.filter((t) => t.action === 'decide' && decidedThere.some((d) => d.node === t.actor.node));
  const decision =
    local.decision ??
    (refused
      ? { outcome: 'refuse' as const, reason: `${refused.node}: ${refused.reason ?? ''}`, at: now }
      : allGranted
        ? { outcome: 'grant' as const, reason: parts.map((p) => `${p.node}: ${p.reason ?? ''}`).join('; '), at: now }
        : undefined);
  return {
    ...local,
    parts,
    state,
    ...(decision ? { decision } : {}),
    history: [...local.history, ...missing].sort((a, b) => a.at.localeCompare(b.at)),
    version: Math.max(local.version, incoming.version) + 1,
    updatedAt: now,
  };
}
