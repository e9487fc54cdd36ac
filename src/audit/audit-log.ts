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
  #flushing: Promise<void> = Promise.resolve();
  readonly #listeners: Array<(headSeq: number) => void> = [];
  readonly #eventListeners: Array<(event: AuditEvent) => void> = [];

  constructor(store: Store, clock: () => Date = () => new Date()) {
    this.#store = store;
    this.#clock = clock;
  }

  append(...events: AuditEvent[]): Promise<AuditEntry[]> {
    // Observers (metrics, the exchange log line) see each event as it is recorded — the audit log
    // is where every exchange outcome is decided to be final, so counting here counts each once.
    for (const event of events) for (const listener of this.#eventListeners) listener(event);
    return new Promise((resolve, reject) => {
      this.#pending.push({ events, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => void this.#flush());
      }
    });
  }

  /** Called with the new head's sequence number after each committed batch (checkpoints by count). */
  onAppended(listener: (headSeq: number) => void): void {
    this.#listeners.push(listener);
  }

  /** Called synchronously with every event passed to append() (not those appended inside other transactions). */
  onEvent(listener: (event: AuditEvent) => void): void {
    this.#eventListeners.push(listener);
  }

  /** Resolves once every append requested so far has been written (or failed). */
  async idle(): Promise<void> {
    while (this.#scheduled || this.#pending.length > 0) await new Promise((resolve) => setImmediate(resolve));
    await this.#flushing;
  }

  /** Appends inside the caller's transaction, so the entry commits with the change it records. */
  static async appendIn(tx: StoreOps, events: readonly AuditEvent[], at: Date): Promise<AuditEntry[]> {
    await tx.audit.lockHead();
    const entries = chainEntries(await tx.audit.head(), events, at.toISOString());
    await tx.audit.insert(entries);
    return entries;
  }

  #flush(): Promise<void> {
    // Group commit: one batch is written at a time. Appends that arrive while a batch commits
    // wait and go together in the next transaction, instead of each turn of the event loop
    // opening its own transaction to queue on the head lock. Every append still resolves only
    // after the transaction holding its entry committed.
    this.#flushing = this.#flushing.then(() => this.#write());
    return this.#flushing;
  }

  async #write(): Promise<void> {
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
      const head = entries[entries.length - 1];
      if (head) for (const listener of this.#listeners) listener(head.seq);
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    }
  }
}
