import { z } from 'zod';
import type { AuditEntry } from '../audit/index.ts';

/**
 * One access to a citizen's data as the tracker shows it: taken from one audit entry of one node,
 * with the entry's own columns and a few named detail values (field names, never field values).
 */
export const TrackerRow = z.object({
  at: z.string(),
  /** The node whose audit log holds the entry. */
  node: z.string().regex(/^\d{6}$/),
  /** The entry's sequence number in that node's log. */
  seq: z.number().int().min(1),
  kind: z.string(),
  outcome: z.string(),
  /** The refusal or error code, if any. */
  code: z.string().nullable(),
  /** The staff role of whoever acted, when the entry records it (`actor.role`, else a `role` in its detail). */
  role: z.string().nullable(),
  /** The node of whoever acted, when the entry records it (`actor.node`). */
  actorNode: z.string().nullable(),
  service: z.string().nullable(),
  itemCode: z.string().nullable(),
  /** The names of the fields asked for or given (the entry's detail `fields`). */
  fields: z.array(z.string()),
  purpose: z.string().nullable(),
  agreementId: z.string().nullable(),
  /** The consent the exchange relied on, when the entry records one. */
  consentRef: z.string().nullable(),
  requester: z.string().nullable(),
  provider: z.string().nullable(),
  caseId: z.string().nullable(),
  requestId: z.string().nullable(),
});
export type TrackerRow = z.infer<typeof TrackerRow>;

/** The entry's structured actor, when the log records one (subject, node, role of the signed-in person). */
interface Actor {
  readonly subject?: unknown;
  readonly node?: unknown;
  readonly role?: unknown;
}

const str = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);

/**
 * The tracker's view of one audit entry of `node`. Only named columns and detail values pass:
 * no free text of the detail (reasons, messages) and never the operator's own identifier.
 */
export function trackerRow(entry: AuditEntry, node: string): TrackerRow {
  const detail = entry.detail ?? {};
  const actor = (entry as AuditEntry & { actor?: Actor }).actor;
  const fields = str(detail.fields);
  return {
    at: entry.at,
    node,
    seq: entry.seq,
    kind: entry.kind,
    outcome: entry.outcome,
    code: entry.code ?? null,
    role: str(actor?.role) ?? str(detail.role) ?? str(detail.operatorRole),
    actorNode: str(actor?.node),
    service: entry.service ?? null,
    itemCode: entry.itemCode ?? null,
    fields: fields ? fields.split(',').map((f) => f.trim()).filter((f) => /^[A-Za-z][A-Za-z0-9_.-]{0,59}$/.test(f)) : [],
    purpose: entry.purpose ?? null,
    agreementId: entry.agreementId ?? null,
    consentRef: str(detail.consentId) ?? str(detail.consent),
    requester: entry.requester ?? null,
    provider: entry.provider ?? null,
    caseId: entry.caseId ?? null,
    requestId: entry.requestId ?? null,
  };
}

/** Newest first across nodes: by time, then node, then sequence (a total order, so pages do not overlap). */
export function compareRows(a: TrackerRow, b: TrackerRow): number {
  const ta = Date.parse(a.at);
  const tb = Date.parse(b.at);
  if (ta !== tb) return tb - ta;
  if (a.node !== b.node) return a.node < b.node ? -1 : 1;
  return b.seq - a.seq;
}
