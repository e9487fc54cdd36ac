import { z } from 'zod';
import { TongbanError } from '../../errors/index.ts';
import { ConsentArtefact, ExchangeResponse, Operator, Subject } from '../../exchange/index.ts';
import { requireBearer } from '../auth.ts';
import type { ServerContext } from '../context.ts';
import { addRoute } from '../route.ts';

const OutgoingRequest = z.object({
  provider: z.string().regex(/^\d{6}$/),
  service: z.string().min(3).max(100),
  subject: Subject,
  purpose: z.string().min(1).max(100),
  /** When omitted: the agreement in force that grants this node the service of the provider. */
  agreementId: z.string().optional(),
  itemCode: z.string().optional(),
  /** When omitted: every field the agreement grants. */
  fields: z.array(z.string()).min(1).optional(),
  caseId: z.string().min(1).max(80).default('ad-hoc'),
  operator: Operator.default({ id: 'operator', role: 'clerk' }),
  /** The citizen's consent: the artefact the hub signed (compact JWS), or its id (fetched from the hub). */
  consent: z.union([z.uuid(), ConsentArtefact]).optional(),
  via: z.enum(['bridge', 'hub']).optional(),
});

/** The local operator API: what staff tools (the CLI, later the console) ask their own node to do. */
export function operatorPlugin(context: ServerContext): void {
  const { app, openapi, runtime } = context;

  // Nodes only: no agreement can name the hub (its parties are approved nodes), so it requests no data.
  if (runtime.config.node.role === 'node') addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/operator/exchange',
    tag: 'operator',
    summary: 'Operator: request data from another node under an agreement, over a bridge or through the hub',
    body: OutgoingRequest,
    response: z.object({ requestId: z.string(), via: z.enum(['bridge', 'hub']), response: ExchangeResponse }),
    // No 409: the request id is fresh, so neither the provider nor the hub can see a replay.
    errors: [401, 403, 404, 502, 503],
    auth: 'operator',
    before: (request) => requireBearer(request, runtime.operatorToken, 'operator'),
    handler: async ({ body }) => {
      const view = await runtime.exchange.directory.current();
      const self = runtime.config.node.division;
      const found = body.agreementId && body.itemCode && body.fields ? undefined : view.policy.findGrant({ ...body, requester: self }, context.clock());
      const agreementId = body.agreementId ?? found?.agreement.id;
      const itemCode = body.itemCode ?? found?.itemCode;
      const fields = body.fields ?? found?.grant.fields;
      if (!agreementId || !itemCode || !fields) {
        throw new TongbanError('AGREEMENT_NOT_FOUND', `No agreement in force grants ${self} the service ${body.service} of ${body.provider}.`);
      }
      const { via, ...rest } = body;
      return runtime.client.request({ ...rest, agreementId, itemCode, fields, ...(via ? { via } : {}) });
    },
  });

  addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/operator/directory/refresh',
    tag: 'operator',
    summary: 'Operator: fetch the directory from the hub now instead of at the next refresh',
    response: z.object({ refreshed: z.boolean(), version: z.number().nullable() }),
    errors: [401],
    auth: 'operator',
    before: (request) => requireBearer(request, runtime.operatorToken, 'operator'),
    handler: async () => {
      const refreshed = (await runtime.directoryClient?.refresh()) ?? true;
      return { refreshed, version: runtime.directoryClient?.status().version ?? null };
    },
  });

  addRoute(app, openapi, {
    method: 'GET',
    url: '/v1/operator/directory',
    tag: 'operator',
    summary: "Operator: the directory this node relies on (version, expiry, nodes, agreements)",
    response: z.object({
      version: z.number().nullable(),
      issuedAt: z.string().nullable(),
      expiresAt: z.string().nullable(),
      lastError: z.string().nullable(),
      nodes: z.array(z.object({ division: z.string(), name: z.string(), endpoint: z.string(), role: z.string() })),
      agreements: z.array(z.object({ id: z.string(), version: z.number(), topology: z.string(), parties: z.array(z.string()) })),
    }),
    errors: [401],
    auth: 'operator',
    before: (request) => requireBearer(request, runtime.operatorToken, 'operator'),
    handler: async () => {
      let view;
      try {
        view = await runtime.exchange.directory.current();
      } catch {
        view = undefined;
      }
      const status = runtime.directoryClient?.status() ?? { version: view?.version ?? null, issuedAt: view?.snapshot.issuedAt ?? null, expiresAt: view?.snapshot.expiresAt ?? null, lastError: null };
      return {
        ...status,
        nodes: (view?.snapshot.nodes ?? []).map(({ division, name, endpoint, role }) => ({ division, name, endpoint, role })),
        // The versions in force at this node, which may differ from what the hub offered.
        agreements: (view?.agreements ?? []).map(({ agreement: a }) => ({ id: a.id, version: a.version, topology: a.topology, parties: a.parties })),
      };
    },
  });
}
