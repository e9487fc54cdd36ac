import { z } from 'zod';
import { subjectHash, type AuditLog } from '../audit/index.ts';
import type { Store } from '../store/index.ts';
import type { CitizenProof } from './proof.ts';
import { trackerRow, TrackerRow } from './rows.ts';

/** Largest page one node answers. */
export const MAX_NODE_PAGE = 500;

/** What a node answers the tracker (signed by the node, RFC 9421), bound to the proof and nonce it was asked with. */
export const NodeTrackerAnswer = z.object({
  node: z.string().regex(/^\d{6}$/),
  /** The caller's nonce, echoed: the answer is for this request, not a replay of an older one. */
  nonce: z.string().nullable(),
  /** SHA-256 (base64url) of the token the request carried (the hub's tracker proof, or the citizen's token): the answer is for that proof. */
  proof: z.string(),
  entries: z.array(TrackerRow),
  /** The `before` of the next page (older entries), null on the last. */
  next: z.number().int().nullable(),
});
export type NodeTrackerAnswer = z.infer<typeof NodeTrackerAnswer>;

export const NodeTrackerQuery = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_NODE_PAGE).default(100),
  /** Cursor: only entries below this sequence number (the previous page's `next`). */
  before: z.coerce.number().int().min(1).optional(),
  /** A fresh value of the caller's, echoed in the signed answer. */
  nonce: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/).optional(),
});
export type NodeTrackerQuery = z.output<typeof NodeTrackerQuery>;

export interface NodeTrackerContext {
  readonly self: string;
  /** Where the entries are read: the node's read replica when one is configured. */
  readonly store: Store;
  readonly audit: AuditLog;
  readonly auditKey: Uint8Array;
}

/** The keyed subject hash this node's audit log files the citizen under (as every exchange records it). */
export function citizenSubjectHash(auditKey: Uint8Array, proof: CitizenProof): string {
  return subjectHash(auditKey, 'idNumber', proof.idNumber);
}

/** The keyed hash a verification that withheld the holder's ID number is filed under: the certificate's (docs/certificates.md). */
export function certificateSubjectHash(auditKey: Uint8Array, certificateId: string): string {
  return subjectHash(auditKey, 'certificate', certificateId);
}

/**
 * One page of this node's audit entries about the citizen the proof names — only theirs: the
 * subject hashes come from the verified token, never from the request (their ID number's, and
 * those of the certificates the hub's proof names) — and a record that they looked.
 */
export async function readTrackerEntries(ctx: NodeTrackerContext, proof: CitizenProof, query: NodeTrackerQuery): Promise<NodeTrackerAnswer> {
  const hash = citizenSubjectHash(ctx.auditKey, proof);
  const hashes = [hash, ...proof.certificates.map((id) => certificateSubjectHash(ctx.auditKey, id))];
  // One row more than asked tells whether another page follows.
  const found = await ctx.store.audit.bySubjectsPage(hashes, { limit: query.limit + 1, ...(query.before !== undefined ? { before: query.before } : {}) });
  const page = found.slice(0, query.limit);
  // The look itself is an access to the citizen's record: logged under their hash, with no personal value.
  await ctx.audit.append({ kind: 'tracker.read', outcome: 'allowed', subjectHash: hash, detail: { entries: page.length } });
  return {
    node: ctx.self,
    nonce: query.nonce ?? null,
    proof: proof.tokenHash,
    entries: page.map((entry) => trackerRow(entry, ctx.self)),
    next: found.length > query.limit ? page[page.length - 1]!.seq : null,
  };
}
