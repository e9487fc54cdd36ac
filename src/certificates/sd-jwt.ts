import { createHash, randomBytes } from 'node:crypto';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { fromBase64url, joseAlg, signBytes, toBase64url, type SigningKey } from '../crypto/index.ts';

/** The one digest algorithm Tongban certificates use for disclosures and sd_hash. */
export const SD_ALG = 'sha-256';

export function sha256(data: string | ArrayBuffer): Uint8Array {
  return new Uint8Array(createHash('sha256').update(typeof data === 'string' ? data : new Uint8Array(data)).digest());
}

export function hasher(data: string | ArrayBuffer, alg: string): Uint8Array {
  if (alg.toLowerCase() !== SD_ALG) throw new Error(`unsupported _sd_alg ${alg}`);
  return sha256(data);
}

/** base64url SHA-256 of the text, as SD-JWT digests disclosures and presentations. */
export const digestOf = (text: string): string => toBase64url(sha256(text));

/** 128-bit random salts, whatever length the library asks for. */
export const saltGenerator = (): string => randomBytes(16).toString('base64url');

/** An SD-JWT signer callback over a Tongban key: the library hands over `header.payload`. */
export function signerFor(key: SigningKey): (data: string) => Promise<string> {
  return async (data) => toBase64url(await signBytes(key, new TextEncoder().encode(data)));
}

/** An SD-JWT VC instance that signs with `key` (issuer) and/or `holderKey` (KB-JWT). */
export function sdJwtInstance(options: { key?: SigningKey; holderKey?: SigningKey }): SDJwtVcInstance {
  return new SDJwtVcInstance({
    hasher,
    hashAlg: SD_ALG,
    saltGenerator,
    ...(options.key ? { signer: signerFor(options.key), signAlg: joseAlg(options.key) } : {}),
    ...(options.holderKey ? { kbSigner: signerFor(options.holderKey), kbSignAlg: joseAlg(options.holderKey) } : {}),
  });
}

/** JSON inside one base64url part; throws on anything else (Buffer alone would skip stray characters). */
export function decodeJson(part: string): unknown {
  if (!/^[A-Za-z0-9_-]+$/.test(part)) throw new SyntaxError('not base64url');
  return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(fromBase64url(part)));
}
