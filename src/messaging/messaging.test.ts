import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { generateEncryptionKey, generateSigningKey } from '../crypto/index.ts';
import { contentHash, Envelope, openSealed, sealEnvelope, signEnvelope, verifyEnvelope, type UnsignedEnvelope } from './envelope.ts';
import { isPermanentRefusal, routeOf } from './outbox-worker.ts';
import { MessageRegistry } from './registry.ts';

const envelope: UnsignedEnvelope = {
  id: '6f0c1f7e-0000-4000-8000-000000000001',
  kind: 'agreement.counter',
  conversation: 'agreement:AGR-522732-330523-001',
  from: '522732',
  to: '330523',
  payload: { version: 2, changes: [{ path: 'items.0.timeLimit', from: 20, to: 15 }] },
};

describe('message envelope', () => {
  it('is strict: unknown members, a kind or conversation not of the form <domain>.<name> / <domain>:<id>, a bad division are refused', () => {
    expect(Envelope.safeParse(envelope).success).toBe(true);
    expect(Envelope.safeParse({ ...envelope, sender: '522732' }).success).toBe(false);
    for (const kind of ['counter', 'Agreement.counter', 'agreement.', 'a'.repeat(39) + '.b']) expect(Envelope.safeParse({ ...envelope, kind }).success, kind).toBe(false);
    for (const conversation of ['AGR-1', 'agreement:', 'agreement:a b', `x:${'a'.repeat(101)}`]) expect(Envelope.safeParse({ ...envelope, conversation }).success, conversation).toBe(false);
    expect(Envelope.safeParse({ ...envelope, from: '52273' }).success).toBe(false);
    expect(Envelope.safeParse({ ...envelope, to: undefined }).success).toBe(false);
  });

  it.each(['Ed25519', 'SM2'] as const)('%s: the author’s JWS verifies; another payload, destination, author, conversation or key does not', async (algorithm) => {
    const key = await generateSigningKey(algorithm, '522732');
    const other = await generateSigningKey(algorithm, '310118');
    const signed = await signEnvelope(key, envelope);
    const keyOf = (kid: string) => (kid === key.kid ? key.publicJwk : null);
    expect(await verifyEnvelope(signed, keyOf)).toBe(true);
    // A round trip through JSON (as on the wire) keeps it valid: the signature is over canonical JSON.
    expect(await verifyEnvelope(Envelope.parse(JSON.parse(JSON.stringify(signed))), keyOf)).toBe(true);
    expect(await verifyEnvelope({ ...signed, payload: { version: 3 } }, keyOf)).toBe(false);
    expect(await verifyEnvelope({ ...signed, to: '310118' }, keyOf)).toBe(false);
    expect(await verifyEnvelope({ ...signed, from: '310118' }, keyOf)).toBe(false);
    expect(await verifyEnvelope({ ...signed, conversation: 'agreement:AGR-OTHER' }, keyOf)).toBe(false);
    expect(await verifyEnvelope(signed, (kid) => (kid === key.kid ? other.publicJwk : null))).toBe(false);
    expect(await verifyEnvelope(await signEnvelope(other, envelope), keyOf)).toBe(false);
    const bare = { ...signed };
    delete bare.signature;
    expect(await verifyEnvelope(bare, keyOf)).toBe(false);
  });

  it('sealed for the destination: only its key opens it, the signed envelope inside, and only with the metadata outside', async () => {
    const key = await generateSigningKey('Ed25519', '522732');
    const anji = await generateEncryptionKey('330523');
    const qingpu = await generateEncryptionKey('310118');
    const sealed = await sealEnvelope(key, envelope, { kid: anji.kid, jwk: anji.publicJwk });
    expect(sealed).not.toHaveProperty('payload');
    expect(sealed.sealed).not.toContain('timeLimit');
    const inner = await openSealed(anji, sealed);
    expect(inner).toMatchObject(envelope);
    expect(await verifyEnvelope(inner, (kid) => (kid === key.kid ? key.publicJwk : null))).toBe(true);
    await expect(openSealed(qingpu, sealed)).rejects.toMatchObject({ code: 'DECRYPTION_FAILED' });
    await expect(openSealed(anji, { ...sealed, kind: 'agreement.accept' })).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
    await expect(openSealed(anji, { ...sealed, to: '310118' })).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
  });

  it('the content hash names id, kind and payload — not member order, route, conversation label or signature', async () => {
    const key = await generateSigningKey('Ed25519', '522732');
    const hash = contentHash(envelope);
    const relabelled = { ...(await signEnvelope(key, envelope)), conversation: 'case:unknown' };
    expect(contentHash(relabelled)).toBe(hash);
    expect(contentHash({ payload: { changes: envelope.payload && (envelope.payload as { changes: unknown }).changes, version: 2 }, kind: envelope.kind, id: envelope.id })).toBe(hash);
    expect(contentHash({ ...envelope, payload: { version: 3 } })).not.toBe(hash);
    expect(contentHash({ ...envelope, id: 'other' })).not.toBe(hash);
    expect(contentHash({ ...envelope, kind: 'agreement.accept' })).not.toBe(hash);
  });
});

describe('message registry', () => {
  it('holds one handler per kind; a malformed or repeated kind is a programming error', () => {
    const registry = new MessageRegistry();
    const handler = async () => undefined;
    registry.register('agreement.counter', z.object({ version: z.number() }), handler);
    expect(registry.get('agreement.counter')?.schema.safeParse({ version: 2 }).success).toBe(true);
    expect(registry.get('agreement.counter')?.schema.safeParse({ version: 'two' }).success).toBe(false);
    expect(registry.get('agreement.accept')).toBeUndefined();
    expect(() => registry.register('agreement.counter', z.object({}), handler)).toThrow(/twice/);
    expect(() => registry.register('counter', z.object({}), handler)).toThrow(/not a message kind/);
    registry.register('agreement.accept', z.object({}), handler);
    expect(registry.kinds()).toEqual(['agreement.accept', 'agreement.counter']);
  });
});

describe('delivery', () => {
  const facts = { hub: '100000', viaHub: ['310118'], topologyOf: (id: string) => (id === 'AGR-HUB' ? ('hub' as const) : id === 'AGR-BRIDGE' ? ('bridge' as const) : undefined) };
  it('routes through the hub when asked, when config says the destination is unreachable, or for a hub agreement’s conversation; never to the hub through itself', () => {
    const m = (destination: string, conversation: string | null, via: 'bridge' | 'hub' | null = null) => routeOf({ destination, conversation, via }, facts);
    expect(m('330523', 'case:C-522732-1')).toBe('bridge');
    expect(m('330523', 'case:C-522732-1', 'hub')).toBe('hub');
    expect(m('310118', 'case:C-522732-1')).toBe('hub');
    expect(m('310118', 'case:C-522732-1', 'bridge')).toBe('bridge');
    expect(m('330523', 'agreement:AGR-HUB')).toBe('hub');
    expect(m('330523', 'agreement:AGR-BRIDGE')).toBe('bridge');
    expect(m('330523', 'agreement:AGR-UNKNOWN')).toBe('bridge');
    expect(m('100000', 'agreement:AGR-HUB', 'hub')).toBe('bridge');
    expect(m('330523', null)).toBe('bridge');
  });

  it('gives up on a 4xx except 408, 425 and 429; retries those, 5xx and no answer', () => {
    expect([400, 401, 403, 404, 409, 422].map(isPermanentRefusal)).toEqual(Array(6).fill(true));
    expect([0, 200, 408, 425, 429, 500, 502, 503].map(isPermanentRefusal)).toEqual(Array(8).fill(false));
  });
});
