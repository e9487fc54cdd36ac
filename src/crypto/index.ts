export {
  generateSigningKey,
  signingKeyFromJwk,
  signBytes,
  verifyBytes,
  jwkThumbprint,
  algorithmOf,
  sm2PublicHex,
  signingAlgorithms,
  SM2_DEFAULT_ID,
  PublicJwk,
  PrivateJwk,
  type SigningAlgorithm,
  type SigningKey,
} from './keys.ts';
export { toBase64url, fromBase64url } from './base64url.ts';
