import { randomBytes } from 'node:crypto';
import { jwkThumbprint, type PublicJwk, type SigningKey } from '../crypto/index.ts';
import { TongbanError } from '../errors/index.ts';
import type { CertificateHeader, CertificateMetadata, CertificatePayload } from './model.ts';
import { decodeDisclosure, parseSdJwt } from './parse.ts';
import { sdJwtInstance } from './sd-jwt.ts';
import { certificateTypeByVct } from './types.ts';

export interface DecodedCertificate {
  header: CertificateHeader;
  payload: CertificatePayload;
  metadata: CertificateMetadata;
  vct: string;
  /** The issuing node's division. */
  issuer: string;
  /** The personal fields its disclosures carry, by name. */
  disclosures: Record<string, string>;
  boundJwk?: PublicJwk;
}

/**
 * Reads a certificate or presentation without checking anything but its shape (no signature,
 * no trust, no digests): for showing a holder what they hold. Never a basis for a decision.
 */
export function decodeCertificate(sdJwt: string): DecodedCertificate {
  const parsed = parseSdJwt(sdJwt);
  const disclosures: Record<string, string> = {};
  for (const encoded of parsed.disclosures) {
    const d = decodeDisclosure(encoded);
    if (!d) throw new TongbanError('CERTIFICATE_MALFORMED', 'A disclosure is not [salt, name, value].');
    disclosures[d.name] = d.value;
  }
  const { payload } = parsed;
  return {
    header: parsed.header,
    payload,
    metadata: payload.certificate,
    vct: payload.vct,
    issuer: payload.iss.slice(payload.iss.lastIndexOf(':') + 1),
    disclosures,
    ...(payload.cnf ? { boundJwk: payload.cnf.jwk } : {}),
  };
}

/**
 * The holder's side: keeps only the disclosures named in `disclose` and, for a certificate bound
 * to a holder key, appends a KB-JWT (aud, nonce, iat, sd_hash) signed with that key. Everything is
 * done where the holder is: the issuer never learns which fields were shown.
 */
export async function presentCertificate(
  issued: string,
  options: { disclose: readonly string[]; holderKey?: SigningKey; audience?: string; nonce?: string; now: Date },
): Promise<string> {
  const decoded = decodeCertificate(issued);
  const type = certificateTypeByVct(decoded.vct);
  if (!type) throw new TongbanError('CERTIFICATE_MALFORMED', `Unknown certificate type ${decoded.vct}.`);
  const unknown = options.disclose.filter((name) => !type.fields.some((f) => f.name === name));
  const carried = Object.keys(decoded.disclosures).join(', ');
  if (unknown.length > 0) throw new TongbanError('VALIDATION_FAILED', `A ${type.name} has no field ${unknown.join(', ')} (this one carries ${carried}).`);
  const absent = options.disclose.filter((name) => !(name in decoded.disclosures));
  if (absent.length > 0) throw new TongbanError('VALIDATION_FAILED', `This ${type.name} does not carry ${absent.join(', ')} (it carries ${carried}).`);
  const frame = Object.fromEntries(options.disclose.map((name) => [name, true]));

  if (!decoded.boundJwk) return await sdJwtInstance({}).present(issued, frame);
  const { holderKey, audience } = options;
  if (!holderKey) throw new TongbanError('VALIDATION_FAILED', 'This certificate is bound to a holder key: present it with that key.');
  if (jwkThumbprint(holderKey.publicJwk) !== jwkThumbprint(decoded.boundJwk)) {
    throw new TongbanError('VALIDATION_FAILED', 'The holder key is not the one this certificate is bound to.');
  }
  if (!audience) throw new TongbanError('VALIDATION_FAILED', "A bound certificate is presented to a named verifier (audience) with its challenge (nonce).");
  // A verifier that issued no challenge still gets a unique KB-JWT (SD-JWT requires a nonce).
  const nonce = options.nonce ?? randomBytes(16).toString('base64url');
  const iat = Math.floor(options.now.getTime() / 1000);
  return await sdJwtInstance({ holderKey }).present(issued, frame, { kb: { payload: { iat, aud: audience, nonce } } });
}
