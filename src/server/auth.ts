import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { TongbanError } from '../errors/index.ts';

/** Local operator and administrator calls carry a bearer token from the node's key folder. */
export function requireBearer(request: FastifyRequest, token: string | undefined, who: string): void {
  const given = bearerToken(request);
  if (token === undefined || given === undefined || !sameSecret(given, token)) throw new TongbanError('UNAUTHORIZED', `This call needs the ${who} token.`);
}

/** The bearer token of the Authorization header, if there is one (any bytes: it is only ever hashed). */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) return undefined;
  const token = header.slice(7).trim();
  return token === '' ? undefined : token;
}

/**
 * Compares two secrets in constant time over their SHA-256 digests: equal lengths always, so
 * neither the length nor the encoding of what the caller sent (non-ASCII included) matters or leaks.
 */
export function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** The request as the signature layer sees it: absolute URL, lower-case headers, raw body. */
export function incomingRequest(request: FastifyRequest, publicBase: string) {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  return {
    method: request.method,
    url: new URL(request.url, publicBase).toString(),
    headers,
    body: new Uint8Array(request.rawBody ?? Buffer.alloc(0)),
  };
}
