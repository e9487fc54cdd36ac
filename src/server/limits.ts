import type { FastifyInstance } from 'fastify';
import type { NodeConfig } from '../config/index.ts';
import { TongbanError } from '../errors/index.ts';

/** The Fastify options that bound how long a connection may sit idle or dribble a request in. */
export function connectionTimeouts(server: NodeConfig['server']) {
  return {
    connectionTimeout: server.idleTimeoutSeconds * 1000,
    keepAliveTimeout: server.keepAliveTimeoutSeconds * 1000,
    requestTimeout: server.requestTimeoutSeconds * 1000,
  };
}

/** Caps what Fastify has no option for: open connections and the time to send headers. */
export function limitConnections(app: FastifyInstance, server: NodeConfig['server']): void {
  // Node closes a connection over the limit as soon as it is accepted.
  app.server.maxConnections = server.maxConnections;
  app.server.headersTimeout = server.headersTimeoutSeconds * 1000;
}

/**
 * Counts the long-lived streams each principal holds, so one account cannot pin the server's
 * sockets and file descriptors; over the cap a new stream is refused with 429.
 */
export class StreamLimiter {
  readonly #open = new Map<string, number>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  /** Takes a slot for `principal`; the returned release (idempotent) frees it. */
  acquire(principal: string): () => void {
    const open = this.#open.get(principal) ?? 0;
    if (open >= this.#max) {
      throw new TongbanError('TOO_MANY_STREAMS', `This account already holds ${open} open event streams, the most this node allows; close one first.`);
    }
    this.#open.set(principal, open + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#open.get(principal) ?? 1) - 1;
      if (left <= 0) this.#open.delete(principal);
      else this.#open.set(principal, left);
    };
  }
}
