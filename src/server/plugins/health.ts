import { z } from 'zod';
import { PublicJwk } from '../../crypto/index.ts';
import { TongbanError } from '../../errors/index.ts';
import type { ServerContext } from '../context.ts';
import { addRoute } from '../route.ts';

const NodeInfo = z.object({ division: z.string(), name: z.string(), role: z.enum(['node', 'hub']) });

export function healthPlugin({ app, openapi, runtime, clock, rateLimits }: ServerContext): void {
  addRoute(app, openapi, {
    method: 'GET',
    url: '/health',
    tag: 'node',
    summary:
      'Status (kept for scripts): 200 when the process and its database answer, with the directory state reported (usable or not) but not required; 503 STORE_UNAVAILABLE when the database does not answer. Probes: /health/live and /health/ready.',
    response: z.object({
      status: z.literal('ok'),
      node: NodeInfo,
      store: z.enum(['sqlite', 'postgres']),
      time: z.string(),
      directory: z.object({ version: z.number().nullable(), expiresAt: z.string().nullable(), usable: z.boolean() }),
    }),
    errors: [503],
    handler: async () => {
      await runtime.store.ping();
      const { division, name, role } = runtime.config.node;
      // A node whose directory expired still answers /health: it is alive, but says it cannot exchange.
      let directory = { version: null as number | null, expiresAt: null as string | null, usable: false };
      try {
        const view = await runtime.exchange.directory.current();
        directory = { version: view.version, expiresAt: view.snapshot.expiresAt, usable: true };
      } catch {
        const status = runtime.directoryClient?.status();
        if (status) directory = { version: status.version, expiresAt: status.expiresAt, usable: false };
      }
      return { status: 'ok' as const, node: { division, name, role }, store: runtime.store.dialect, time: clock().toISOString(), directory };
    },
  });

  addRoute(app, openapi, {
    method: 'GET',
    url: '/health/live',
    tag: 'node',
    summary: 'Liveness: the process runs and its event loop answers (nothing else is checked; restart it if this fails)',
    response: z.object({ status: z.literal('ok') }),
    handler: async () => ({ status: 'ok' as const }),
  });

  addRoute(app, openapi, {
    method: 'GET',
    url: '/health/ready',
    tag: 'node',
    summary:
      'Readiness: the database answers and the directory may be relied on (a node: its cached snapshot is loaded and not expired; the hub: its directory has started). 503 problem (STORE_UNAVAILABLE, DIRECTORY_UNAVAILABLE, DIRECTORY_EXPIRED) otherwise: send no traffic.',
    response: z.object({ status: z.literal('ready'), directory: z.object({ version: z.number(), expiresAt: z.string() }) }),
    handler: async () => {
      await runtime.store.ping();
      const view = await runtime.exchange.directory.current();
      return { status: 'ready' as const, directory: { version: view.version, expiresAt: view.snapshot.expiresAt } };
    },
  });

  addRoute(app, openapi, {
    method: 'GET',
    url: '/v1/node',
    rateLimit: rateLimits.public,
    tag: 'node',
    summary: "The node's identity and public signing keys",
    response: NodeInfo.extend({
      keys: z.array(z.object({ kid: z.string(), alg: z.string(), status: z.string(), jwk: PublicJwk })),
    }),
    handler: async () => {
      const { division, name, role } = runtime.config.node;
      const keys = await runtime.store.keys.list();
      if (keys.length === 0) throw new TongbanError('INTERNAL', 'The node has no signing key recorded.');
      return {
        division,
        name,
        role,
        keys: keys.map((k) => ({ kid: k.kid, alg: k.alg, status: k.status, jwk: PublicJwk.parse(k.publicJwk) })),
      };
    },
  });
}
