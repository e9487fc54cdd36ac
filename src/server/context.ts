import type { FastifyInstance } from 'fastify';
import type { NodeRuntime } from '../node/index.ts';
import type { OpenApiRegistry } from './openapi.ts';
import type { RouteRateLimit } from './route.ts';

/** What every domain plugin receives. */
export interface ServerContext {
  readonly app: FastifyInstance;
  readonly openapi: OpenApiRegistry;
  readonly runtime: NodeRuntime;
  readonly clock: () => Date;
  /** The URL other nodes reach this one at (known once the server listens). */
  readonly endpoint: () => string;
  /** Rate limits for unauthenticated routes (undefined when disabled in the config). */
  readonly rateLimits: { readonly public: RouteRateLimit | undefined; readonly enrolment: RouteRateLimit | undefined };
}
