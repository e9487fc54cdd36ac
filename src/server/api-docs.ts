import type { StaticDocumentSpec } from '@fastify/swagger';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Hop-by-hop and length headers of the reference pages' answers, which the node's own reply sets. */
const NOT_FORWARDED = new Set(['connection', 'content-length', 'date', 'keep-alive', 'transfer-encoding']);

/**
 * The interactive API reference at /docs: Swagger UI (served from the package's own files, no
 * CDN, so it works offline) over the same OpenAPI document as /openapi.json, which it reads from
 * /docs/json. @fastify/swagger runs in static mode: it only hands that document to the UI and
 * adds nothing to the routes.
 *
 * Swagger UI, its static file server and its YAML library are loaded, and their pages set up on a
 * Fastify instance of their own, at the first request under /docs: a node nobody browses never
 * carries them (about a tenth of a server's start-up CPU, and memory; docs/benchmarks.md,
 * "Start-up and memory"). Every answer goes out through this node's reply (its hooks, logs and
 * metrics); a path the reference does not have is this node's own 404 problem.
 */
export function registerApiReference(app: FastifyInstance, document: () => Record<string, unknown>): void {
  let pages: Promise<FastifyInstance> | undefined;
  const build = async (): Promise<FastifyInstance> => {
    const [{ default: Fastify }, { default: fastifySwagger }, { default: fastifySwaggerUi }] = await Promise.all([
      import('fastify'),
      import('@fastify/swagger'),
      import('@fastify/swagger-ui'),
    ]);
    // OpenApiRegistry builds the document as plain JSON (OpenAPI 3.1); the plugin only passes it on.
    const spec = document();
    const reference = Fastify();
    await reference.register(fastifySwagger, { mode: 'static', specification: { document: spec as unknown as StaticDocumentSpec['document'] } });
    await reference.register(fastifySwaggerUi, {
      routePrefix: '/docs',
      theme: { title: String((spec.info as { title: string }).title) },
      // No call to the public validator service: the page talks to this server only.
      validatorUrl: false,
      uiConfig: { deepLinking: true, tryItOutEnabled: false },
    });
    await reference.ready();
    return reference;
  };
  const forward = async (request: FastifyRequest, reply: FastifyReply) => {
    // A failed set-up is tried again at the next request rather than remembered.
    const reference = await (pages ??= build().catch((error: unknown) => {
      pages = undefined;
      throw error;
    }));
    const answer = await reference.inject({ method: request.method as 'GET' | 'HEAD', url: request.url, headers: request.headers });
    if (answer.statusCode === 404) return reply.callNotFound();
    for (const [name, value] of Object.entries(answer.headers)) {
      if (value !== undefined && !NOT_FORWARDED.has(name.toLowerCase())) reply.header(name, value);
    }
    return reply.code(answer.statusCode).send(answer.rawPayload);
  };
  app.get('/docs', forward);
  app.get('/docs/*', forward);
}
