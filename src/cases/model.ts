import { z } from 'zod';
import { HandlingMode } from '../catalog/index.ts';

const Division = z.string().regex(/^\d{6}$/);

export const caseStates = [
  'applied', // 申办
  'pending_materials', // 补正告知
  'accepted', // 受理
  'rejected', // 不予受理
  'in_review', // 审查
  'special_procedure', // 特别程序 (clock stopped)
  'suspended', // 挂起 (clock stopped)
  'returned', // 退回 to the accepting node
  'decided', // 决定
  'concluded', // 办结
  'delivered', // 送达
  'withdrawn', // 撤回
] as const;
export const CaseState = z.enum(caseStates);
export type CaseState = z.infer<typeof CaseState>;

export const TERMINAL_STATES: ReadonlySet<CaseState> = new Set(['rejected', 'delivered', 'withdrawn']);
/** States in which the committed time limit does not run. */
export const CLOCK_STOPPED_STATES: ReadonlySet<CaseState> = new Set(['special_procedure', 'suspended', 'pending_materials']);

export const Actor = z.object({
  node: Division,
  id: z.string().min(1).max(64),
  role: z.enum(['applicant', 'clerk', 'approver', 'supervisor', 'system']),
});
export type Actor = z.infer<typeof Actor>;

/** One recorded step: who, which node, when, why. */
export const Transition = z.object({
  action: z.string(),
  from: CaseState.nullable(),
  to: CaseState,
  at: z.iso.datetime(),
  actor: Actor,
  reason: z.string().max(1000).optional(),
});
export type Transition = z.infer<typeof Transition>;

export const Material = z.object({
  name: z.string().min(1).max(100),
  kind: z.enum(['electronic', 'physical']),
  required: z.boolean(),
  /** Formal check (形式审查) by the accepting clerk. */
  checked: z.boolean().default(false),
  note: z.string().max(500).optional(),
});
export type Material = z.infer<typeof Material>;

export const Shipment = z.object({
  id: z.string(),
  carrier: z.string().min(1).max(50),
  trackingNumber: z.string().min(1).max(60),
  contents: z.array(z.string().min(1).max(100)).min(1),
  to: Division,
  status: z.enum(['sent', 'received', 'lost']),
  sentAt: z.iso.datetime(),
  receivedAt: z.iso.datetime().optional(),
});
export type Shipment = z.infer<typeof Shipment>;

/** A competent node's share of a case (one for online and proxy, several for joint). */
export const Part = z.object({
  node: Division,
  status: z.enum(['pending', 'granted', 'refused']),
  reason: z.string().max(1000).optional(),
  decidedAt: z.iso.datetime().optional(),
});
export type Part = z.infer<typeof Part>;

export const CaseTimeLimit = z.object({
  unit: z.enum(['working', 'calendar']),
  statutoryDays: z.number().int().min(0).nullable(),
  committedDays: z.number().int().min(0),
});

/**
 * Data fetched through governed exchanges instead of papers (online mode). A node's copy holds
 * `data` only where an agreement between that node and the provider allows it (the fields it
 * grants); otherwise the entry is a reference without `data`, which that node may fetch itself
 * under its own agreement.
 */
export const Evidence = z.object({
  provider: Division,
  service: z.string().max(100),
  requestId: z.string().max(80),
  fetchedAt: z.iso.datetime(),
  fetchedBy: Division,
  /** The purpose the exchange was made for (absent on entries fetched before it was recorded). */
  purpose: z.string().max(100).optional(),
  data: z.record(z.string(), z.unknown()).optional(),
  /**
   * Preview (EU once-only): for items marked `preview`, the applicant reviews the evidence before it
   * goes to the deciding node. `pending`: held at the accepting node, sent to nobody; `released`:
   * the applicant let it go; `refused`: the applicant refused it — its data is deleted and the case
   * goes on without it. Absent: an item without preview (as before).
   */
  preview: z.enum(['pending', 'released', 'refused']).optional(),
  /**
   * An e-certificate the applicant presented instead of a paper copy (POST /v1/cases/:id/certificates):
   * `provider` is its issuer, `service` its type (vct), `requestId` the verification's id, `data`
   * the fields the holder disclosed that the item needs. The holder chose to disclose them for
   * this case, so they travel to the case's other nodes with it.
   */
  certificate: z
    .object({
      id: z.string().min(1).max(120),
      vct: z.string().min(1).max(100),
      issuer: Division,
      verifiedAt: z.iso.datetime(),
      /** The staff member who verified it (their subject at the verifying node `fetchedBy`). */
      verifiedBy: z.string().min(1).max(100),
    })
    .strict()
    .optional(),
});
export type Evidence = z.infer<typeof Evidence>;

