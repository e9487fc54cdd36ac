import type { SigningKey } from '../crypto/index.ts';
import type { DirectorySource } from '../exchange/index.ts';
import { signedRequestHeaders } from '../exchange/index.ts';
import type { OutboxMessage, Store } from '../store/index.ts';

export interface OutboxWorkerOptions {
  readonly store: Store;
  readonly signingKey: SigningKey;
  readonly directory: DirectorySource;
  readonly clock: () => Date;
  readonly intervalMs: number;
  readonly log: (message: string) => void;
}

/** Answers that retrying cannot change. */
const PERMANENT = new Set([400, 404, 409, 413, 415, 422]);

/**
 * Delivers the outbox: signed POSTs to each destination's inbox, in order per destination,
 * with exponential back-off. A destination that is down gets its messages when it returns;
 * the receiver applies each message id once, so a retry never applies anything twice.
 */
export class OutboxWorker {
  readonly #options: OutboxWorkerOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;

  constructor(options: OutboxWorkerOptions) {
    this.#options = options;
  }

  start(): void {
    this.#timer = setInterval(() => this.kick(), this.#options.intervalMs);
    this.#timer.unref();
    this.kick();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  /** Deliver now (after a commit) instead of at the next tick. */
  kick(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.deliverDue()
      .catch((error: unknown) => this.#options.log(`outbox: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.kick();
        }
      });
  }

  /** One pass over the pending messages; resolves when it is done. */
  async deliverDue(): Promise<void> {
    const { store, clock } = this.#options;
    const blocked = new Set<string>();
    for (const message of await store.outbox.pending(200)) {
      if (blocked.has(message.destination)) continue;
      if (message.nextAttemptAt > clock().getTime()) {
        // Keep per-destination order: nothing overtakes a message that is waiting to retry.
        blocked.add(message.destination);
        continue;
      }
      const ok = await this.#deliver(message);
      if (!ok) blocked.add(message.destination);
    }
  }

  /** Waits until the current pass (if any) has finished. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async #deliver(message: OutboxMessage): Promise<boolean> {
    const { store, signingKey, directory, clock } = this.#options;
    let status = 0;
    let error = '';
    try {
      const destination = (await directory.current()).node(message.destination);
      if (!destination) throw new Error(`${message.destination} is not in the directory`);
      const url = new URL('/v1/cases/inbox', destination.endpoint).toString();
      const body = JSON.stringify({ id: message.id, kind: message.kind, payload: message.payload });
      const headers = await signedRequestHeaders(signingKey, url, body, clock());
      const response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(5_000) });
      status = response.status;
      if (response.ok) {
        await store.outbox.markDelivered(message.id);
        return true;
      }
      error = `${response.status} ${(await response.text()).slice(0, 300)}`;
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    const dead = PERMANENT.has(status);
    const backoff = Math.min(30_000, 500 * 2 ** Math.min(message.attempts, 6));
    await store.outbox.markFailed(message.id, error, clock().getTime() + backoff, dead);
    if (dead) this.#options.log(`outbox: ${message.kind} ${message.id} to ${message.destination} refused for good: ${error}`);
    return false;
  }
}
