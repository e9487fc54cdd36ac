import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { TongbanError } from '../errors/index.ts';

/** Local operator and administrator calls carry a bearer token from the node's key folder. */
export function requireBearer(request: FastifyRequest, token: string | undefined, who: string): void {
  const header = request.headers.authorization ?? '';
  const given = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
  const ok = token !== undefined && given.length === token.length && timingSafeEqual(Buffer.from(given), Buffer.from(token));
  if (!ok) throw new TongbanError('UNAUTHORIZED', `This call needs the ${who} token.`);
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