export const Case = z.object({
  id: z.string().regex(/^C-\d{6}-[0-9A-Z]{6,40}$/),
  itemCode: z.string(),
  itemName: z.string(),
  mode: HandlingMode,
  applicant: z.object({ idNumber: z.string(), name: z.string().min(1).max(50), phone: z.string().max(20).optional() }),
  acceptingNode: Division,
  competentNodes: z.array(Division).min(1),
  state: CaseState,
  /** The state a suspended case returns to. */
  resumeState: CaseState.optional(),
  parts: z.array(Part).min(1),
  materials: z.array(Material),
  materialsRequested: z.boolean().default(false),
  identityVerified: z.boolean().default(false),
  shipments: z.array(Shipment).default([]),
  evidence: z.array(Evidence).default([]),
  timeLimit: CaseTimeLimit,
  acceptedAt: z.iso.datetime().optional(),
  decision: z.object({ outcome: z.enum(['grant', 'refuse']), reason: z.string().max(1000), at: z.iso.datetime() }).optional(),
  result: z.object({ code: z.string().max(40), description: z.string().max(1000) }).optional(),
  delivery: z.object({ method: z.enum(['online', 'post', 'counter']), at: z.iso.datetime(), trackingNumber: z.string().optional() }).optional(),
  escalated: z.object({ at: z.iso.datetime(), reason: z.string() }).optional(),
  history: z.array(Transition).min(1),
  /** Increases with every change; copies on other nodes keep the highest. */
  version: z.number().int().min(1),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type Case = z.infer<typeof Case>;

export function participantsOf(c: Pick<Case, 'acceptingNode' | 'competentNodes'>): string[] {
  return [...new Set([c.acceptingNode, ...c.competentNodes])];
}

export const ThreadMessage = z.object({
  id: z.string(),
  caseId: z.string(),
  node: Division,
  author: z.string().min(1).max(64),
  role: Actor.shape.role,
  text: z.string().min(1).max(4000),
  at: z.iso.datetime(),
  /** Escalated to a supervisor for a decision beyond the agreement. */
  escalation: z.boolean().default(false),
  /** Detached JWS by the author's node over the canonical message. */
  signature: z.string(),
});
export type ThreadMessage = z.infer<typeof ThreadMessage>;

/** What an action takes besides the actor: the body of `POST /v1/cases/:id/actions/:action`, plus evidence. */
export const ActionInputSchema = z
  .object({
    reason: z.string().max(1000).optional(),
    outcome: z.enum(['grant', 'refuse']).optional(),
    result: z.object({ code: z.string().min(1).max(40), description: z.string().max(1000) }).optional(),
    method: z.enum(['online', 'post', 'counter']).optional(),
    trackingNumber: z.string().max(60).optional(),
    materials: z.array(z.object({ name: z.string().max(100), checked: z.boolean(), note: z.string().max(500).optional() })).max(100).optional(),
    requestedMaterials: z.array(z.string().min(1).max(100)).max(100).optional(),
    identityVerified: z.boolean().optional(),
    shipment: z.object({ carrier: z.string().min(1).max(50), trackingNumber: z.string().min(1).max(60), contents: z.array(z.string().min(1).max(100)).min(1).max(100) }).optional(),
    shipmentId: z.string().max(80).optional(),
    /** release-evidence, refuse-evidence: the request id of the evidence the applicant previewed. */
    requestId: z.string().min(1).max(80).optional(),
    /**
     * fetch-evidence: the entry the exchange produced; release-evidence between nodes: the entry
     * released, with the data the destination may hold (recorded by the service, never sent by clients).
     */
    evidence: Evidence.optional(),
    /**
     * conclude: values of the fields of the e-certificate a granted case yields (names of its type's
     * fields; the holder's name and ID number come from the applicant). Kept at the concluding node.
     */
    certificateFields: z.record(z.string().max(60), z.string().max(200)).optional(),
  })
  .strict();

/**
 * A change to a shared case as it travels between nodes (`case.transition`): the action, who took
 * it at the sending node, when, and its input, so that the receiver replays it through the state
 * machine on its own copy instead of trusting a copy made elsewhere.
 */
export const CaseTransitionMessage = z
  .object({
    caseId: z.string().max(60),
    action: z.string().max(40),
    actor: Actor,
    at: z.iso.datetime(),
    input: ActionInputSchema,
    /** Identifiers the action generated at the sender (shipments), in order. */
    ids: z.array(z.string().min(1).max(80)).max(20).default([]),
  })
  .strict();
export type CaseTransitionMessage = z.infer<typeof CaseTransitionMessage>;
