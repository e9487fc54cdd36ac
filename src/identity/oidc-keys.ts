import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { calculateJwkThumbprint } from 'jose';
import type { NodeConfig } from '../config/index.ts';
import { TongbanError } from '../errors/index.ts';

/** The OIDC signing key (EdDSA over Ed25519) as oidc-provider's JWKS takes it: private, with kid, alg and use. */
export interface OidcSigningJwk {
  readonly kty: 'OKP';
  readonly crv: 'Ed25519';
  readonly x: string;
  readonly d: string;
  readonly kid: string;
  readonly alg: 'EdDSA';
  readonly use: 'sig';
}

export interface OidcKeys {
  readonly signing: OidcSigningJwk;
  /** Secrets that sign the provider's cookies (newest first): kept, so sessions outlive a restart. */
  readonly cookieKeys: readonly string[];
}

/** The hub's OIDC key files, next to its signing key (the key folder, 0600 each). */
export function oidcKeyFiles(config: NodeConfig): { signing: string; cookies: string } {
  const folder = dirname(config.keyFile);
  return { signing: join(folder, 'oidc-signing-key.json'), cookies: join(folder, 'oidc-cookie-keys') };
}

/**
 * The hub's OpenID Connect keys: a separate Ed25519 signing key (tokens, never directory
 * snapshots or messages) and the cookie-signing secrets. Each is created when missing (at
 * `tongban init` of a hub, or at the first start of a hub set up before issue 12) and read as
 * stored afterwards.
 */
export async function loadOrCreateOidcKeys(config: NodeConfig): Promise<OidcKeys> {
  const files = oidcKeyFiles(config);
  if (!existsSync(files.signing)) {
    // Encoded by the generation itself: exporting from the KeyObject afterwards can deadlock Node 20 (src/crypto/encryption.ts, ephemeralX25519).
    const { privateKey: jwk } = generateKeyPairSync('ed25519', { publicKeyEncoding: { format: 'jwk' }, privateKeyEncoding: { format: 'jwk' } }) as unknown as { privateKey: { kty: 'OKP'; crv: 'Ed25519'; x: string; d: string } };
    const kid = await calculateJwkThumbprint({ kty: jwk.kty, crv: jwk.crv, x: jwk.x });
    writeSecret(files.signing, JSON.stringify({ privateJwk: { kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d, kid, alg: 'EdDSA', use: 'sig' } }, null, 2) + '\n');
  }
  if (!existsSync(files.cookies)) writeSecret(files.cookies, randomBytes(32).toString('base64url') + '\n');
  let signing: OidcSigningJwk;
  try {
    const raw = (JSON.parse(readFileSync(files.signing, 'utf8')) as { privateJwk?: Partial<OidcSigningJwk> }).privateJwk;
    if (!raw || raw.kty !== 'OKP' || raw.crv !== 'Ed25519' || typeof raw.x !== 'string' || typeof raw.d !== 'string' || typeof raw.kid !== 'string') throw new Error('not an Ed25519 key');
    signing = { kty: 'OKP', crv: 'Ed25519', x: raw.x, d: raw.d, kid: raw.kid, alg: 'EdDSA', use: 'sig' };
  } catch {
    throw new TongbanError('CONFIG_INVALID', `The OIDC signing key file ${files.signing} does not hold an Ed25519 key.`);
  }
  const cookieKeys = readFileSync(files.cookies, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length >= 32);
  if (cookieKeys.length === 0) throw new TongbanError('CONFIG_INVALID', `The OIDC cookie key file ${files.cookies} holds no key (one base64url secret of 32 bytes a line).`);
  return { signing, cookieKeys };
}

function writeSecret(file: string, content: string): void {
  const temporary = `${file}.tmp`;
  rmSync(temporary, { force: true });
  writeFileSync(temporary, content, { mode: 0o600 });
  renameSync(temporary, file);
}
