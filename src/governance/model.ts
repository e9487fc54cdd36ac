import { z } from 'zod';

const Division = z.string().regex(/^\d{6}$/);

/**
 * Trips and days saved: an honest, documented assumption rather than a measurement. Every
 * cross-region case accepted at a node (online or at its counter, withdrawn ones left out) spares
 * its applicant one return trip to the counter of each competent region that is not this one; such
 * a trip is assumed to cost one day within a province and two days to another province (the first
 * two digits of the GB/T 2260 codes). Rejected applications count: the applicant learned it without travelling.
 */
export const TRIP_ASSUMPTION = { sameProvinceDays: 1, otherProvinceDays: 2 } as const;

export const PartnerBalance = z.object({
  partner: Division,
  /** Cases this node accepted for the partner (the partner is competent). */
  acceptedForPartner: z.number().int(),
  /** Cases the partner accepted for this node (this node is competent). */
  acceptedByPartner: z.number().int(),
});

export const Savings = z.object({
  /** Return trips to another region's counter avoided (see TRIP_ASSUMPTION). */
  trips: z.number().int(),
  days: z.number().int(),
  /** Distinct applicants of those cases. */
  applicants: z.number().int(),
  tripsPerApplicant: z.number().nullable(),
  daysPerApplicant: z.number().nullable(),
});

export const CodeCount = z.object({ partner: Division.nullable(), code: z.string(), count: z.number().int() });

/**
 * What a node computes of itself and answers the hub (signed) and its own staff: counts only —
 * no case, no person, no identifier.
 */
export const NodeReport = z.object({
  node: Division,
  /** The hub's nonce, echoed (null for the node's own staff): the answer is for that request. */
  nonce: z.string().nullable(),
  at: z.iso.datetime(),
  cases: z.object({ total: z.number().int(), byState: z.record(z.string(), z.number().int()) }),
  balance: z.array(PartnerBalance),
  savings: Savings,
  /** Exchange requests refused (as provider, requester or relay), per partner and problem code. */
  refusals: z.array(CodeCount),
  /** Requests refused for their signature (SIGNATURE_INVALID, NODE_UNKNOWN, REQUEST_EXPIRED, REPLAYED_REQUEST), per partner. */
  signatureFailures: z.array(CodeCount),
  /** Registry records that failed the data dictionary's validators when asked for, per service. */
  dataQuality: z.array(z.object({ service: z.string(), count: z.number().int() })),
  /** The head of this node's audit chain. */
  audit: z.object({ seq: z.number().int(), hash: z.string().nullable() }),
  /** Negotiations this node took part in (both parties report theirs: the hub counts each id once). */
  learning: z.array(
    z.object({
      negotiation: z.string(),
      agreementId: z.string(),
      origin: z.enum(['template', 'scratch']),
      template: z.string().nullable(),
      state: z.string(),
      rounds: z.number().int(),
      hoursToActive: z.number().nullable(),
    }),
  ),
});
export type NodeReport = z.infer<typeof NodeReport>;

export const SourceStatus = z.enum(['ok', 'unavailable', 'refused', 'invalid']);

const NodeRef = { division: Division, name: z.string() };

export const ProgressRow = z.object({
  ...NodeRef,
  /** Items of the national list with an agreement in force naming this node. */
  enabled: z.number().int(),
  /** National items whose deadline has passed, and how many of those are enabled. */
  due: z.number().int(),
  dueEnabled: z.number().int(),
  /** Due national items not enabled here: the codes. */
  overdue: z.array(z.string()),
  /** Share of due items enabled (1 when nothing is due). */
  score: z.number(),
  rank: z.number().int(),
  partners: z.array(z.object({ partner: Division, items: z.number().int() })),
});

export const TrustRow = z.object({
  ...NodeRef,
  source: SourceStatus,
  /** Share of the hub's probes of /health answered 200 in the window; null before the first probe. */
  availability: z.number().nullable(),
  probes: z.number().int(),
  meanLatencyMs: z.number().nullable(),
  maxLatencyMs: z.number().nullable(),
  signatureFailures: z.number().int().nullable(),
  refusals: z.array(z.object({ code: z.string(), count: z.number().int() })),
  dataQuality: z.number().int().nullable(),
  incidents: z.number().int(),
});

export const BalanceRow = z.object({
  ...NodeRef,
  source: SourceStatus,
  acceptedForOthers: z.number().int().nullable(),
  acceptedByOthers: z.number().int().nullable(),
  savings: Savings.nullable(),
  partners: z.array(PartnerBalance),
});

export const LearningGroupOut = z.object({
  agreements: z.number().int(),
  active: z.number().int(),
  medianRounds: z.number().nullable(),
  medianHoursToActive: z.number().nullable(),
});

export const AuditRow = z.object({
  ...NodeRef,
  source: SourceStatus,
  /**
   * witnessed: the node's head is at or past the hub's last checkpoint of it (same hash at the same
   * sequence number); incident: the hub recorded a rewritten or truncated chain; mismatch: the node
   * reports another hash at the checkpoint's sequence number; behind: a head below the checkpoint;
   * unwitnessed: no checkpoint yet; unknown: the node did not answer.
   */
  status: z.enum(['witnessed', 'incident', 'mismatch', 'unwitnessed', 'behind', 'unknown']),
  reportedSeq: z.number().int().nullable(),
  checkpoint: z.object({ seq: z.number().int(), at: z.string() }).nullable(),
  incidents: z.number().int(),
});

/** What the hub publishes (aggregates only): every approved node, those that did not answer marked so. */
export const FederationReport = z.object({
  at: z.iso.datetime(),
  hub: Division,
  sources: z.array(z.object({ ...NodeRef, status: SourceStatus, code: z.string().nullable() })),
  progress: z.object({ nationalItems: z.number().int(), dueItems: z.number().int(), nodes: z.array(ProgressRow) }),
  trust: z.object({ windowHours: z.number(), nodes: z.array(TrustRow) }),
  balance: z.object({ assumption: z.object({ sameProvinceDays: z.number(), otherProvinceDays: z.number() }), nodes: z.array(BalanceRow) }),
  learning: z.object({
    templates: z.array(z.object({ template: z.string(), agreements: z.number().int(), active: z.number().int(), medianRounds: z.number().nullable(), medianHoursToActive: z.number().nullable() })),
    fromTemplate: LearningGroupOut,
    fromScratch: LearningGroupOut,
  }),
  audit: z.array(AuditRow),
});
export type FederationReport = z.infer<typeof FederationReport>;
