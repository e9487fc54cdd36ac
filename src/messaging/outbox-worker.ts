import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { AuditLog } from '../audit/index.ts';
import type { SigningKeySource } from '../crypto/index.ts';
import type { DirectorySource } from '../exchange/index.ts';
import { peerCall, signedRequestHeaders } from '../exchange/index.ts';
import type { OutboxMessage, Store } from '../store/index.ts';
import { domainOf, sealEnvelope, type UnsignedEnvelope } from './envelope.ts';

export interface OutboxWorkerOptions {
  readonly self: string;
  readonly store: Store;
  /** Read at each delivery: it changes when a key rotation is approved. */
  readonly signingKey: SigningKeySource;
  readonly directory: DirectorySource;
  readonly clock: () => Date;
  readonly intervalMs: number;
  /** Destinations this node cannot reach directly (config `messaging.viaHub`): always through the hub. */
  readonly viaHub: readonly string[];
  readonly log: (message: string) => void;
  /** Who claims messages (a replica of the node); a fresh id per process by default. */
  readonly replica?: string;
  /** How long a claim stands (default 30 s): a replica that dies holding it is replaced after it. */
  readonly leaseMs?: number;
  /** Messages claimed at a time (default 20). */
  readonly batch?: number;
}

/** How long one delivery may take at most (the HTTP timeout plus a margin): no attempt starts later than this before its lease ends. */
const ATTEMPT_MS = 6_000;

