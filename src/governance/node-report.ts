import type { LearningRecord } from '../agreements/index.ts';
import type { AuditFinding, CaseFlow, Store } from '../store/index.ts';
import { TRIP_ASSUMPTION, type NodeReport } from './model.ts';

/** Codes a refusal for the request's signature carries (src/exchange/http-messages.ts). */
export const SIGNATURE_CODES: ReadonlySet<string> = new Set(['SIGNATURE_INVALID', 'NODE_UNKNOWN', 'REQUEST_EXPIRED', 'REPLAYED_REQUEST']);
/** The audit kind a provider records when its registry returned a record failing the data dictionary. */
export const DATA_QUALITY_KIND = 'data.quality';

const round2 = (x: number) => Math.round(x * 100) / 100;
const province = (division: string) => division.slice(0, 2);
const split = (competent: string) => (competent === '' ? [] : competent.split(','));

/** Withdrawn applications handled nothing: the balance and the savings leave them out. */
const handled = (flows: readonly CaseFlow[]) => flows.filter((f) => f.state !== 'withdrawn');

/** Cases per state, from the same counts. Pure. */
export function statesOf(flows: readonly CaseFlow[]): Record<string, number> {
  const byState: Record<string, number> = {};
  for (const flow of flows) byState[flow.state] = (byState[flow.state] ?? 0) + flow.cases;
  return byState;
}

/** Per partner: cases this node accepted for it, cases it accepted for this node (withdrawn ones left out). Pure. */
export function balanceOf(all: readonly CaseFlow[], self: string): NodeReport['balance'] {
  const flows = handled(all);
  const by = new Map<string, { acceptedForPartner: number; acceptedByPartner: number }>();
  const row = (partner: string) => by.get(partner) ?? by.set(partner, { acceptedForPartner: 0, acceptedByPartner: 0 }).get(partner)!;
  for (const flow of flows) {
    const competent = split(flow.competent);
    if (flow.accepting === self) for (const partner of competent.filter((d) => d !== self)) row(partner).acceptedForPartner += flow.cases;
    else if (competent.includes(self)) row(flow.accepting).acceptedByPartner += flow.cases;
  }
  return [...by.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([partner, counts]) => ({ partner, ...counts }));
}

/** Trips and days spared to the applicants of cases accepted here for other regions (TRIP_ASSUMPTION). Pure. */
export function savingsOf(all: readonly CaseFlow[], self: string, applicants: number): NodeReport['savings'] {
  const flows = handled(all);
  let trips = 0;
  let days = 0;
  for (const flow of flows) {
    if (flow.accepting !== self) continue;
    for (const partner of split(flow.competent).filter((d) => d !== self)) {
      trips += flow.cases;
      days += flow.cases * (province(partner) === province(self) ? TRIP_ASSUMPTION.sameProvinceDays : TRIP_ASSUMPTION.otherProvinceDays);
    }
  }
  return { trips, days, applicants, tripsPerApplicant: applicants === 0 ? null : round2(trips / applicants), daysPerApplicant: applicants === 0 ? null : round2(days / applicants) };
}

/** The other party of an audit entry: the requester when this node provided, the provider when it asked; null when unknown. */
function partnerOf(finding: AuditFinding, self: string): string | null {
  if (finding.requester && finding.requester !== self) return finding.requester;
  if (finding.provider && finding.provider !== self) return finding.provider;
  return null;
}

/** Refusals of exchanges, signature failures and data-quality findings from the audit counts. Pure. */
export function trustOf(findings: readonly AuditFinding[], self: string): Pick<NodeReport, 'refusals' | 'signatureFailures' | 'dataQuality'> {
  const refusals = new Map<string, { partner: string | null; code: string; count: number }>();
  const signatures = new Map<string, { partner: string | null; code: string; count: number }>();
  const quality = new Map<string, number>();
  const add = (into: typeof refusals, partner: string | null, code: string, count: number) => {
    const key = `${partner ?? ''}|${code}`;
    const found = into.get(key);
    if (found) found.count += count;
    else into.set(key, { partner, code, count });
  };
  for (const f of findings) {
    const code = f.code ?? 'UNKNOWN';
    if (f.kind === DATA_QUALITY_KIND) {
      quality.set(f.service ?? '', (quality.get(f.service ?? '') ?? 0) + f.count);
      continue;
    }
    const partner = partnerOf(f, self);
    if (SIGNATURE_CODES.has(code)) add(signatures, partner, code, f.count);
    if (f.kind.startsWith('exchange.')) add(refusals, partner, code, f.count);
  }
  const sorted = (m: typeof refusals) => [...m.values()].sort((a, b) => b.count - a.count || (a.partner ?? '').localeCompare(b.partner ?? '') || a.code.localeCompare(b.code));
  return {
    refusals: sorted(refusals),
    signatureFailures: sorted(signatures),
    dataQuality: [...quality.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([service, count]) => ({ service, count })),
  };
}

export interface NodeReportContext {
  readonly self: string;
  /** The node's database: its audit head (read where it is written: a read replica may lag behind it). */
  readonly store: Store;
  /** Where the aggregates are read: the node's read replica when one is configured (`database.readUrl`), else `store`. */
  readonly reads?: Store;
  readonly clock: () => Date;
  /** This node's negotiations as learning records (src/agreements/learning.ts). */
  readonly learning: () => Promise<readonly LearningRecord[]>;
}

/** This node's governance figures: three GROUP BY queries over migration 020's indexes, and the audit head. */
export async function nodeReport(ctx: NodeReportContext, nonce: string | null = null): Promise<NodeReport> {
  const reads = ctx.reads ?? ctx.store;
  const [flows, applicants, findings, head, learning] = await Promise.all([
    reads.governance.caseFlows(),
    reads.governance.applicantsServed(ctx.self),
    reads.governance.auditFindings(),
    ctx.store.audit.head(),
    ctx.learning(),
  ]);
  const byState = statesOf(flows);
  return {
    node: ctx.self,
    nonce,
    at: ctx.clock().toISOString(),
    cases: { total: Object.values(byState).reduce((a, b) => a + b, 0), byState },
    balance: balanceOf(flows, ctx.self),
    savings: savingsOf(flows, ctx.self, applicants),
    ...trustOf(findings, ctx.self),
    audit: { seq: head?.seq ?? 0, hash: head?.hash ?? null },
    learning: learning.map((r) => ({
      negotiation: r.negotiation,
      agreementId: r.agreementId,
      origin: r.origin,
      template: r.template ?? null,
      state: r.state,
      rounds: r.rounds,
      hoursToActive: r.hoursToActive ?? null,
    })),
  };
}
