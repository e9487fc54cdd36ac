import Fastify, { type FastifyInstance } from 'fastify';
import type { NodeRuntime } from '../node/index.ts';
import type { ServerContext } from './context.ts';
import { OpenApiRegistry } from './openapi.ts';
import { catalogPlugin } from './plugins/catalog.ts';
import { healthPlugin } from './plugins/health.ts';
import { standardsPlugin } from './plugins/standards.ts';
import { installProblemHandlers } from './problem-handlers.ts';

export interface BuildServerOptions {
  readonly runtime: NodeRuntime;
  readonly clock?: () => Date;
  /** Pino log level. Request logs are at info, so the default (warn) leaves them off: they halve throughput (STACK.md). */
  readonly logLevel?: 'silent' | 'error' | 'warn' | 'info' | 'debug';
}

/** The node's HTTP server: one plugin per domain, every route schema-first, every error problem+json. */
export async function buildServer(options: BuildServerOptions): Promise<FastifyInstance> {
  const { runtime } = options;
  const app = Fastify({
    logger: { level: options.logLevel ?? 'warn' },
    bodyLimit: runtime.config.server.bodyLimit,
    return503OnClosing: true,
  });
  installProblemHandlers(app);
  const openapi = new OpenApiRegistry();
  const context: ServerContext = { app, openapi, runtime, clock: options.clock ?? (() => new Date()) };
  healthPlugin(context);
  standardsPlugin(context);
  catalogPlugin(context);
  const document = openapi.document({
    title: `Tongban node ${runtime.config.node.division} ${runtime.config.node.name}`,
    version: '0.1.0',
    description: 'The HTTP interface of one Tongban node. Errors are RFC 9457 problem+json with a stable `code`.',
  });
  app.get('/openapi.json', async () => document);
  await app.ready();
  return app;
}
