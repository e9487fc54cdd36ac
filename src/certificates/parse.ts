import { TongbanError } from '../errors/index.ts';
import { CertificateHeader, CertificatePayload } from './model.ts';
import { decodeJson } from './sd-jwt.ts';

/** An SD-JWT split into its parts; only the structure is checked here, nothing is trusted. */
export interface ParsedSdJwt {
  readonly header: CertificateHeader;
  readonly payload: CertificatePayload;
  /** `<header>.<payload>`: what the issuer signed. */
  readonly signingInput: string;
  readonly signature: string;
  readonly disclosures: readonly string[];
  /** `<jwt>~<d1>~…~<dn>~`: what a KB-JWT's sd_hash covers. */
  readonly withoutKeyBinding: string;
  readonly keyBinding?: string;
}

const MAX_LENGTH = 64 * 1024;

const malformed = (detail: string) => new TongbanError('CERTIFICATE_MALFORMED', detail);

export function parseSdJwt(text: string): ParsedSdJwt {
  if (typeof text !== 'string' || text.length > MAX_LENGTH) throw malformed('A certificate is an SD-JWT of at most 64 KiB.');
  const parts = text.split('~');
  if (parts.length < 2) throw malformed('A certificate is an SD-JWT: <jwt>~<disclosures>~[<kb-jwt>].');
  const jwt = parts[0]!;
  const last = parts.at(-1)!;
  const disclosures = parts.slice(1, -1);
  const jwtParts = jwt.split('.');
  if (jwtParts.length !== 3 || jwtParts.some((p) => p === '')) throw malformed('The issuer-signed part is not a compact JWS.');
  const [encodedHeader, encodedPayload, signature] = jwtParts as [string, string, string];
  let header: CertificateHeader;
  let payload: CertificatePayload;
  try {
    const h = CertificateHeader.safeParse(decodeJson(encodedHeader));
    if (!h.success) throw malformed(`The header is not a Tongban certificate's: ${h.error.issues[0]?.path.join('.')} ${h.error.issues[0]?.message}`);
    header = h.data;
    const p = CertificatePayload.safeParse(decodeJson(encodedPayload));
    if (!p.success) throw malformed(`The payload is not a Tongban certificate's: ${p.error.issues[0]?.path.join('.')} ${p.error.issues[0]?.message}`);
    payload = p.data;
  } catch (error) {
    if (error instanceof TongbanError) throw error;
    throw malformed('The issuer-signed part is not base64url JSON.');
  }
  if (!/^[A-Za-z0-9_-]+$/.test(signature)) throw malformed('The signature is not base64url.');
  if (disclosures.some((d) => d === '')) throw malformed('An empty disclosure.');
  if (last !== '' && last.split('.').length !== 3) throw malformed('The key binding part is not a compact JWS.');
  return {
    header,
    payload,
    signingInput: `${encodedHeader}.${encodedPayload}`,
    signature,
    disclosures,
    withoutKeyBinding: parts.slice(0, -1).join('~') + '~',
    ...(last === '' ? {} : { keyBinding: last }),
  };
}

/** One object-property disclosure `[salt, name, value]`, or undefined when it is anything else. */
export function decodeDisclosure(encoded: string): { salt: string; name: string; value: string } | undefined {
  try {
    const item = decodeJson(encoded);
    if (!Array.isArray(item) || item.length !== 3) return undefined;
    const [salt, name, value] = item as unknown[];
    if (typeof salt !== 'string' || typeof name !== 'string' || typeof value !== 'string') return undefined;
    return { salt, name, value };
  } catch {
    return undefined;
  }
}
