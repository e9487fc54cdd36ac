import { createHash, createHmac } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson } from '../crypto/jws.ts';

/** Small, flat detail values: the audit log never holds documents or personal field values. */
export const AuditDetail = z.record(z.string(), z.union([z.string().max(500), z.number(), z.boolean(), z.null()]));

/**
 * Who did it, as authentication proved it at this node (never a name from a request body):
 * the person's stable subject (never an ID number or a name), the node they acted at and the
 * role they acted in. Absent on entries written before it was recorded and on entries about
 * what another node did (a received message, a provided exchange), where `requester` names that node.
 */
export const AuditActor = z
  .object({
    subject: z.string().min(1).max(100),
    node: z.string().regex(/^\d{6}$/),
    role: z.string().regex(/^[A-Za-z]{1,20}$/),
  })
  .strict();
export type AuditActor = z.infer<typeof AuditActor>;

/** The actor of steps the node's operator token takes (the node's local operator API). */
export function operatorActor(node: string): AuditActor {
  return { subject: 'operator-token', node, role: 'operator' };
}

/** What a caller records; the log adds seq, time and the chain hashes. */
export const AuditEvent = z.object({
  kind: z.string().min(1).max(40),
  outcome: z.enum(['allowed', 'refused', 'error', 'relayed', 'received', 'sent']),
  code: z.string().max(60).optional(),
  requestId: z.string().max(80).optional(),
  requester: z.string().max(6).optional(),
  provider: z.string().max(6).optional(),
  agreementId: z.string().max(80).optional(),
  itemCode: z.string().max(30).optional(),
  service: z.string().max(100).optional(),
  purpose: z.string().max(100).optional(),
  caseId: z.string().max(80).optional(),
  operator: z.string().max(100).optional(),
  /** The authenticated person who acted at this node (optional: older entries have none, and still verify). */
  actor: AuditActor.optional(),
  /** Keyed hash of the subject's identifier, never the identifier itself. */
  subjectHash: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  detail: AuditDetail.default({}),
});
export type AuditEvent = z.input<typeof AuditEvent>;

export interface AuditEntry extends z.output<typeof AuditEvent> {
  readonly seq: number;
  readonly at: string;
  readonly prevHash: string;
  readonly hash: string;
}

export const GENESIS_HASH = '0'.repeat(64);

/** The chained hash: SHA-256 over the previous hash and the canonical entry (without its own hash). */
export function entryHash(entry: Omit<AuditEntry, 'hash'>): string {
  const { prevHash, ...rest } = entry;
  return createHash('sha256').update(prevHash).update('\n').update(canonicalJson(stripUndefined(rest))).digest('hex');
}

/** Chains events after a head; pure, so the same code builds and verifies. */
export function chainEntries(
  head: { seq: number; hash: string } | undefined,
  events: readonly AuditEvent[],
  at: string,
): AuditEntry[] {
  let seq = head?.seq ?? 0;
  let prevHash = head?.hash ?? GENESIS_HASH;
  return events.map((event) => {
    const parsed = AuditEvent.parse(event);
    seq += 1;
    const partial = { ...stripUndefined(parsed), seq, at, prevHash } as Omit<AuditEntry, 'hash'>;
    const hash = entryHash(partial);
    prevHash = hash;
    return { ...partial, hash };
  });
}

/** Subjects are stored as HMAC-SHA256 under the node's audit key, so the log is searchable but not readable. */
export function subjectHash(auditKey: Uint8Array, subjectType: string, subject: string): string {
  return createHmac('sha256', auditKey).update(`${subjectType}:${subject}`).digest('hex');
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** An entry as it leaves the node (operator API, exports for the verifier). */
export const AuditEntrySchema = AuditEvent.extend({
  seq: z.number().int().min(1),
  at: z.string(),
  prevHash: z.string(),
  hash: z.string(),
});
