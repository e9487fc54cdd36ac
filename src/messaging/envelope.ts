import { createHash } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson, decryptWith, encryptFor, signJws, verifyJws, type EncryptionKey, type EncryptionPublicJwk, type PublicJwk, type SigningKey } from '../crypto/index.ts';
import { TongbanError } from '../errors/index.ts';

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
/** The content type of a sealed message: the JSON of the author-signed envelope. */
export const SEALED_MESSAGE_CTY = 'tongban-message+json';

/**
 * A message through the hub: the clear metadata the hub routes and logs by, and `sealed`, a JWE
 * for the destination's encryption key of the whole envelope signed by its author (JWS). The hub
 * can neither read the payload nor alter anything the destination will accept.
 */
export const SealedEnvelope = UnsignedEnvelope.omit({ payload: true })
  .extend({ sealed: z.string().min(10).max(2_000_000) })
  .strict();
export type SealedEnvelope = z.infer<typeof SealedEnvelope>;

/** What an inbox takes: a message in clear (sent directly) or sealed (through the hub). */
export const InboxBody = z.union([Envelope, SealedEnvelope]);

function signedBytes(envelope: UnsignedEnvelope): Uint8Array {
  const { id, kind, conversation, from, to, payload } = envelope;
  return new TextEncoder().encode(canonicalJson({ id, kind, conversation, from, to, payload }));
}

/** The envelope with its author's detached JWS. */
export async function signEnvelope(key: SigningKey, envelope: UnsignedEnvelope): Promise<Envelope> {
  const signature = await signJws(key, signedBytes(envelope), { typ: MESSAGE_JWS_TYP, detached: true });
  return { ...envelope, signature };
}

/** Signs the envelope as its author and seals it for the destination's encryption key. */
export async function sealEnvelope(key: SigningKey, envelope: UnsignedEnvelope, recipient: { kid: string; jwk: EncryptionPublicJwk }): Promise<SealedEnvelope> {
  const signed = await signEnvelope(key, envelope);
  const { id, kind, conversation, from, to } = envelope;
  return { id, kind, conversation, from, to, sealed: await encryptFor(recipient, new TextEncoder().encode(JSON.stringify(signed)), SEALED_MESSAGE_CTY) };
}

/**
 * Opens a sealed message with this node's encryption key: the envelope inside, which must carry
 * the same metadata as the outside (what the hub routed and logged). Its signature is checked by
 * the caller, like that of any message passed on by the hub.
 */
export async function openSealed(key: EncryptionKey, sealed: SealedEnvelope): Promise<Envelope> {
  const bytes = await decryptWith(key, sealed.sealed, SEALED_MESSAGE_CTY);
  let inner: Envelope;
  try {
    inner = Envelope.parse(JSON.parse(new TextDecoder().decode(bytes)));
  } catch {
    throw new TongbanError('SIGNATURE_INVALID', 'The sealed message is not a signed message envelope.');
  }
  for (const field of ['id', 'kind', 'conversation', 'from', 'to'] as const) {
    if (inner[field] !== sealed[field]) throw new TongbanError('SIGNATURE_INVALID', `The sealed message's ${field} is not the one outside it.`);
  }
  return inner;
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
