import { createPrivateKey, createPublicKey, generateKeyPair as generateNodeKeyPair, sign, verify, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { Piscina } from 'piscina';
import { z } from 'zod';
import { base64urlToHex, hexToBase64url } from './base64url.ts';
import { jwkThumbprintOf } from './thumbprint.ts';

/** Signature algorithms a node key can use: Ed25519 (default) or SM2 with SM3 (国密). */
export const signingAlgorithms = ['Ed25519', 'SM2'] as const;
export type SigningAlgorithm = (typeof signingAlgorithms)[number];

/**
 * The distinguishing ID government SM2 systems expect (GM/T 0009). Node's own SM2 support
 * signs with an empty ID or as ECDSA, which those systems reject, so SM2 goes through
 * sm-crypto-v2 with this ID.
 */
export const SM2_DEFAULT_ID = '1234567812345678';

export const PublicJwk = z.union([
  z.object({ kty: z.literal('OKP'), crv: z.literal('Ed25519'), x: z.string().regex(/^[A-Za-z0-9_-]{43}$/) }),
  z.object({
    kty: z.literal('EC'),
    crv: z.literal('SM2'),
    x: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
    y: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  }),
]);
export type PublicJwk = z.infer<typeof PublicJwk>;

export const PrivateJwk = z.union([
  z.object({ kty: z.literal('OKP'), crv: z.literal('Ed25519'), x: z.string(), d: z.string() }),
  z.object({ kty: z.literal('EC'), crv: z.literal('SM2'), x: z.string(), y: z.string(), d: z.string() }),
]);
export type PrivateJwk = z.infer<typeof PrivateJwk>;

/** A node's signing key. The private half stays in its key file and never enters the database. */
export interface SigningKey {
  readonly kid: string;
  readonly algorithm: SigningAlgorithm;
  readonly publicJwk: PublicJwk;
  readonly privateJwk: PrivateJwk;
}

/**
 * Where a signer reads the node's signing key, at each use: an approved key rotation replaces
 * the key while the node runs, so nothing may keep a copy of it.
 */
export interface SigningKeySource {
  current(): SigningKey;
}

const generateEd25519 = promisify(generateNodeKeyPair);

/** A new key pair; `kid` is `<owner>:<RFC 7638 thumbprint>`, stable for the same public key. */
export async function generateSigningKey(algorithm: SigningAlgorithm, owner: string): Promise<SigningKey> {
  if (algorithm === 'Ed25519') {
    // Encoded by the generation itself: exporting from the KeyObject afterwards can deadlock Node 20 (src/crypto/encryption.ts, ephemeralX25519).
    const { privateKey: jwk } = (await generateEd25519('ed25519', { publicKeyEncoding: { format: 'jwk' }, privateKeyEncoding: { format: 'jwk' } })) as unknown as { privateKey: { x: string; d: string } };
    const privateJwk = PrivateJwk.parse({ kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d });
    return withKid(owner, algorithm, privateJwk);
  }
  // sm-crypto-v2 (and its big-integer curve code) is loaded only when an SM2 key is made here;
  // signing and verifying with SM2 happen on the worker threads.
  const { sm2 } = await import('sm-crypto-v2');
  const pair = sm2.generateKeyPairHex();
  // publicKey is 04 || x || y in hex.
  const privateJwk = PrivateJwk.parse({
    kty: 'EC',
    crv: 'SM2',
    x: hexToBase64url(pair.publicKey.slice(2, 66)),
    y: hexToBase64url(pair.publicKey.slice(66, 130)),
    d: hexToBase64url(pair.privateKey.padStart(64, '0')),
  });
  return withKid(owner, algorithm, privateJwk);
}

/** Rebuilds a signing key from its stored private JWK (a key file). */
export function signingKeyFromJwk(owner: string, jwk: unknown): SigningKey {
  const privateJwk = PrivateJwk.parse(jwk);
  return withKid(owner, privateJwk.kty === 'OKP' ? 'Ed25519' : 'SM2', privateJwk);
}

function withKid(owner: string, algorithm: SigningAlgorithm, privateJwk: PrivateJwk): SigningKey {
  const publicJwk = publicPart(privateJwk);
  return Object.freeze({ kid: `${owner}:${jwkThumbprint(publicJwk)}`, algorithm, publicJwk, privateJwk });
}

function publicPart(jwk: PrivateJwk): PublicJwk {
  return jwk.kty === 'OKP' ? { kty: 'OKP', crv: 'Ed25519', x: jwk.x } : { kty: 'EC', crv: 'SM2', x: jwk.x, y: jwk.y };
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url) over the required members in order. */
export function jwkThumbprint(jwk: PublicJwk): string {
  return jwkThumbprintOf(jwk);
}

export function algorithmOf(jwk: PublicJwk): SigningAlgorithm {
  return jwk.kty === 'OKP' ? 'Ed25519' : 'SM2';
}

// Parsing a JWK into a KeyObject costs more than the signature itself; keep one per JWK.
const nodeKeyCache = new WeakMap<object, KeyObject>();
function cachedKey<J extends object>(jwk: J, create: (jwk: J) => KeyObject): KeyObject {
  let key = nodeKeyCache.get(jwk);
  if (!key) {
    key = create(jwk);
    nodeKeyCache.set(jwk, key);
  }
  return key;
}
const ed25519Private = (jwk: PrivateJwk & { kty: 'OKP' }) => cachedKey(jwk, (k) => createPrivateKey({ key: k, format: 'jwk' }));
const ed25519Public = (jwk: PublicJwk & { kty: 'OKP' }) => cachedKey(jwk, (k) => createPublicKey({ key: k, format: 'jwk' }));

/**
 * Signs `data`. Ed25519 runs synchronously on the calling thread: one signature costs
 * ≈ 50 µs and a verification ≈ 130 µs of CPU, less than handing the job to libuv's thread pool
 * and back, which under load (many jobs in flight on two cores) cost several times the
 * operation itself (docs/benchmarks.md, lever 7). SM2 signatures are raw r || s (64 bytes) over SM3(Z || data), Z from the
 * standard distinguishing ID.
 */
export async function signBytes(key: SigningKey, data: Uint8Array): Promise<Uint8Array> {
  const jwk = key.privateJwk;
  if (jwk.kty === 'OKP') return new Uint8Array(sign(null, data, ed25519Private(jwk)));
  const hex = (await (await sm2Pool()).run({ op: 'sign', data, privateHex: base64urlToHex(jwk.d), publicHex: sm2PublicHex(jwk), userId: SM2_DEFAULT_ID })) as string;
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** Verifies a signature made by `signBytes`; false (never a throw) for any mismatch. */
export async function verifyBytes(jwk: PublicJwk, data: Uint8Array, signature: Uint8Array): Promise<boolean> {
  try {
    if (jwk.kty === 'OKP') {
      if (signature.length !== 64) return false;
      return verify(null, data, ed25519Public(jwk), signature);
    }
    if (signature.length !== 64) return false;
    return (await (await sm2Pool()).run({
      op: 'verify',
      data,
      signatureHex: Buffer.from(signature).toString('hex'),
      publicHex: sm2PublicHex(jwk),
      userId: SM2_DEFAULT_ID,
    })) as boolean;
  } catch {
    return false;
  }
}

// SM2 is pure JavaScript (sm-crypto-v2): it runs on worker threads, off the event loop. The pool
// (and piscina itself) is loaded at the first SM2 signature or verification: a node whose
// federation has no SM2 party never starts it.
let pool: Promise<Piscina> | undefined;
async function sm2Pool(): Promise<Piscina> {
  pool ??= import('piscina').then(({ Piscina }) => new Piscina({ filename: new URL('./sm2-worker.mjs', import.meta.url).href, minThreads: 0, maxThreads: 2, idleTimeout: 2000 }));
  return await pool;
}

export function sm2PublicHex(jwk: { x: string; y: string }): string {
  return '04' + base64urlToHex(jwk.x) + base64urlToHex(jwk.y);
}
