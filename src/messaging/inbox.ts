import { z } from 'zod';
import type { AuditLog } from '../audit/index.ts';
import { signingKeyFor, type DirectoryEntry } from '../directory/snapshot.ts';
import { isTongbanError, TongbanError, validationError } from '../errors/index.ts';
import { authenticateRequest, type DirectorySource, type IncomingRequest } from '../exchange/index.ts';
import { parseJson } from '../exchange/provider.ts';
import { isUniqueViolation, type Store, type StoreOps } from '../store/index.ts';
import type { EncryptionKey } from '../crypto/index.ts';
import { contentHash, InboxBody, MessageKind, openSealed, verifyEnvelope, type Envelope } from './envelope.ts';
import { isPermanentRefusal } from './outbox-worker.ts';
import type { HandlerOutcome, MessageRegistry, ReceivedMessage } from './registry.ts';

export interface InboxContext {
  readonly self: string;
  readonly store: Store;
  readonly audit: AuditLog;
  readonly directory: DirectorySource;
  readonly registry: MessageRegistry;
  /** Opens messages sealed for this node (through the hub). */
  readonly encryptionKey: EncryptionKey;
  readonly clock: () => Date;
}

/** The body of the older `POST /v1/cases/inbox`: author and destination are the HTTP signer and this node. */
export const LegacyInboxBody = z.object({ id: z.string().min(1).max(80), kind: MessageKind, payload: z.unknown() });

export interface InboxAnswer {
  readonly id: string;
  readonly result: 'applied' | 'stale';
  readonly replayed: boolean;
}

/**
 * Receives one signed message: authenticates the HTTP signature (a node in the directory), opens
 * a sealed one, binds the author — the HTTP signer itself, or, when the signer is the hub
 * relaying, the author whose JWS over the envelope verifies — checks it is addressed to this
 * node, parses the payload by its
 * kind, and applies it exactly once per (author, id) in one transaction with the record of its id.
 * Refusals after authentication are audited; nothing of a refused message is kept.
 */
export async function receiveMessage(ctx: InboxContext, request: IncomingRequest, options: { legacyKinds?: readonly string[] } = {}): Promise<InboxAnswer> {
  const view = await ctx.directory.current();
  const now = ctx.clock();
  const auth = await authenticateRequest(request, view, ctx.store, now);
  if (!auth.ok) throw new TongbanError(auth.code, auth.message);
  const signer = auth.node.division;
  let envelope: Envelope | undefined;
  let message: ReceivedMessage<unknown> | undefined;
  try {
    if (options.legacyKinds) envelope = legacyEnvelope(request.body, signer, ctx.self, options.legacyKinds);
    else {
      const body = parsed(parseJson(request.body, InboxBody));
      envelope = 'sealed' in body ? await openSealed(ctx.encryptionKey, body) : body;
    }
    const author = await authorOf(envelope, auth.node, view.hub()?.division, (division) => view.node(division), now);
    if (envelope.to !== ctx.self) throw new TongbanError('MESSAGE_MISADDRESSED', `The message is addressed to ${envelope.to}, not to ${ctx.self}.`);
    const registration = ctx.registry.get(envelope.kind);
    if (!registration) throw new TongbanError('MESSAGE_KIND_UNKNOWN', `${ctx.self} does not take messages of kind ${envelope.kind}.`);
    const payload = registration.schema.safeParse(envelope.payload);
    if (!payload.success) throw validationError(payload.error);
    const conversation = options.legacyKinds && registration.conversationOf ? registration.conversationOf(payload.data) : envelope.conversation;
    message = { id: envelope.id, kind: envelope.kind, conversation, from: author.division, via: author.division === signer ? 'bridge' : 'hub', payload: payload.data };
    const received = message;
    const hash = contentHash(envelope);
    const apply = () =>
      ctx.store.transaction(async (tx: StoreOps): Promise<{ answer: InboxAnswer; outcome?: HandlerOutcome | void }> => {
        const seen = await tx.inbox.get(received.from, received.id);
        if (seen) {
          if (seen.requestHash !== null && seen.requestHash !== hash) {
            throw new TongbanError('IDEMPOTENCY_KEY_REUSED', `${received.from} already sent a different message with id ${received.id}.`);
          }
          return { answer: { id: received.id, result: seen.result, replayed: true } };
        }
        const outcome = await registration.handle(tx, received, author);
        const result = outcome?.result ?? 'applied';
        await tx.inbox.add({ sender: received.from, id: received.id, kind: received.kind, conversation: received.conversation, requestHash: hash, result, receivedAt: ctx.clock().toISOString() });
        return { answer: { id: received.id, result, replayed: false }, outcome };
      });
    let done;
    try {
      done = await apply();
    } catch (error) {
      // The same message, applied meanwhile by a concurrent delivery: ours rolled back whole.
      if (!isUniqueViolation(error, ctx.store.dialect)) throw error;
      done = await apply();
    }
    done.outcome?.afterCommit?.();
    return done.answer;
  } catch (error) {
    if (isTongbanError(error) && isPermanentRefusal(error.status)) {
      const registration = envelope ? ctx.registry.get(envelope.kind) : undefined;
      if (message && registration?.refused) await registration.refused(message.from, message, error);
      else await refusal(ctx, signer, envelope, error);
    }
    throw error;
  }
}

/** The message's author: the HTTP signer, or — only when the hub relays — the node whose JWS verifies. */
async function authorOf(envelope: Envelope, signer: DirectoryEntry, hub: string | undefined, node: (division: string) => DirectoryEntry | undefined, now: Date): Promise<DirectoryEntry> {
  const bySigner = envelope.from === signer.division;
  if (!bySigner && signer.division !== hub) {
    throw new TongbanError('MESSAGE_SENDER_MISMATCH', `The message is signed by ${signer.division} but names ${envelope.from} as its author.`);
  }
  if (bySigner && !envelope.signature) return signer;
  const author = bySigner ? signer : node(envelope.from);
  if (!author) throw new TongbanError('NODE_UNKNOWN', `${envelope.from} is not in the directory.`);
  if (!envelope.signature) throw new TongbanError('SIGNATURE_INVALID', `A message relayed by the hub must carry its author's signature.`);
  if (!(await verifyEnvelope(envelope, (kid) => signingKeyFor(author, kid, now)))) {
    throw new TongbanError('SIGNATURE_INVALID', `The message is not signed by ${envelope.from}.`);
  }
  return author;
}

function legacyEnvelope(body: Uint8Array, signer: string, self: string, kinds: readonly string[]): Envelope {
  const legacy = parsed(parseJson(body, LegacyInboxBody));
  if (!kinds.includes(legacy.kind)) throw new TongbanError('VALIDATION_FAILED', `kind: expected one of ${kinds.join(', ')}`, { errors: [{ path: 'kind', message: `expected one of ${kinds.join(', ')}` }] });
  return { id: legacy.id, kind: legacy.kind, conversation: 'case:unknown', from: signer, to: self, payload: legacy.payload };
}

function parsed<T>(result: { ok: true; value: T } | { ok: false; error: TongbanError }): T {
  if (!result.ok) throw result.error;
  return result.value;
}

async function refusal(ctx: InboxContext, signer: string, envelope: Envelope | undefined, error: TongbanError): Promise<void> {
  await ctx.audit.append({
    kind: 'message.receive',
    outcome: 'refused',
    code: error.code,
    requester: signer,
    detail: {
      ...(envelope ? { message: envelope.id, kind: envelope.kind, conversation: envelope.conversation, from: envelope.from, to: envelope.to } : {}),
      reason: error.message.slice(0, 500),
    },
  });
}
