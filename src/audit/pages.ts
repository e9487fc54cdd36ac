import type { Store, StoredCheckpoint } from '../store/index.ts';
import type { AuditEntry } from './entry.ts';

/** A node's audit log in sequence order, a page at a time (what the verifier walks). */
export async function* auditPages(store: Pick<Store, 'audit'>, pageSize = 1000): AsyncGenerator<AuditEntry[]> {
  for (let from = 1; ; ) {
    const page = await store.audit.range(from, pageSize);
    if (page.length === 0) return;
    yield page;
    from = page[page.length - 1]!.seq + 1;
  }
}

/** The checkpoints stored for a division in sequence order, a page at a time. */
export async function* checkpointPages(store: Pick<Store, 'checkpoints'>, division: string, pageSize = 1000): AsyncGenerator<StoredCheckpoint[]> {
  for (let after = 0; ; ) {
    const page = await store.checkpoints.list(division, { after, limit: pageSize });
    if (page.length === 0) return;
    yield page;
    after = page[page.length - 1]!.seq;
  }
}
