import { TongbanError } from '../errors/index.ts';
import type { AuditIncident, Store, StoredCheckpoint } from '../store/index.ts';
import type { AuditLog } from './audit-log.ts';

export interface CheckpointClaim {
  readonly division: string;
  readonly seq: number;
  readonly hash: string;
  readonly at: string;
}

export type WitnessVerdict =
  /** Above everything witnessed so far: store it. */
  | { readonly kind: 'new' }
  /** Exactly the highest checkpoint already witnessed (a resend): nothing to store. */
  | { readonly kind: 'known' }
  /** The chain was rewritten: another hash at a sequence number the hub witnessed. */
  | { readonly kind: 'conflict'; readonly witnessed: StoredCheckpoint }
  /** The chain went backwards (truncated): a node's chain only grows. */
  | { readonly kind: 'backwards'; readonly witnessed: StoredCheckpoint };

/**
 * The hub's rule for a node's checkpoint (pure). A node's chain only grows, so the only
 * acceptable claims are a new head above the highest witnessed one, or that very head again.
 * A different hash at a witnessed sequence number is a rewrite; anything below the highest
 * witnessed head is a truncation — even when it matches an older checkpoint, since a chain cut
 * back to an old checkpoint would otherwise be re-certified.
 */
export function judgeCheckpoint(claim: { seq: number; hash: string }, latest: StoredCheckpoint | undefined, atSeq: StoredCheckpoint | undefined): WitnessVerdict {
  if (atSeq && atSeq.hash !== claim.hash) return { kind: 'conflict', witnessed: atSeq };
  if (!latest || claim.seq > latest.seq) return { kind: 'new' };
  if (claim.seq === latest.seq) return { kind: 'known' };
  return { kind: 'backwards', witnessed: latest };
}

/**
 * Witnesses a signed checkpoint (the hub's own, or one a node posted): stores it, or refuses it
 * with CHECKPOINT_CONFLICT / CHECKPOINT_BACKWARDS after recording the incident and auditing the
 * refusal. Returns whether it was stored (false: the same head again).
 */
export async function witnessCheckpoint(store: Store, audit: AuditLog, claim: CheckpointClaim, jws: string, now: () => Date): Promise<boolean> {
  const outcome = await store.transaction(async (tx): Promise<{ stored: boolean } | { incident: AuditIncident; recorded: boolean }> => {
    await tx.checkpoints.lock();
    const verdict = judgeCheckpoint(claim, await tx.checkpoints.latest(claim.division), await tx.checkpoints.get(claim.division, claim.seq));
    if (verdict.kind === 'new') return { stored: await tx.checkpoints.add({ ...claim, jws }) };
    if (verdict.kind === 'known') return { stored: false };
    const { incident, recorded } = await tx.incidents.add({
      division: claim.division,
      kind: verdict.kind,
      claimedSeq: claim.seq,
      claimedHash: claim.hash,
      witnessedSeq: verdict.witnessed.seq,
      witnessedHash: verdict.witnessed.hash,
      jws,
      at: now().toISOString(),
    });
    return { incident, recorded };
  });
  if ('stored' in outcome) return outcome.stored;
  const { incident, recorded } = outcome;
  const code = incident.kind === 'conflict' ? 'CHECKPOINT_CONFLICT' : 'CHECKPOINT_BACKWARDS';
  await audit.append({
    kind: 'audit.checkpoint',
    outcome: 'refused',
    code,
    requester: claim.division,
    detail: { incident: incident.seq, firstReport: recorded, claimedSeq: claim.seq, claimedHash: claim.hash, witnessedSeq: incident.witnessedSeq, witnessedHash: incident.witnessedHash },
  });
  throw new TongbanError(
    code,
    incident.kind === 'conflict'
      ? `The checkpoint at entry ${claim.seq} contradicts the one witnessed for ${claim.division} (hash ${incident.witnessedHash}): the audit chain was rewritten. Recorded as incident ${incident.seq}.`
      : `The checkpoint at entry ${claim.seq} is below the one witnessed for ${claim.division} at entry ${incident.witnessedSeq}: the audit chain was truncated. Recorded as incident ${incident.seq}.`,
  );
}