/** An id for this process among the replicas of a node: host, pid and a random part (a restarted pid is another replica). */
export function replicaId(): string {
  return `${hostname().slice(0, 50)}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/**
 * Whether an answer is final. A 4xx says the receiver will not take this message however often
 * it is sent — except 408 (timeout), 425 (too early: e.g. a case's hand-off has not arrived yet)
 * and 429 (slow down). 5xx and network failures are retried.
 */
export function isPermanentRefusal(status: number): boolean {
  return status >= 400 && status < 500 && status !== 408 && status !== 425 && status !== 429;
}

/** What decides a route besides the message: the hub's division, the topology of an agreement. */
export interface RouteFacts {
  readonly hub: string | undefined;
  readonly topologyOf: (agreementId: string) => 'bridge' | 'hub' | undefined;
  /** Destinations not directly reachable (config `messaging.viaHub`). */
  readonly viaHub: readonly string[];
}

/**
 * The route of a message: as it was sent (`via`), else through the hub when config says the
 * destination is not directly reachable or when the agreement the conversation is about
 * (`agreement:<id>`) is a hub agreement; straight to the destination otherwise, and always when
 * the destination is the hub itself.
 */
export function routeOf(message: Pick<OutboxMessage, 'destination' | 'conversation' | 'via'>, facts: RouteFacts): 'bridge' | 'hub' {
  if (message.destination === facts.hub) return 'bridge';
  if (message.via) return message.via;
  if (facts.viaHub.includes(message.destination)) return 'hub';
  const agreementId = message.conversation?.startsWith('agreement:') ? message.conversation.slice('agreement:'.length) : undefined;
  return agreementId !== undefined && facts.topologyOf(agreementId) === 'hub' ? 'hub' : 'bridge';
}

/**
 * Delivers the outbox: signed POSTs to each destination's `/v1/messages/inbox` (or to the hub's
 * `/v1/messages/relay`), in order per (destination, conversation), with exponential back-off. A
 * destination that is down gets its messages when it returns; the receiver applies each message
 * id once, so a retry never applies anything twice. A message refused for good is marked dead,
 * audit-logged and listed for the operator; it holds up nothing else.
 *
 * Several replicas of a node share one outbox: each claims the heads it sends under a lease
 * (store `outbox.claim`), so no two send the same message and a queue's next message waits
 * until its predecessor is delivered; a replica that dies holding claims is replaced when the
 * lease runs out, and one whose lease ran out records nothing over the one that took over.
 */
export class OutboxWorker {
  readonly #options: OutboxWorkerOptions;
  readonly replica: string;
  readonly #leaseMs: number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #recovered = false;

  constructor(options: OutboxWorkerOptions) {
    this.#options = options;
    this.replica = options.replica ?? replicaId();
    // At least two attempts' time: a claim must outlast the delivery it was taken for.
    this.#leaseMs = Math.max(options.leaseMs ?? 30_000, 2 * ATTEMPT_MS);
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

  /**
   * Passes over the due messages until none is left: each pass sends the head of every
   * (destination, conversation) queue; a delivered head makes the next message of its queue due.
   */
  async deliverDue(): Promise<void> {
    const { store, clock } = this.#options;
    if (!this.#recovered) {
      // On SQLite one process holds the store: a claim that is not ours was left by a process that
      // died (kill -9) and would otherwise hold its queue until the lease ran out.
      if (store.dialect === 'sqlite') {
        const released = await store.outbox.releaseOthers(this.replica);
        if (released > 0) this.#options.log(`outbox: took back ${released} message(s) claimed by a process that stopped`);
      }
      this.#recovered = true;
    }
    for (;;) {
      const now = clock().getTime();
      const heads = await store.outbox.claim(this.replica, now, this.#leaseMs, this.#options.batch ?? 20);
      const deadline = now + this.#leaseMs - ATTEMPT_MS;
      let delivered = 0;
      for (let i = 0; i < heads.length; i++) {
        // Too close to the lease's end to finish: give the rest back rather than race a replica that takes it over.
        if (clock().getTime() > deadline) {
          await store.outbox.release(heads.slice(i).map((m) => m.id), this.replica);
          break;
        }
        if (await this.#deliver(heads[i]!)) delivered++;
      }
      if (delivered === 0) return;
    }
  }

  /** Waits until the current pass (if any) has finished. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async #deliver(message: OutboxMessage): Promise<boolean> {
    const { store, signingKey, directory, clock, self } = this.#options;
    let status = 0;
    let error = '';
    let code: string | undefined;
    let via: 'bridge' | 'hub' = 'bridge';
    try {
      const view = await directory.current();
      const destination = view.node(message.destination);
      if (!destination) throw new Error(`${message.destination} is not in the directory`);
      via = routeOf(message, { hub: view.hub()?.division, topologyOf: (id) => view.policy.get(id)?.topology, viaHub: this.#options.viaHub });
      const envelope: UnsignedEnvelope = { id: message.id, kind: message.kind, conversation: message.conversation ?? `${domainOf(null)}:${message.id}`, from: self, to: message.destination, payload: message.payload };
      let url: string;
      let body: string;
      if (via === 'hub') {
        const hub = view.hub();
        if (!hub) throw new Error('the directory does not list the hub');
        url = new URL('/v1/messages/relay', hub.endpoint).toString();
        // Through the hub the author signs the envelope itself and seals it for the destination:
        // the hub reads neither the payload nor can it alter what the destination accepts.
        body = JSON.stringify(await sealEnvelope(signingKey.current(), envelope, destination.encryptionKey));
      } else {
        url = new URL('/v1/messages/inbox', destination.endpoint).toString();
        body = JSON.stringify(envelope);
      }
      const headers = await signedRequestHeaders(signingKey.current(), url, body, clock());
      const response = await peerCall(url, { method: 'POST', headers, body, timeoutMs: 5_000 });
      status = response.status;
      if (status >= 200 && status < 300) {
        // False when our lease ran out and another replica took the message over: the receiver applies it once either way.
        await store.outbox.markDelivered(message.id, this.replica);
        return true;
      }
      const text = new TextDecoder().decode(response.body);
      code = problemCode(text);
      error = `${response.status} ${text.slice(0, 300)}`;
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    const dead = isPermanentRefusal(status);
    const backoff = Math.min(30_000, 500 * 2 ** Math.min(message.attempts, 6));
    await store.transaction(async (tx) => {
      // Another replica took the message over (our lease ran out): what it records stands.
      if (!(await tx.outbox.markFailed(message.id, error, clock().getTime() + backoff, dead, this.replica))) return;
      if (dead) {
        const domain = domainOf(message.conversation);
        const about = message.conversation?.slice(domain.length + 1);
        await AuditLog.appendIn(
          tx,
          [
            {
              kind: `${domain}.delivery`.slice(0, 40),
              outcome: 'refused',
              ...(code ? { code } : {}),
              ...(about && domain === 'case' ? { caseId: about } : {}),
              ...(about && domain === 'agreement' ? { agreementId: about } : {}),
              detail: { destination: message.destination, message: message.id, kind: message.kind, conversation: message.conversation, via, status, error: error.slice(0, 500) },
            },
          ],
          clock(),
        );
      }
    });
    if (dead) this.#options.log(`outbox: ${message.kind} ${message.id} to ${message.destination} refused for good: ${error}`);
    return false;
  }
}

/** The stable `code` of a problem+json answer, if it is one. */
export function problemCode(text: string): string | undefined {
  try {
    const code = (JSON.parse(text) as { code?: unknown }).code;
    return typeof code === 'string' ? code.slice(0, 60) : undefined;
  } catch {
    return undefined;
  }
}
