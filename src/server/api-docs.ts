import fastifySwagger, { type StaticDocumentSpec } from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

/**
 * The interactive API reference at /docs: Swagger UI (served from the package's own files, no
 * CDN, so it works offline) over the same OpenAPI document as /openapi.json, which it reads from
 * /docs/json. @fastify/swagger runs in static mode: it only hands that document to the UI and
 * adds nothing to the routes.
 */
export async function registerApiReference(app: FastifyInstance, document: Record<string, unknown>, title: string): Promise<void> {
  // OpenApiRegistry builds the document as plain JSON (OpenAPI 3.1); the plugin only passes it on.
  await app.register(fastifySwagger, { mode: 'static', specification: { document: document as unknown as StaticDocumentSpec['document'] } });
  await app.register(fastifySwaggerUi, {
    routePrefix: '/docs',
    theme: { title },
    // No call to the public validator service: the page talks to this server only.
    validatorUrl: false,
    uiConfig: { deepLinking: true, tryItOutEnabled: false },
  });
}
