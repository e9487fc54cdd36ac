import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { validationError } from '../errors/index.ts';
import type { OpenApiRegistry } from './openapi.ts';

/** A per-route limit for @fastify/rate-limit: requests per client address within `timeWindow` ms. */
export interface RouteRateLimit {
  readonly max: number;
  readonly timeWindow: number;
}

/**
 * How a route's caller authenticates (documented as the operation's OpenAPI `security`):
 * a bearer token (the node's operator token, the hub administrator's, or the metrics token), a
 * person (`runtime.identity.authenticate`: the node's session cookie, a hub access token or a
 * machine client's token), an RFC 9421 signature by a node in the directory or by the
 * hub, a citizen's hub-issued access token (the data tracker), or nothing. `data-admin`: the
 * node's operator token, or a person of this node holding the role dataAdmin or operator
 * (src/server/data-admin.ts); anyone else authenticated is refused with 403.
 */
export type RouteAuth = 'public' | 'operator' | 'admin' | 'person' | 'metrics' | 'node-signature' | 'hub-signature' | 'citizen' | 'data-admin';

export interface RouteSpec<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, R extends z.ZodType> {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly url: string;
  readonly summary: string;
  readonly tag: string;
  readonly params?: P;
  readonly query?: Q;
  readonly body?: B;
  /** A body the handler validates itself (to log refusals); documented, not parsed here. */
  readonly bodyDoc?: z.ZodType;
  /** The handler reads request.rawBody only: even malformed JSON reaches it (to be refused, signed and logged). */
  readonly raw?: boolean;
  readonly response: R;
  readonly status?: number;
  /** Media type of the success answer (JSON unless said otherwise). */
  readonly contentType?: string;
  /** Who may call; defaults to `public`. Routes with `before` must say which bearer they check. */
  readonly auth?: RouteAuth;
  /** The success answer sets (or clears) a cookie: what it is, for the OpenAPI document. */
  readonly setsCookie?: string;
  /** The answers (success and the handler's refusals) are signed by this node (RFC 9421 Signature, Signature-Input, Content-Digest). */
  readonly signedAnswer?: boolean;
  /**
   * Authentication, run in the route's onRequest hook — before the content type is looked at or
   * the body read and parsed: an unauthenticated caller learns nothing about the schema (401, never 400/413/415).
   */
  readonly before?: (request: FastifyRequest) => void | Promise<void>;
  /** For unauthenticated routes: requests per client address (RATE_LIMITED beyond). */
  readonly rateLimit?: RouteRateLimit | undefined;
  /**
   * Error statuses this route can answer with, for the OpenAPI document: only those a real call can
   * provoke (test/openapi-conformance.test.ts requires one for each). 500, 502 and 503 are documented
   * once for every operation (`default`), whether listed here or not.
   */
  readonly errors?: readonly number[];
  handler(
    input: { params: z.output<P>; query: z.output<Q>; body: z.output<B> },
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<z.input<R>>;
}

/**
 * Registers a schema-first route: params, query and body are parsed with their zod schemas
 * (VALIDATION_FAILED on any mismatch, before the handler runs) and the route is added to the
 * OpenAPI document from the same schemas.
 */
export function addRoute<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, R extends z.ZodType>(
  app: FastifyInstance,
  openapi: OpenApiRegistry,
  spec: RouteSpec<P, Q, B, R>,
): void {
  const status = spec.status ?? 200;
  const auth = spec.auth ?? 'public';
  // A bearer check documented as public would hide it from the API description.
  if (spec.before && (auth === 'public' || auth === 'node-signature' || auth === 'hub-signature')) throw new Error(`${spec.method} ${spec.url}: a route with a bearer check must name its auth kind`);
  openapi.add({
    method: spec.method,
    url: spec.url,
    summary: spec.summary,
    tag: spec.tag,
    ...(spec.params ? { params: spec.params } : {}),
    ...(spec.query ? { query: spec.query } : {}),
    ...(spec.body ? { body: spec.body } : spec.bodyDoc ? { body: spec.bodyDoc } : {}),
    response: spec.response,
    status,
    auth,
    ...(spec.contentType ? { contentType: spec.contentType } : {}),
    ...(spec.signedAnswer ? { signedAnswer: true } : {}),
    ...(spec.setsCookie ? { setsCookie: spec.setsCookie } : {}),
    // A route with input can be sent a malformed one; a route that takes a body, one that is too large or
    // not JSON; an authenticated route, a caller without credentials; a rate-limited one, too many
    // requests; a data-admin route, a person without the role (403). An unexpected error (500), a failing peer (502) or an unavailable database or
    // directory or a closing server (503) can answer any route: the document describes them once
    // (each operation's `default`), not in this list.
    errors: [
      ...new Set([...(spec.method !== 'GET' || spec.params || spec.query ? [400] : []), ...(spec.method === 'GET' ? [] : [413, 415]), ...(auth !== 'public' ? [401] : []), ...(auth === 'data-admin' ? [403] : []), ...(spec.rateLimit ? [429] : []), ...(spec.errors ?? [])]),
    ].sort((a, b) => a - b),
  });
  app.route({
    method: spec.method,
    url: spec.url,
    ...(spec.raw || spec.rateLimit ? { config: { ...(spec.raw ? { rawBody: true } : {}), ...(spec.rateLimit ? { rateLimit: { ...spec.rateLimit } } : {}) } } : {}),
    ...(spec.before ? { onRequest: async (request: FastifyRequest) => spec.before!(request) } : {}),
    handler: async (request, reply) => {
      const input = {
        params: parse(spec.params, request.params, 'path'),
        query: parse(spec.query, request.query, 'query'),
        body: parse(spec.body, request.body, 'body'),
      } as { params: z.output<P>; query: z.output<Q>; body: z.output<B> };
      const result = await spec.handler(input, request, reply);
      // A handler that sent its own answer (signed replies) set its status: keep it (hooks read it).
      if (!reply.sent) reply.code(status);
      return result;
    },
  });
}

function parse(schema: z.ZodType | undefined, value: unknown, where: string): unknown {
  if (!schema) return undefined;
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const error = validationError(result.error);
  for (const e of error.errors ?? []) Object.assign(e, { path: e.path ? `${where}.${e.path}` : where });
  throw error;
}

/**
 * The query of a list endpoint: `limit` (1 to `max`, `fallback` when absent) and `offset`. Every
 * list answers a page, never everything (a listing must not grow with the data behind it).
 */
/** One page of a list already read (short by construction), with the list's true total. */
export function pageOf<T>(all: readonly T[], page: { limit: number; offset: number }): { page: T[]; total: number } {
  return { page: all.slice(page.offset, page.offset + page.limit), total: all.length };
}

export function Page(max: number, fallback = max) {
  return z.object({
    limit: z.coerce.number().int().min(1).max(max).default(fallback),
    offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  });
}
