import { Agent, request } from 'undici';

/**
 * Node-to-node HTTP: one keep-alive connection pool per peer origin (undici's `Agent` keeps a
 * `Pool` per origin) and undici's `request` API instead of the global `fetch`, which wraps every
 * call in WHATWG Request/Response/Headers objects and streams (a large share of the requester's
 * CPU in the bridge profile, docs/benchmarks.md).
 *
 * A pooled connection carries no identity: every request on it is signed on its own (RFC 9421,
 * fresh nonce, Content-Digest) and every answer is verified against the key the directory lists
 * for the peer the caller meant, not against the connection it came on. Connections are keyed by
 * origin (scheme, host, port), so a socket opened to one peer is never used to reach another.
 */
// Idle pooled sockets are unreferenced by undici, so they never keep a process alive.
const peers = new Agent({
  keepAliveTimeout: 10_000,
  keepAliveMaxTimeout: 60_000,
  // Enough sockets for the concurrency one node sees; a burst beyond it queues in the pool.
  connections: 64,
  pipelining: 1,
});

/**
 * The header a node sends its exchange's id in on peer calls, and a server adopts as the request id
 * of its log lines when it is short and plain (src/server/logger.ts). Unsigned: it correlates logs
 * and is trusted for nothing else.
 */
export const REQUEST_ID_HEADER = 'x-request-id';

export interface PeerAnswer {
  readonly status: number;
  /** Lower-case names; repeated fields joined with ", " as HTTP allows. */
  readonly headers: Record<string, string>;
  readonly body: Uint8Array;
}

/** One HTTP call to a peer: the whole answer, or a throw when the peer cannot be reached in time. */
export async function peerCall(
  url: string,
  init: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string; timeoutMs: number },
): Promise<PeerAnswer> {
  // A deadline cleared when the answer is in: `AbortSignal.timeout` cannot be cancelled, so each
  // call's timer fired later anyway and built a DOMException for nobody (1-2 % of a requester's
  // CPU under load, docs/benchmarks.md).
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new PeerTimeoutError(url, init.timeoutMs)), init.timeoutMs);
  try {
    const response = await request(url, {
      dispatcher: peers,
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      ...(init.headers ? { headers: init.headers } : {}),
      ...(init.body !== undefined ? { body: init.body } : {}),
      signal: deadline.signal,
    });
    const body = new Uint8Array(await response.body.arrayBuffer());
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(response.headers)) {
      if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    }
    return { status: response.statusCode, headers, body };
  } finally {
    clearTimeout(timer);
  }
}

/** Why a peer call was abandoned: no whole answer within its time limit. */
export class PeerTimeoutError extends Error {
  override readonly name = 'TimeoutError';
  constructor(url: string, timeoutMs: number) {
    super(`no answer from ${new URL(url).origin} within ${timeoutMs} ms`);
  }
}
