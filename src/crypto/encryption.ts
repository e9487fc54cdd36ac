import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPair,
  generateKeyPairSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { promisify } from 'node:util';
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
  // Encoded by the generation itself, never exported from a KeyObject afterwards (ephemeralX25519 says why).
  const { privateKey } = await generateX25519('x25519', { publicKeyEncoding: { format: 'jwk' }, privateKeyEncoding: { format: 'jwk' } });
  return encryptionKeyFromJwk(owner, privateKey);
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

/** The one key management and content encryption algorithm pair Tongban uses. */
const ALG = 'ECDH-ES+A256KW';
const ENC = 'A256GCM';
/** RFC 3394's default initial value, which AES key unwrap checks. */
const KW_IV = Buffer.from('A6A6A6A6A6A6A6A6', 'hex');
const B64URL_32 = /^[A-Za-z0-9_-]{43}$/;
const B64URL = /^[A-Za-z0-9_-]*$/;

/**
 * The key-encryption key of ECDH-ES+A256KW (RFC 7518 §4.6.2): the Concat KDF of NIST SP 800-56A
 * over the X25519 shared secret, one SHA-256 round for 256 bits. `apu`/`apv` as in the header (base64url).
 */
function concatKdf(sharedSecret: Buffer, apu: Buffer, apv: Buffer): Buffer {
  const lengthPrefixed = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    return [length, bytes];
  };
  const keyBits = Buffer.alloc(4);
  keyBits.writeUInt32BE(256);
  return createHash('sha256')
    .update(Buffer.from([0, 0, 0, 1]))
    .update(sharedSecret)
    .update(Buffer.concat([...lengthPrefixed(Buffer.from(ALG)), ...lengthPrefixed(apu), ...lengthPrefixed(apv), keyBits]))
    .digest();
}

/** DER of an X25519 SubjectPublicKeyInfo (RFC 8410) up to the 32 bytes of the key. */
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

/**
 * A fresh X25519 key pair: the private key, and the public key's `x` (base64url). The public key
 * is encoded by the key generation itself, never exported from its KeyObject afterwards: on
 * Node 20, a key-generation job collected by the garbage collector while a key of its pair is
 * being exported (`publicKey.export()`, which holds the pair's mutex) locks that mutex again and
 * deadlocks the main thread for good. The hub-mode bench hit it about once a minute under load
 * (docs/benchmarks.md); `encryption.test.ts` runs the loop that reproduced it.
 */
function ephemeralX25519(): { privateKey: KeyObject; x: string } {
  // Node encodes only the public key when only its encoding is given (the typings want both).
  const { privateKey, publicKey } = generateKeyPairSync('x25519', { publicKeyEncoding: { type: 'spki', format: 'der' } } as never) as unknown as { privateKey: KeyObject; publicKey: Buffer };
  if (publicKey.length !== X25519_SPKI_PREFIX.length + 32 || !publicKey.subarray(0, X25519_SPKI_PREFIX.length).equals(X25519_SPKI_PREFIX)) {
    throw new Error('unexpected X25519 public key encoding');
  }
  return { privateKey, x: publicKey.subarray(X25519_SPKI_PREFIX.length).toString('base64url') };
}

/**
 * Encrypts for one recipient: a compact JWE (RFC 7516) with ECDH-ES+A256KW over X25519 (RFC 8037)
 * and A256GCM; `aad`-like context goes in the protected header (cty, kid). Written on node:crypto's
 * one-shot primitives rather than a WebCrypto-based library: the same bytes on the wire (test:
 * jose decrypts them, and they decrypt jose's), at a fraction of the CPU (docs/benchmarks.md).
 */
