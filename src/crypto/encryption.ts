import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { CompactEncrypt, compactDecrypt } from 'jose';
import { z } from 'zod';
import { TongbanError } from '../errors/index.ts';
import { jwkThumbprintOf } from './thumbprint.ts';

/**
 * End-to-end encryption for hub-mode exchanges: JWE (RFC 7516) with ECDH-ES+A256KW over
 * X25519 and A256GCM, so the hub relays payloads it cannot read.
 */
export const EncryptionPublicJwk = z.object({ kty: z.literal('OKP'), crv: z.literal('X25519'), x: z.string().regex(/^[A-Za-z0-9_-]{43}$/) });
export type EncryptionPublicJwk = z.infer<typeof EncryptionPublicJwk>;
export const EncryptionPrivateJwk = EncryptionPublicJwk.extend({ d: z.string().regex(/^[A-Za-z0-9_-]{43}$/) });
export type EncryptionPrivateJwk = z.infer<typeof EncryptionPrivateJwk>;

export interface EncryptionKey {
  readonly kid: string;
  readonly publicJwk: EncryptionPublicJwk;
  readonly privateJwk: EncryptionPrivateJwk;
}

const generateX25519 = promisify(generateKeyPair);

export async function generateEncryptionKey(owner: string): Promise<EncryptionKey> {
  const { privateKey } = await generateX25519('x25519');
  return encryptionKeyFromJwk(owner, privateKey.export({ format: 'jwk' }));
}

export function encryptionKeyFromJwk(owner: string, jwk: unknown): EncryptionKey {
  const privateJwk = EncryptionPrivateJwk.parse(jwk);
  const publicJwk: EncryptionPublicJwk = { kty: 'OKP', crv: 'X25519', x: privateJwk.x };
  return Object.freeze({ kid: `${owner}:enc:${jwkThumbprintOf(publicJwk)}`, publicJwk, privateJwk });
}

// Importing a JWK costs more than the key agreement's bookkeeping; keep one KeyObject per JWK object.
const keyObjects = new WeakMap<object, KeyObject>();
function keyObject(jwk: EncryptionPublicJwk | EncryptionPrivateJwk, kind: 'public' | 'private'): KeyObject {
  let key = keyObjects.get(jwk);
  if (!key) {
    key = kind === 'public' ? createPublicKey({ key: jwk, format: 'jwk' }) : createPrivateKey({ key: jwk, format: 'jwk' });
    keyObjects.set(jwk, key);
  }
  return key;
}

/** Encrypts for one recipient; `aad`-like context goes in the protected header (cty, kid). */
export async function encryptFor(recipient: { kid: string; jwk: EncryptionPublicJwk }, plaintext: Uint8Array, cty: string): Promise<string> {
  const key = keyObject(recipient.jwk, 'public');
  return new CompactEncrypt(plaintext).setProtectedHeader({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: recipient.kid, cty }).encrypt(key);
}

/** Decrypts a JWE addressed to this key; DECRYPTION_FAILED for anything else. */
export async function decryptWith(key: EncryptionKey, jwe: string, cty: string): Promise<Uint8Array> {
  try {
    const { plaintext, protectedHeader } = await compactDecrypt(jwe, keyObject(key.privateJwk, 'private'), {
      keyManagementAlgorithms: ['ECDH-ES+A256KW'],
      contentEncryptionAlgorithms: ['A256GCM'],
    });
    if (protectedHeader.kid !== key.kid || protectedHeader.cty !== cty) throw new Error('header mismatch');
    return plaintext;
  } catch (error) {
    throw new TongbanError('DECRYPTION_FAILED', 'The encrypted payload cannot be opened with this node’s key.', { cause: error });
  }
}
