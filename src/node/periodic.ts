import type { Store } from '../store/index.ts';

export interface PeriodicWorkOptions {
  readonly store: Store;
  /** This replica (host, pid, random part). */
  readonly holder: string;
  readonly clock: () => Date;
  /** How long the lease stands without renewal: a holder that dies is replaced after it. */
  readonly leaseMs: number;
  readonly log: (message: string) => void;
}

/** The lease every replica of a node competes for; its holder does the node's periodic work. */
export const PERIODIC_LEASE = 'periodic-work';

/**
 * The node's periodic work (escalation, checkpoints, enrolment, clean-up) done once per node
 * however many replicas run: each tick runs only at the replica holding the node's lease
 * (`node_leases`, in the node's own schema, so keyed per node). The holder renews it well before
 * it runs out; a holder that dies without releasing it is replaced once the lease has run out,
 * at the next tick of another replica. A graceful stop releases it for another to take at once.
 */
export class PeriodicWork {
  readonly #options: PeriodicWorkOptions;
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #running = new Set<Promise<unknown>>();
  readonly #jobs = new Map<string, { job: () => Promise<void>; current: Promise<boolean> | undefined }>();
  /** Until when this replica knows it holds the lease (ms since the epoch; 0: not held). */
  #heldUntil = 0;
  #stopped = false;

  constructor(options: PeriodicWorkOptions) {
    this.#options = options;
  }

  /** Whether this replica holds the lease now, by what it last recorded (no database round trip). */
  held(): boolean {
    return !this.#stopped && this.#options.clock().getTime() < this.#heldUntil;
  }

  /**
   * Holds the lease, renewing it in the database once half of it has passed (or taking it when
   * free or run out). True when this replica holds it for at least half a lease from now.
   */
  async hold(): Promise<boolean> {
    if (this.#stopped) return false;
    const now = this.#options.clock().getTime();
    if (now < this.#heldUntil - this.#options.leaseMs / 2) return true;
    const held = await this.#options.store.leases.acquire(PERIODIC_LEASE, this.#options.holder, now, this.#options.leaseMs);
    this.#heldUntil = held ? now + this.#options.leaseMs : 0;
    return held;
  }

  /** Registers `job` under `name` and runs it every `seconds` at the lease holder (a tick is skipped while the previous run goes on). */
  every(name: string, seconds: number, job: () => Promise<void>): void {
    this.#jobs.set(name, { job, current: undefined });
    const timer = setInterval(() => void this.tick(name), seconds * 1000);
    timer.unref();
    this.#timers.push(timer);
  }

  /** One tick of `name` now: runs it if this replica holds the lease. True when it ran. */
  tick(name: string): Promise<boolean> {
    const entry = this.#jobs.get(name);
    if (!entry) throw new Error(`no periodic job ${name}`);
    if (entry.current) return Promise.resolve(false);
    const run = (async () => {
      if (!(await this.hold())) return false;
      await entry.job();
      return true;
    })()
      .catch((error: unknown) => {
        this.#options.log(`background job ${name} failed: ${error instanceof Error ? error.message : String(error)}`);
        return false;
      })
      .finally(() => {
        entry.current = undefined;
        this.#running.delete(run);
      });
    entry.current = run;
    this.#running.add(run);
    return run;
  }

  /** Clears the timers and waits for the runs still going on; the lease is kept (see release). */
  async stop(): Promise<void> {
    for (const timer of this.#timers.splice(0)) clearInterval(timer);
    await Promise.all(this.#running);
  }

  /** Gives the lease up so another replica takes over at its next tick; this one runs nothing more. */
  async release(): Promise<void> {
    await this.stop();
    this.#stopped = true;
    if (this.#heldUntil > 0) await this.#options.store.leases.release(PERIODIC_LEASE, this.#options.holder);
    this.#heldUntil = 0;
  }
}
