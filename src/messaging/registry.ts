import type { z } from 'zod';
import type { DirectoryEntry } from '../directory/snapshot.ts';
import type { TongbanError } from '../errors/index.ts';
import type { StoreOps } from '../store/index.ts';
import { MessageKind } from './envelope.ts';

/** A message as its handler sees it: the payload parsed by the kind's schema, `from` verified. */
export interface ReceivedMessage<T> {
  readonly id: string;
  readonly kind: string;
  readonly conversation: string;
  /** The author, proven by its signature (HTTP signature, or its JWS when relayed). */
  readonly from: string;
  /** `hub` when it came through the hub's relay. */
  readonly via: 'bridge' | 'hub';
  readonly payload: T;
}

/** What a handler may answer: `stale` when the message changed nothing; work to do once committed. */
export interface HandlerOutcome {
  readonly result?: 'applied' | 'stale';
  readonly afterCommit?: () => void;
}

/**
 * Applies a message, inside the transaction that records its id as seen: it is applied exactly
 * once, and a thrown error rolls back everything (a TongbanError's status goes back to the
 * sender, which retries or gives up according to it).
 */
export type MessageHandler<T> = (tx: StoreOps, message: ReceivedMessage<T>, sender: DirectoryEntry) => Promise<HandlerOutcome | void>;

export interface KindOptions<T> {
  /**
   * Records a refusal (after the rollback) in the domain's own terms; without it the inbox writes
   * a `message.receive` entry. Called for refusals the sender will not retry.
   */
  readonly refused?: (from: string, message: ReceivedMessage<T | unknown>, error: TongbanError) => Promise<void>;
  /** The conversation of a message that came without one (the older `POST /v1/cases/inbox`). */
  readonly conversationOf?: (payload: T) => string;
}

export interface Registration<T> extends KindOptions<T> {
  readonly kind: string;
  readonly schema: z.ZodType<T>;
  readonly handle: MessageHandler<T>;
}

/** The kinds this node accepts, each with its payload schema and handler. */
export class MessageRegistry {
  readonly #kinds = new Map<string, Registration<unknown>>();

  register<T>(kind: string, schema: z.ZodType<T>, handle: MessageHandler<T>, options: KindOptions<T> = {}): void {
    if (!MessageKind.safeParse(kind).success) throw new TypeError(`${kind} is not a message kind (<domain>.<name>)`);
    if (this.#kinds.has(kind)) throw new TypeError(`message kind ${kind} is registered twice`);
    this.#kinds.set(kind, { kind, schema, handle, ...options } as Registration<unknown>);
  }

  get(kind: string): Registration<unknown> | undefined {
    return this.#kinds.get(kind);
  }

  kinds(): string[] {
    return [...this.#kinds.keys()].sort();
  }
}
