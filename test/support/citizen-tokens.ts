import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import type { NodeRuntime } from '../../src/node/index.ts';
import { hubOidc } from '../../src/tracker/index.ts';
import type { TestFederation } from './federation.ts';

export interface TokenIssuer {
  /** A hub-style JWT access token (typ at+jwt, aud urn:tongban:federation, iss <hub>/oidc). */
  citizen(idNumber: string, options?: { expiresInSeconds?: number; issuedAt?: Date }): Promise<string>;
  staff(node: string, roles: string[]): Promise<string>;
  /** Any claims, any header, any key: for refusal tests. */
  sign(claims: Record<string, unknown>, options?: { key?: CryptoKey; issuer?: string; audience?: string; typ?: string; expiresInSeconds?: number; issuedAt?: Date }): Promise<string>;
  /** A key the federation does not trust. */
  readonly strangerKey: CryptoKey;
}

/**
 * Stand-in for the hub's OpenID Connect signing key until the hub's provider (wip/op) is merged:
 * every server of the in-process federation checks citizens' tokens against this key's JWKS
 * instead of fetching `<hub>/oidc/jwks`. Only the key source changes: issuer, audience, type and
 * claims are checked exactly as for the hub's real tokens.
 */
export async function standInOidcKey(t: TestFederation): Promise<TokenIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const stranger = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const jwks = createLocalJWKSet({ keys: [{ ...(await exportJWK(publicKey)), alg: 'EdDSA', use: 'sig', kid: 'stand-in-1' }] });
  for (const server of [t.f.hub, ...t.f.nodes.values()]) {
    const runtime = server.runtime as NodeRuntime | undefined;
    if (!runtime) throw new Error(`${server.division} does not run in this process`);
    (runtime.citizenProof as { keys: unknown }).keys = jwks;
  }
  const issuer = hubOidc(t.f.hub.endpoint).issuer;
  const sign: TokenIssuer['sign'] = (claims, options = {}) => {
    const iat = Math.floor((options.issuedAt ?? new Date()).getTime() / 1000);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'EdDSA', typ: options.typ ?? 'at+jwt', kid: 'stand-in-1' })
      .setIssuer(options.issuer ?? issuer)
      .setAudience(options.audience ?? 'urn:tongban:federation')
      .setSubject(typeof claims.sub === 'string' ? claims.sub : 'p-test')
      .setIssuedAt(iat)
      .setExpirationTime(iat + (options.expiresInSeconds ?? 600))
      .sign(options.key ?? privateKey);
  };
  return {
    strangerKey: stranger.privateKey,
    sign,
    citizen: (idNumber, options = {}) => sign({ sub: `p-${idNumber}`, tongban_kind: 'citizen', tongban_id_number: idNumber, name: '测试' }, options),
    staff: (node, roles) => sign({ sub: `p-staff-${node}`, tongban_kind: 'staff', tongban_node: node, tongban_roles: roles, name: '测试' }),
  };
}
