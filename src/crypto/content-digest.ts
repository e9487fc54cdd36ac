import { createHash } from 'node:crypto';
import { parseDictionary } from 'structured-headers';

/** RFC 9530 Content-Digest over the exact body bytes (sha-256). */
export function contentDigest(body: Uint8Array | string): string {
  return `sha-256=:${createHash('sha256').update(body).digest('base64')}:`;
}

/**
 * Checks a Content-Digest header against the body. Accepts sha-256 and sha-512 (RFC 9530
 * registry); a header naming neither, or a malformed one, does not verify.
 */
export function verifyContentDigest(header: string | undefined, body: Uint8Array | string): boolean {
  if (!header) return false;
  let dictionary: ReturnType<typeof parseDictionary>;
  try {
    dictionary = parseDictionary(header);
  } catch {
    return false;
  }
  let checked = false;
  for (const [algorithm, member] of dictionary) {
    const hash = algorithm === 'sha-256' ? 'sha256' : algorithm === 'sha-512' ? 'sha512' : null;
    if (!hash) continue;
    const value = member[0];
    if (!(value instanceof ArrayBuffer)) return false;
    if (!Buffer.from(value).equals(createHash(hash).update(body).digest())) return false;
    checked = true;
  }
  return checked;
}
