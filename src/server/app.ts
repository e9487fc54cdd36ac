import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance } from 'fastify';
import { TongbanError } from '../errors/index.ts';
import { sessionCookieName } from '../identity/index.ts';
import type { NodeRuntime } from '../node/index.ts';
import type { ServerContext } from './context.ts';
import { registerApiReference } from './api-docs.ts';
import { DEFAULT_CONSOLE_DIR, registerConsole } from './console.ts';
import { OpenApiRegistry } from './openapi.ts';
import { agreementLifecyclePlugin } from './plugins/agreement-lifecycle.ts';
import { agreementsPlugin } from './plugins/agreements.ts';
import { auditPlugin } from './plugins/audit.ts';
import { casesPlugin } from './plugins/cases.ts';
import { citizenRelayPlugin } from './plugins/citizen-relay.ts';
import { certificateVerificationPlugin } from './plugins/certificate-verification.ts';
import { certificatesPlugin } from './plugins/certificates.ts';
import { messagesPlugin } from './plugins/messages.ts';
import { catalogPlugin } from './plugins/catalog.ts';
import { certificateTrustPlugin } from './plugins/certificate-trust.ts';
import { consentsPlugin } from './plugins/consents.ts';
import { directoryPlugin } from './plugins/directory.ts';
import { exchangePlugin } from './plugins/exchange.ts';
import { governancePlugin } from './plugins/governance.ts';
import { healthPlugin } from './plugins/health.ts';
import { signInPlugin } from './plugins/sign-in.ts';
import { staffPlugin } from './plugins/staff.ts';
import { identityProviderPlugin } from './plugins/identity-provider.ts';
import { keysPlugin } from './plugins/keys.ts';
import { loggingPlugin } from './plugins/logging.ts';
import { metricsPlugin } from './plugins/metrics.ts';
import { negotiationsPlugin } from './plugins/negotiations.ts';
import { dataAdminPlugin } from './plugins/data-admin.ts';
import { operatorPlugin } from './plugins/operator.ts';
import { standardsPlugin } from './plugins/standards.ts';
import { trackerPlugin } from './plugins/tracker.ts';
import { connectionTimeouts, limitConnections } from './limits.ts';
import { frameworkProblem, installProblemHandlers } from './problem-handlers.ts';
import { installRawJsonParser } from './raw-body.ts';
import { loggerOptions } from './logger.ts';
import { productionWarnings, warningBlock } from './warnings.ts';

export interface BuildServerOptions {
  readonly runtime: NodeRuntime;
  /** Pino log level; the config's server.logLevel (warn unless set) when absent. Request logs are at info: they halve throughput (STACK.md). */
  readonly logLevel?: 'silent' | 'error' | 'warn' | 'info' | 'debug';
  /** Where the JSON log lines go (stdout when absent). */
  readonly logStream?: { write(line: string): void };
  /** The URL peers reach this node at; set later by listenNode when it is not known yet. */
  readonly endpoint?: () => string;
  /** The built web console (dist/console unless given; a folder without it serves 404s). */
  readonly consoleDir?: string;
}

