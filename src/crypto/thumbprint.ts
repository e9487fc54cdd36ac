import { createHash } from 'node:crypto';

/** RFC 7638 thumbprint over the required members of an OKP or EC public key, in lexical order. */
export function jwkThumbprintOf(jwk: { kty: string; crv: string; x: string; y?: string }): string {
  const canonical =
    jwk.y === undefined
      ? `{"crv":"${jwk.crv}","kty":"${jwk.kty}","x":"${jwk.x}"}`
      : `{"crv":"${jwk.crv}","kty":"${jwk.kty}","x":"${jwk.x}","y":"${jwk.y}"}`;
  return createHash('sha256').update(canonical).digest('base64url');
}
