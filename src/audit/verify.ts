import { GENESIS_HASH, entryHash, type AuditEntry } from './entry.ts';

export interface Checkpoint {
  readonly seq: number;
  readonly hash: string;
}

export type ChainVerdict =
  | { readonly ok: true; readonly entries: number; readonly checkpoints: number; readonly head: Checkpoint | null }
  | {
      readonly ok: false;
      readonly entries: number;
      /** The first sequence number that does not match. */
      readonly seq: number;
      readonly reason: 'hash' | 'link' | 'sequence' | 'checkpoint' | 'truncated';
      readonly message: string;
    };

/**
 * Re-walks a chain and compares it with the checkpoints another party witnessed. Pure: the
 * console can run it in a browser on exported entries. Entries must come in seq order;
 * `next` is called until it returns an empty page.
 */
export async function verifyChain(
  pages: AsyncIterable<readonly AuditEntry[]> | Iterable<readonly AuditEntry[]>,
  checkpoints: readonly Checkpoint[],
): Promise<ChainVerdict> {
  const witnessed = new Map(checkpoints.map((c) => [c.seq, c.hash]));
  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  let count = 0;
  // A rewritten chain can be internally consistent; the first witnessed checkpoint it
  // contradicts bounds the damage, and we report the first entry after the last good one.
  let lastGoodCheckpoint = 0;
  for await (const page of pages) {
    for (const entry of page) {
      count++;
      if (entry.seq !== expectedSeq) {
        return fail(count, expectedSeq, 'sequence', `Entry ${expectedSeq} is missing (found ${entry.seq}).`);
      }
      if (entry.prevHash !== prevHash) {
        return fail(count, entry.seq, 'link', `Entry ${entry.seq} does not link to entry ${entry.seq - 1}.`);
      }
      const { hash, ...rest } = entry;
      if (entryHash(rest) !== hash) {
        return fail(count, entry.seq, 'hash', `Entry ${entry.seq} has been altered: its content does not match its hash.`);
      }
      const witnessedHash = witnessed.get(entry.seq);
      if (witnessedHash !== undefined) {
        if (witnessedHash !== hash) {
          return fail(
            count,
            lastGoodCheckpoint + 1,
            'checkpoint',
            `The chain was rewritten between entries ${lastGoodCheckpoint + 1} and ${entry.seq}: entry ${entry.seq} does not match the checkpoint the hub witnessed.`,
          );
        }
        lastGoodCheckpoint = entry.seq;
      }
      prevHash = hash;
      expectedSeq++;
    }
  }
  const highest = Math.max(0, ...checkpoints.map((c) => c.seq));
  if (highest >= expectedSeq) {
    return fail(count, expectedSeq, 'truncated', `Entries from ${expectedSeq} on are missing; the hub witnessed a checkpoint at ${highest}.`);
  }
  return { ok: true, entries: count, checkpoints: checkpoints.length, head: count > 0 ? { seq: expectedSeq - 1, hash: prevHash } : null };
}

function fail(entries: number, seq: number, reason: Exclude<ChainVerdict, { ok: true }>['reason'], message: string): ChainVerdict {
  return { ok: false, entries, seq, reason, message };
}
