import { createHash } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson, signJws, verifyJws, type PublicJwk, type SigningKey } from '../crypto/index.ts';

const Division = z.string().regex(/^\d{6}$/, 'a division code has six digits');

/** `<domain>.<name>`: lower-case words, e.g. `case.snapshot`, `agreement.counter`. */
export const MessageKind = z
  .string()
  .max(40)
  .regex(/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$/, 'a message kind is <domain>.<name> in lower case');

/** `<domain>:<id>`, e.g. `case:C-522732-…`, `agreement:AGR-…`: messages of one conversation to one node arrive in order. */
export const Conversation = z
  .string()
  .max(120)
  .regex(/^[a-z][a-z0-9-]*:[A-Za-z0-9._:-]{1,100}$/, 'a conversation is <domain>:<id>');

/** The part of a message its author signs (RFC 8785 canonical JSON). */
export const UnsignedEnvelope = z
  .object({
    id: z.string().min(1).max(80),
    kind: MessageKind,
    conversation: Conversation,
    /** The author: must be the node whose signature the receiver verified (never taken on the body's word). */
    from: Division,
    /** The destination: a message signed for one node is refused by any other (a relay cannot redirect it). */
    to: Division,
    payload: z.unknown(),
  })
  .strict();
export type UnsignedEnvelope = z.infer<typeof UnsignedEnvelope>;

/**
 * A node-to-node message as it travels. `signature` (a detached JWS of `from` over the canonical
 * unsigned envelope) is required when the message comes through the hub, whose own HTTP signature
 * then proves only the last hop; sent directly, the HTTP signature of `from` proves the author.
 */
export const Envelope = UnsignedEnvelope.extend({ signature: z.string().min(10).max(4000).optional() }).strict();
export type Envelope = z.infer<typeof Envelope>;

export const MESSAGE_JWS_TYP = 'tongban-message+jws';

function signedBytes(envelope: UnsignedEnvelope): Uint8Array {
  const { id, kind, conversation, from, to, payload } = envelope;
  return new TextEncoder().encode(canonicalJson({ id, kind, conversation, from, to, payload }));
}

/** The envelope with its author's detached JWS. */
export async function signEnvelope(key: SigningKey, envelope: UnsignedEnvelope): Promise<Envelope> {
  const signature = await signJws(key, signedBytes(envelope), { typ: MESSAGE_JWS_TYP, detached: true });
  return { ...envelope, signature };
}

/** Whether the envelope carries a valid signature by the key `resolveKey` gives for its kid. */
export async function verifyEnvelope(envelope: Envelope, resolveKey: (kid: string) => PublicJwk | null): Promise<boolean> {
  if (!envelope.signature) return false;
  const result = await verifyJws(envelope.signature, resolveKey, signedBytes(envelope));
  return result.ok && result.header.typ === MESSAGE_JWS_TYP;
}

/**
 * What identifies a message's content for duplicate detection: its id, kind and payload (not the
 * route, the conversation label or the signature, so a copy through the hub or the case inbox is
 * recognised as the same message).
 */
export function contentHash(message: { id: string; kind: string; payload: unknown }): string {
  return createHash('sha256').update(canonicalJson({ id: message.id, kind: message.kind, payload: message.payload ?? null })).digest('hex');
}

/** The domain of a conversation (`case` of `case:C-…`): audit entries of deliveries are named after it. */
export function domainOf(conversation: string | null): string {
  return conversation?.split(':', 1)[0] || 'message';
}
