/**
 * Node-to-node messaging: signed messages between nodes, directly (a bridge) or through the hub,
 * delivered in order per (destination, conversation), retried until the destination takes them,
 * applied there exactly once. Cases and agreement negotiation both use it.
 *
 * Sending (from any domain service; `runtime.messages` is a `Messaging`):
 *
 * ```ts
 * await store.transaction(async (tx) => {
 *   await tx.agreements.put(...);                        // the change the message announces
 *   await messages.send(tx, {
 *     destination: '330523',
 *     kind: 'agreement.counter',                       // <domain>.<name>
 *     conversation: `agreement:${draft.id}`,           // order is kept per destination and conversation
 *     payload: { version: 3, ... },
 *     // via: 'hub',                                   // optional: force the hub; by default the route is
 *   });                                                // config `messaging.viaHub`, else a hub agreement
 * });                                                  // named by an `agreement:<id>` conversation, else direct
 * messages.kick();                                     // deliver now rather than at the next tick
 * ```
 *
 * Receiving (register once, before the server starts, e.g. where `src/node/runtime.ts` wires
 * cases with `registerCaseMessages`):
 *
 * ```ts
 * messages.register('agreement.counter', CounterOffer, async (tx, message, sender) => {
 *   // message.from === sender.division: the author, proven by its signature (never by the body);
 *   // message.via: 'bridge' or 'hub'. Runs in the transaction that records message.id as seen:
 *   // throw a TongbanError to refuse (all rolled back; 4xx other than 408/425/429 is final for
 *   // the sender, which marks the message dead; 425 or 5xx makes it retry later).
 *   await tx....;
 *   return { afterCommit: () => emitter.emit('change', ...) };   // optional; `result: 'stale'` for no-ops
 * }, { refused: async (from, message, error) => { ... } });      // optional: audit refusals in domain terms
 * ```
 *
 * The wire (docs/protocol.md, "Messages between nodes"): `POST /v1/messages/inbox` with the
 * envelope `{id, kind, conversation, from, to, payload}`, signed (RFC 9421) by `from`; through
 * the hub, `POST /v1/messages/relay` at the hub with `{id, kind, conversation, from, to, sealed}`:
 * the envelope signed by `from` (detached JWS) and sealed for the destination (JWE), which the
 * hub forwards unchanged and the receiver opens and verifies end to end.
 */
export { Messaging, type MessagingOptions, type OutgoingMessage, type MessageSender } from './messaging.ts';
export { MessageRegistry, type MessageHandler, type ReceivedMessage, type HandlerOutcome, type KindOptions } from './registry.ts';
export { Envelope, UnsignedEnvelope, SealedEnvelope, InboxBody, MessageKind, Conversation, signEnvelope, verifyEnvelope, sealEnvelope, openSealed, contentHash, MESSAGE_JWS_TYP, SEALED_MESSAGE_CTY } from './envelope.ts';
export { LegacyInboxBody, type InboxAnswer } from './inbox.ts';
export { OutboxWorker, isPermanentRefusal, replicaId, routeOf, type RouteFacts, type OutboxWorkerOptions } from './outbox-worker.ts';
