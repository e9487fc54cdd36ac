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
  type SigningKeySource,
} from './keys.ts';
export { toBase64url, fromBase64url } from './base64url.ts';
export { SM2_SPKI_PREFIX, sm2PublicKeyDer, sm2PublicKeyPem, rawToDer, derToRaw } from './sm2-der.ts';
export { canonicalJson, signJws, verifyJws, joseAlg, type JwsHeader, type JwsResult } from './jws.ts';
export { contentDigest, verifyContentDigest } from './content-digest.ts';
export {
  signMessage,
  verifyMessage,
  signatureBase,
  type SignedMessage,
  type Component,
  type SignatureParams,
  type SignatureFailure,
  type VerifyResult,
} from './http-signature.ts';
export {
  generateEncryptionKey,
  encryptionKeyFromJwk,
  encryptFor,
  decryptWith,
  EncryptionPublicJwk,
  EncryptionPrivateJwk,
  type EncryptionKey,
} from './encryption.ts';
