import type { FastifyRequest } from 'fastify';
import { TongbanError } from '../errors/index.ts';

/** The header a script of the node's own pages sends (a cross-site form cannot, a cross-site fetch needs a preflight the node never grants). */
export const CSRF_HEADER = 'x-tongban-csrf';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * A request authenticated by the session cookie that changes something must come from the node's
 * own pages: `Origin` equal to the node's origin, or `x-tongban-csrf: 1`. Else CSRF_REJECTED.
 */
export function checkCsrf(request: FastifyRequest, nodeOrigin: string): void {
  if (SAFE.has(request.method)) return;
  if (request.headers[CSRF_HEADER] === '1') return;
  const origin = request.headers.origin;
  if (typeof origin === 'string' && origin !== 'null' && sameOrigin(origin, nodeOrigin)) return;
  throw new TongbanError('CSRF_REJECTED', `A change made with the session cookie must come from this node's pages (Origin ${new URL(nodeOrigin).origin}) or carry ${CSRF_HEADER}: 1.`);
}

function sameOrigin(given: string, expected: string): boolean {
  try {
    return new URL(given).origin === new URL(expected).origin;
  } catch {
    return false;
  }
}