export async function encryptFor(recipient: { kid: string; jwk: EncryptionPublicJwk }, plaintext: Uint8Array, cty: string): Promise<string> {
  const recipientKey = keyObject(recipient.jwk, 'public');
  // A fresh ephemeral key per message (ECDH-ES): no two messages share a key-encryption key.
  const ephemeral = ephemeralX25519();
  const header = { alg: ALG, enc: ENC, kid: recipient.kid, cty, epk: { x: ephemeral.x, crv: 'X25519', kty: 'OKP' } };
  const encodedHeader = Buffer.from(JSON.stringify(header)).toString('base64url');
  const kek = concatKdf(diffieHellman({ privateKey: ephemeral.privateKey, publicKey: recipientKey }), Buffer.alloc(0), Buffer.alloc(0));
  const cek = randomBytes(32);
  const wrap = createCipheriv('id-aes256-wrap', kek, KW_IV);
  const encryptedKey = Buffer.concat([wrap.update(cek), wrap.final()]);
  const iv = randomBytes(12);
  const gcm = createCipheriv('aes-256-gcm', cek, iv);
  gcm.setAAD(Buffer.from(encodedHeader, 'ascii'));
  const ciphertext = Buffer.concat([gcm.update(plaintext), gcm.final()]);
  const tag = gcm.getAuthTag();
  return [encodedHeader, encryptedKey.toString('base64url'), iv.toString('base64url'), ciphertext.toString('base64url'), tag.toString('base64url')].join('.');
}

const JweHeader = z.object({
  alg: z.literal(ALG),
  enc: z.literal(ENC),
  kid: z.string(),
  cty: z.string(),
  epk: z.object({ kty: z.literal('OKP'), crv: z.literal('X25519'), x: z.string().regex(B64URL_32) }),
  apu: z.string().regex(B64URL).optional(),
  apv: z.string().regex(B64URL).optional(),
});

/** Decrypts a compact JWE addressed to this key; DECRYPTION_FAILED for anything else. */
export async function decryptWith(key: EncryptionKey, jwe: string, cty: string): Promise<Uint8Array> {
  try {
    const parts = jwe.split('.');
    if (parts.length !== 5 || !parts.every((part) => B64URL.test(part))) throw new Error('not a compact JWE');
    const [encodedHeader, encodedKey, encodedIv, encodedCiphertext, encodedTag] = parts as [string, string, string, string, string];
    const raw = JSON.parse(Buffer.from(encodedHeader, 'base64url').toString('utf8')) as Record<string, unknown>;
    // Only these algorithms, no compression and no critical extensions (RFC 7516 §4.1.13: a `crit` this code does not understand is a refusal).
    if (raw === null || typeof raw !== 'object' || 'crit' in raw || 'zip' in raw) throw new Error('unsupported header');
    const header = JweHeader.parse(raw);
    if (header.kid !== key.kid || header.cty !== cty) throw new Error('header mismatch');
    const iv = Buffer.from(encodedIv, 'base64url');
    const tag = Buffer.from(encodedTag, 'base64url');
    const encryptedKey = Buffer.from(encodedKey, 'base64url');
    if (iv.length !== 12 || tag.length !== 16 || encryptedKey.length !== 40) throw new Error('malformed JWE');
    const senderKey = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: header.epk.x }, format: 'jwk' });
    // OpenSSL refuses an all-zero shared secret (a small-order ephemeral key).
    const shared = diffieHellman({ privateKey: keyObject(key.privateJwk, 'private'), publicKey: senderKey });
    const kek = concatKdf(shared, Buffer.from(header.apu ?? '', 'base64url'), Buffer.from(header.apv ?? '', 'base64url'));
    const unwrap = createDecipheriv('id-aes256-wrap', kek, KW_IV);
    const cek = Buffer.concat([unwrap.update(encryptedKey), unwrap.final()]);
    const gcm = createDecipheriv('aes-256-gcm', cek, iv, { authTagLength: 16 });
    gcm.setAAD(Buffer.from(encodedHeader, 'ascii'));
    gcm.setAuthTag(tag);
    const plaintext = Buffer.concat([gcm.update(Buffer.from(encodedCiphertext, 'base64url')), gcm.final()]);
    return new Uint8Array(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength);
  } catch (error) {
    throw new TongbanError('DECRYPTION_FAILED', 'The encrypted payload cannot be opened with this node’s key.', { cause: error });
  }
}
