import { createPublicKey } from 'node:crypto';
import { sm2PublicHex } from './keys.ts';

/**
 * SubjectPublicKeyInfo header for an uncompressed point on the SM2 curve
 * (id-ecPublicKey with the SM2 curve OID 1.2.156.10197.1.301); the point 04 || x || y follows it.
 * Node cannot import an SM2 JWK, so OpenSSL and other tools get the key in this form.
 */
export const SM2_SPKI_PREFIX: Uint8Array = new Uint8Array(Buffer.from('3059301306072a8648ce3d020106082a811ccf5501822d034200', 'hex'));

/** An SM2 public JWK as DER SubjectPublicKeyInfo. */
export function sm2PublicKeyDer(jwk: { x: string; y: string }): Uint8Array {
  return new Uint8Array(Buffer.concat([SM2_SPKI_PREFIX, Buffer.from(sm2PublicHex(jwk), 'hex')]));
}

/** An SM2 public JWK as a PEM public key (`-----BEGIN PUBLIC KEY-----`), e.g. for `openssl pkeyutl -pubin`. */
export function sm2PublicKeyPem(jwk: { x: string; y: string }): string {
  return createPublicKey({ key: Buffer.from(sm2PublicKeyDer(jwk)), format: 'der', type: 'spki' }).export({ format: 'pem', type: 'spki' }).toString();
}

/** A raw r || s SM2 signature (64 bytes, as Tongban and JOSE carry it) as the DER SEQUENCE OpenSSL reads. */
export function rawToDer(raw: Uint8Array): Uint8Array {
  if (raw.length !== 64) throw new TypeError('an SM2 raw signature has 64 bytes');
  const int = (bytes: Uint8Array) => {
    let b = Buffer.from(bytes);
    while (b.length > 1 && b[0] === 0 && b[1]! < 0x80) b = b.subarray(1);
    if (b[0]! >= 0x80) b = Buffer.concat([Buffer.from([0]), b]);
    return Buffer.concat([Buffer.from([0x02, b.length]), b]);
  };
  const body = Buffer.concat([int(raw.subarray(0, 32)), int(raw.subarray(32))]);
  return new Uint8Array(Buffer.concat([Buffer.from([0x30, body.length]), body]));
}

/** A DER SM2 signature (as OpenSSL writes it) as raw r || s. */
export function derToRaw(der: Uint8Array): Uint8Array {
  const bytes = Buffer.from(der);
  if (bytes[0] !== 0x30) throw new TypeError('not a DER SEQUENCE');
  let offset = 2;
  const read = () => {
    if (bytes[offset] !== 0x02) throw new TypeError('not a DER INTEGER');
    const len = bytes[offset + 1]!;
    const value = bytes.subarray(offset + 2, offset + 2 + len);
    offset += 2 + len;
    return Buffer.from(value.subarray(Math.max(0, value.length - 32))).toString('hex').padStart(64, '0');
  };
  return new Uint8Array(Buffer.from(read() + read(), 'hex'));
}
