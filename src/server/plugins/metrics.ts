import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { z } from 'zod';
import type { AuditEvent } from '../../audit/index.ts';
import { caseStates, caseTimeStatus, TERMINAL_STATES } from '../../cases/index.ts';
import { errorStatus, TongbanError } from '../../errors/index.ts';
import { bearerToken, sameSecret } from '../auth.ts';
import type { ServerContext } from '../context.ts';
import { addRoute } from '../route.ts';

/** Open cases looked at per scrape for the time-status gauge: a bound on the scrape's cost. */
export const TIME_STATUS_SAMPLE = 1000;
/** Distinct division labels kept per server; beyond that, `other` (label cardinality stays bounded). */
const MAX_DIVISIONS = 1000;
const OPEN_STATES = caseStates.filter((state) => !TERMINAL_STATES.has(state));
/** Routes that carry an exchange at this server, and the side it plays there. */
const EXCHANGE_ROUTES: Record<string, 'requester' | 'provider' | 'relayed'> = {
  'POST /v1/operator/exchange': 'requester',
  'POST /v1/exchange': 'provider',
  'POST /v1/exchange/relayed': 'provider',
  'POST /v1/relay': 'relayed',
};

/**
 * GET /metrics in the Prometheus text format, from a registry of this server's own (several
 * servers share a process in tests). Counts, ages and states only: no label or value carries a
 * personal value; labels are division codes, error codes, route templates and fixed words.
 */
