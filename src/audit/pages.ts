import type { Store } from '../store/index.ts';
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
