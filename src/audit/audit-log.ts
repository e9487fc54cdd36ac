import type { Store, StoreOps } from '../store/index.ts';
import { chainEntries, type AuditEntry, type AuditEvent } from './entry.ts';

interface Pending {
  readonly events: readonly AuditEvent[];
  readonly resolve: (entries: AuditEntry[]) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The node's audit log. Appends that arrive together are chained and written in one
 * transaction (STACK.md: batch audit writes), in the order they were called.
 */
export class AuditLog {
  readonly #store: Store;
  readonly #clock: () => Date;
  #pending: Pending[] = [];
  #scheduled = false;

  constructor(store: Store, clock: () => Date = () => new Date()) {
    this.#store = store;
    this.#clock = clock;
  }

  append(...events: AuditEvent[]): Promise<AuditEntry[]> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ events, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => void this.#flush());
      }
    });
  }

  /** Appends inside the caller's transaction, so the entry commits with the change it records. */
  static async appendIn(tx: StoreOps, events: readonly AuditEvent[], at: Date): Promise<AuditEntry[]> {
    await tx.audit.lockHead();
    const entries = chainEntries(await tx.audit.head(), events, at.toISOString());
    await tx.audit.insert(entries);
    return entries;
  }

  async #flush(): Promise<void> {
    const batch = this.#pending;
    this.#pending = [];
    this.#scheduled = false;
    if (batch.length === 0) return;
    try {
      const entries = await this.#store.transaction((tx) => AuditLog.appendIn(tx, batch.flatMap((p) => p.events), this.#clock()));
      let offset = 0;
      for (const pending of batch) {
        pending.resolve(entries.slice(offset, offset + pending.events.length));
        offset += pending.events.length;
      }
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    }
  }
}