export function metricsPlugin(context: ServerContext): void {
  const { app, openapi, runtime } = context;
  const registry = new Registry();
  // The standard process_* and nodejs_* names, so stock dashboards work.
  collectDefaultMetrics({ register: registry });
  const self = runtime.config.node.division;
  const now = () => runtime.clock().getTime();
  const seconds = (iso: string | null | undefined) => (iso ? (now() - Date.parse(iso)) / 1000 : undefined);

  const divisions = new Set<string>();
  const division = (value: string | undefined): string => {
    if (!value || !/^\d{6}$/.test(value)) return 'unknown';
    if (divisions.has(value)) return value;
    if (divisions.size >= MAX_DIVISIONS) return 'other';
    divisions.add(value);
    return value;
  };
  const code = (value: string | undefined) => (value === undefined ? 'INTERNAL' : Object.hasOwn(errorStatus, value) ? value : 'OTHER');

  const exchanges = new Counter({
    name: 'tongban_exchanges_total',
    help: "Exchanges by side (requester: sent by this node; provider: answered by it; relayed: passed on by the hub), route, requester and provider division, and outcome code (OK, or the stable error code), as recorded in this server's audit log.",
    labelNames: ['direction', 'via', 'requester', 'provider', 'code'],
    registers: [registry],
  });
  const exchangeSeconds = new Histogram({
    name: 'tongban_exchange_duration_seconds',
    help: 'Time this server spent on the HTTP call carrying an exchange, from request to answer: the operator exchange call (requester), the provider endpoints (provider), the relay (relayed); by HTTP status.',
    labelNames: ['direction', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const httpSeconds = new Histogram({
    name: 'tongban_http_request_duration_seconds',
    help: 'HTTP requests by method, route template (unmatched for unknown paths) and status.',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });

  runtime.audit.onEvent((event: AuditEvent) => {
    const direction = event.kind === 'exchange.request' ? 'requester' : event.kind === 'exchange.provide' ? 'provider' : event.kind === 'exchange.relay' ? 'relayed' : undefined;
    if (!direction) return;
    const ok = event.outcome === 'allowed' || event.outcome === 'relayed';
    const via = direction === 'relayed' ? 'hub' : event.detail?.via === 'hub' ? 'hub' : 'bridge';
    exchanges.inc({ direction, via, requester: division(event.requester), provider: division(event.provider), code: ok ? 'OK' : code(event.code) });
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url;
    const status = String(reply.statusCode);
    const elapsed = reply.elapsedTime / 1000;
    httpSeconds.observe({ method: request.method, route: route ?? 'unmatched', status }, elapsed);
    const direction = route ? EXCHANGE_ROUTES[`${request.method} ${route}`] : undefined;
    if (direction) exchangeSeconds.observe({ direction, status }, elapsed);
  });

  // Queries shared by several gauges run once per scrape (prom-client collects gauges concurrently).
  let scrape = new Map<string, Promise<unknown>>();
  const once = <T>(key: string, read: () => Promise<T>): Promise<T> => {
    let run = scrape.get(key) as Promise<T> | undefined;
    if (!run) scrape.set(key, (run = read()));
    return run;
  };
  const outboxStats = () => once('outbox', () => runtime.store.outbox.stats());
  const timeStatus = () =>
    once('time', async () => {
      const page = await runtime.store.cases.list({ participant: self, states: OPEN_STATES, order: 'id', limit: TIME_STATUS_SAMPLE });
      const counts: Record<string, number> = { green: 0, yellow: 0, red: 0, none: 0 };
      const at = runtime.clock();
      for (const c of page) counts[caseTimeStatus(c, runtime.calendar, at).light]! += 1;
      return { counts, examined: page.length };
    });

  // Gauges read at scrape time, each with a cheap query; a failing one leaves its gauge empty and
  // says so in tongban_metrics_collect_errors_total instead of failing the whole scrape.
  const collectErrors = new Counter({ name: 'tongban_metrics_collect_errors_total', help: 'Gauges that could not be read at a scrape (database or directory unavailable).', labelNames: ['gauge'], registers: [registry] });
  const gauge = (name: string, help: string, labelNames: string[], read: (g: Gauge) => Promise<void>) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        this.reset();
        await read(this).catch(() => collectErrors.inc({ gauge: name }));
      },
    });

  gauge('tongban_database_up', 'Whether the database answered a ping at this scrape (1) or not (0).', [], async (g) => {
    g.set(await runtime.store.ping().then(() => 1, () => 0));
  });
  gauge('tongban_outbox_messages', 'Undelivered node-to-node messages (case hand-offs and steps, negotiation) by destination division and status (pending: will be retried; dead: refused for good).', ['destination', 'status'], async (g) => {
    for (const row of await outboxStats()) g.set({ destination: division(row.destination), status: row.status }, row.count);
  });
  gauge('tongban_outbox_oldest_age_seconds', 'Age of the oldest undelivered node-to-node message by destination division and status.', ['destination', 'status'], async (g) => {
    for (const row of await outboxStats()) g.set({ destination: division(row.destination), status: row.status }, seconds(row.oldestCreatedAt) ?? 0);
  });
  gauge('tongban_audit_chain_length', 'Entries in the audit hash chain (the head sequence number).', [], async (g) => {
    g.set((await runtime.store.audit.head())?.seq ?? 0);
  });
  gauge('tongban_audit_unwitnessed_entries', 'Audit entries above the last checkpoint the hub witnessed.', [], async (g) => {
    const [head, latest] = await Promise.all([runtime.store.audit.head(), runtime.store.checkpoints.latest(self)]);
    g.set((head?.seq ?? 0) - (latest?.seq ?? 0));
  });
  gauge('tongban_audit_last_checkpoint_age_seconds', 'Seconds since the last checkpoint of this node the hub witnessed (absent until the first one).', [], async (g) => {
    const age = seconds((await runtime.store.checkpoints.latest(self))?.at);
    if (age !== undefined) g.set(age);
  });
  gauge(
    'tongban_directory_snapshot_age_seconds',
    'Age of the directory snapshot: on a node, the cached copy of the hub snapshot; on the hub, the one it publishes (absent until there is one).',
    [],
    async (g) => {
      const age = seconds(await snapshotIssuedAt());
      if (age !== undefined) g.set(age);
    },
  );
  gauge('tongban_directory_usable', 'Whether the directory may be relied on now (1: loaded and not expired) or not (0).', [], async (g) => {
    g.set(await runtime.exchange.directory.current().then(() => 1, () => 0));
  });
  gauge('tongban_cases', 'Cases this node takes part in, by state (one COUNT … GROUP BY).', ['state'], async (g) => {
    const counts = await runtime.store.cases.countByState(self);
    for (const state of caseStates) g.set({ state }, counts[state] ?? 0);
  });
  gauge(
    'tongban_cases_time_status',
    `Open cases this node takes part in by time status (green, yellow: less than a day left, red: overdue, none: not accepted yet), computed over at most the first ${TIME_STATUS_SAMPLE} open cases by id: compare with tongban_cases_time_status_examined.`,
    ['light'],
    async (g) => {
      for (const [light, n] of Object.entries((await timeStatus()).counts)) g.set({ light }, n);
    },
  );
  gauge('tongban_cases_time_status_examined', `Open cases tongban_cases_time_status looked at (at most ${TIME_STATUS_SAMPLE}).`, [], async (g) => {
    g.set((await timeStatus()).examined);
  });

  async function snapshotIssuedAt(): Promise<string | null> {
    if (runtime.directoryClient) return runtime.directoryClient.status().issuedAt;
    if (!runtime.hubDirectory) return null;
    return (await runtime.hubDirectory.current()).snapshot.issuedAt;
  }

  const access = runtime.config.metrics;
  addRoute(app, openapi, {
    method: 'GET',
    url: '/metrics',
    tag: 'node',
    summary: 'Prometheus metrics: exchanges, latency, outbox, audit, directory, cases, process (no personal values)',
    auth: access.public ? 'public' : 'metrics',
    contentType: 'text/plain',
    response: z.string(),
    ...(access.public
      ? {}
      : {
          before: (request) => {
            const given = bearerToken(request);
            const allowed = given !== undefined && (sameSecret(given, runtime.operatorToken) || (runtime.metricsToken !== undefined && sameSecret(given, runtime.metricsToken)));
            if (!allowed) throw new TongbanError('UNAUTHORIZED', 'This call needs the metrics token or the operator token.');
          },
        }),
    handler: async (_input, _request, reply) => {
      scrape = new Map();
      const text = await registry.metrics();
      void reply.type(registry.contentType);
      return text;
    },
  });
}
