import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type { AuditLog } from '../audit/index.ts';
import type { EncryptionKey, SigningKeySource } from '../crypto/index.ts';
import { TongbanError, validationError } from '../errors/index.ts';
import type { DirectorySource, ExchangeContext, IncomingRequest, RelayOutcome } from '../exchange/index.ts';
import type { Store, StoreOps } from '../store/index.ts';
import { Conversation, MessageKind } from './envelope.ts';
import { receiveMessage, type InboxAnswer } from './inbox.ts';
import { OutboxWorker } from './outbox-worker.ts';
import { MessageRegistry, type KindOptions, type MessageHandler } from './registry.ts';
import { relayMessage } from './relay.ts';

export interface MessagingOptions {
  readonly self: string;
  readonly store: Store;
  readonly audit: AuditLog;
  readonly signingKey: SigningKeySource;
  /** Opens messages sealed for this node. */
  readonly encryptionKey: EncryptionKey;
  readonly directory: DirectorySource;
  readonly clock: () => Date;
  /** How often undelivered messages are retried. */
  readonly intervalMs: number;
  /** Destinations not directly reachable from this node: always through the hub. */
  readonly viaHub?: readonly string[];
  readonly log: (message: string) => void;
  /** This replica of the node, as it claims outbox messages. */
  readonly replica?: string;
  /** How long its claims stand (a replica that dies is replaced after it). */
  readonly leaseMs?: number;
}

/** A message to send: enqueued in the caller's transaction, delivered after commit. */
export interface OutgoingMessage {
  readonly destination: string;
  readonly kind: string;
  /** `<domain>:<id>`: messages of one conversation reach a destination in the order sent. */
  readonly conversation: string;
  readonly payload: unknown;
  /** Force a route; by default config and the conversation's agreement decide (routeOf). */
  readonly via?: 'bridge' | 'hub';
  /** The message id (a random UUID by default): the receiver applies each (sender, id) once. */
  readonly id?: string;
}

/** What a domain needs to send messages: enqueue in its transaction, kick once committed. */
export interface MessageSender {
  send(tx: StoreOps, message: OutgoingMessage): Promise<string>;
  kick(): void;
}

/** Node-to-node messaging at one node: the registry of kinds, the outbox worker, the inbox and (hub) the relay. */
export class Messaging implements MessageSender {
  readonly registry = new MessageRegistry();
  readonly worker: OutboxWorker;
  readonly #options: MessagingOptions;

  constructor(options: MessagingOptions) {
    this.#options = options;
    this.worker = new OutboxWorker({ ...options, viaHub: options.viaHub ?? [] });
  }

  /** Accept messages of `kind`: payloads parsed by `schema`, applied by `handler` exactly once. */
  register<T>(kind: string, schema: z.ZodType<T>, handler: MessageHandler<T>, options?: KindOptions<T>): void {
    this.registry.register(kind, schema, handler, options);
  }

  /**
   * Enqueues a message in `tx` (it leaves only if the caller's transaction commits) and returns
   * its id. A payload of a kind this node registered is checked against its schema first.
   */
  async send(tx: StoreOps, message: OutgoingMessage): Promise<string> {
    for (const [schema, value] of [[MessageKind, message.kind], [Conversation, message.conversation]] as const) {
      const checked = schema.safeParse(value);
      if (!checked.success) throw validationError(checked.error);
    }
    if (message.destination === this.#options.self) throw new TongbanError('VALIDATION_FAILED', 'A node does not send messages to itself.');
    const schema = this.registry.get(message.kind)?.schema;
    if (schema) {
      const checked = schema.safeParse(message.payload);
      if (!checked.success) throw validationError(checked.error);
    }
    const id = message.id ?? randomUUID();
    await tx.outbox.enqueue({ id, destination: message.destination, kind: message.kind, conversation: message.conversation, payload: message.payload, via: message.via });
    return id;
  }

  /** Deliver now (call after the transaction that sent messages committed). */
  kick(): void {
    this.worker.kick();
  }

  start(): void {
    this.worker.start();
  }

  async stop(): Promise<void> {
    this.worker.stop();
    await this.worker.idle();
  }

  /** `POST /v1/messages/inbox` (and, with `legacyKinds`, the older `POST /v1/cases/inbox`). */
  receive(request: IncomingRequest, options: { legacyKinds?: readonly string[] } = {}): Promise<InboxAnswer> {
    const { self, store, audit, directory, clock, encryptionKey } = this.#options;
    return receiveMessage({ self, store, audit, directory, clock, encryptionKey, registry: this.registry }, request, options);
  }

  /** Hub: `POST /v1/messages/relay`. */
  relay(exchange: ExchangeContext, request: IncomingRequest): Promise<RelayOutcome> {
    return relayMessage(exchange, request);
  }
}