/** The node's HTTP server: one plugin per domain, every route schema-first, every error problem+json. */
export async function buildServer(options: BuildServerOptions): Promise<FastifyInstance> {
  const { runtime } = options;
  const app = Fastify({
    // Pino's lines go where the node's own log goes (stderr by default; a test's file in tests) unless a stream is given.
    ...loggerOptions(options.logLevel ?? runtime.config.server.logLevel, options.logStream ?? { write: (line: string) => runtime.log(line.trimEnd()) }),
    bodyLimit: runtime.config.server.bodyLimit,
    return503OnClosing: true,
    frameworkErrors: frameworkProblem,
    ...connectionTimeouts(runtime.config.server),
    // request.ip: the socket's address, or the client a trusted front names in X-Forwarded-For.
    ...(runtime.config.server.trustProxy.length > 0 ? { trustProxy: [...runtime.config.server.trustProxy] } : {}),
  });
  limitConnections(app, runtime.config.server);
  installProblemHandlers(app);
  installRawJsonParser(app);
  // Only routes that ask for it are limited (global: false): unauthenticated ones, per client address.
  const limits = runtime.config.server.rateLimit;
  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_request, context) =>
      new TongbanError('RATE_LIMITED', `Too many requests from this address: at most ${context.max} per ${limits.windowSeconds} s; retry in ${context.after}.`),
  });
  const window = limits.windowSeconds * 1000;
  const openapi = new OpenApiRegistry();
  const context: ServerContext = {
    app,
    openapi,
    runtime,
    clock: runtime.clock,
    rateLimits: {
      public: limits.enabled ? { max: limits.max, timeWindow: window } : undefined,
      enrolment: limits.enabled ? { max: limits.enrolmentMax, timeWindow: window } : undefined,
    },
    endpoint: options.endpoint ?? (() => runtime.config.server.publicUrl ?? `http://${runtime.config.server.host}:${runtime.config.server.port}`),
  };
  for (const plugin of [loggingPlugin, metricsPlugin, healthPlugin, standardsPlugin, catalogPlugin, directoryPlugin, agreementsPlugin, agreementLifecyclePlugin, exchangePlugin, auditPlugin, operatorPlugin, keysPlugin, signInPlugin, staffPlugin, casesPlugin, certificateVerificationPlugin, messagesPlugin, negotiationsPlugin, dataAdminPlugin, identityProviderPlugin, trackerPlugin, consentsPlugin, certificateTrustPlugin, certificatesPlugin, governancePlugin, citizenRelayPlugin]) {
    plugin(context);
  }
  // Rendered at the first request for it (/openapi.json or the reference at /docs), not at start-up.
  let document: Record<string, unknown> | undefined;
  const documentOf = () =>
    (document ??= openapi.document({
      title: `Tongban ${runtime.config.node.role} ${runtime.config.node.division} ${runtime.config.node.name}`,
      version: '0.1.0',
      division: runtime.config.node.division,
      description: 'The HTTP interface of one Tongban node. Node-to-node calls are signed with RFC 9421 over RFC 9530 Content-Digest (see docs/protocol.md). Errors are RFC 9457 problem+json with a stable `code`.',
    }));
  app.get('/openapi.json', async () => documentOf());
  registerApiReference(app, documentOf);
  // The console signs in through the node's /v1/auth/login. The hub has no such route: its console
  // shows only what it publishes to anyone (the governance dashboards) and signs nobody in.
  {
    const { division, name, role } = runtime.config.node;
    await registerConsole(app, { dir: options.consoleDir ?? DEFAULT_CONSOLE_DIR, division, name, sessionCookie: sessionCookieName(division), role });
  }
  await app.ready();
  return app;
}

/**
 * Listens, then tells the runtime the URL it is reached at (starting enrolment, directory
 * refresh and checkpoints). Port 0 picks a free port.
 */
export async function listenNode(
  runtime: NodeRuntime,
  overrides: { host?: string; port?: number; logLevel?: BuildServerOptions['logLevel']; logStream?: BuildServerOptions['logStream'] } = {},
): Promise<{ app: FastifyInstance; endpoint: string; close: () => Promise<void> }> {
  let endpoint = runtime.config.server.publicUrl ?? '';
  const app = await buildServer({ runtime, endpoint: () => endpoint, ...(overrides.logLevel ? { logLevel: overrides.logLevel } : {}), ...(overrides.logStream ? { logStream: overrides.logStream } : {}) });
  const host = overrides.host ?? runtime.config.server.host;
  await app.listen({ host, port: overrides.port ?? runtime.config.server.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : runtime.config.server.port;
  if (!endpoint) endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const warnings = productionWarnings(runtime.config, endpoint);
  if (warnings.length > 0) runtime.log(warningBlock(warnings));
  await runtime.start(endpoint);
  return {
    app,
    endpoint,
    close: async () => {
      // In-flight requests get a moment to finish; then every connection is closed.
      const closing = app.close();
      const force = setTimeout(() => app.server.closeAllConnections(), 2000);
      await closing;
      clearTimeout(force);
      await runtime.close();
    },
  };
}
