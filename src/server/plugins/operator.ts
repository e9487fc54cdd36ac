import { z } from 'zod';
import { operatorActor } from '../../audit/index.ts';
import { TongbanError } from '../../errors/index.ts';
import { ConsentArtefact, ExchangeResponse, Operator, Subject } from '../../exchange/index.ts';
import { requireBearer } from '../auth.ts';
import type { ServerContext } from '../context.ts';
import { dataAdminAuth } from '../data-admin.ts';
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
  /**
   * Who asks is who authenticated: the operator of the request is the caller (the operator token:
   * `{id: 'operator-token', role: 'operator'}`). Optional; one naming anyone else is refused
   * (OPERATOR_NOT_CALLER), audited, and nothing is sent.
   */
  operator: Operator.optional(),
  /** The citizen's consent: the artefact the hub signed (compact JWS), or its id (fetched from the hub). */
  consent: z.union([z.uuid(), ConsentArtefact]).optional(),
  via: z.enum(['bridge', 'hub']).optional(),
});

/** The local operator API: what staff tools (the CLI, later the console) ask their own node to do. */
export function operatorPlugin(context: ServerContext): void {
  const { app, openapi, runtime } = context;
  const admin = dataAdminAuth({ operatorToken: runtime.operatorToken, identity: runtime.identity, self: runtime.config.node.division });

  // Nodes only: no agreement can name the hub (its parties are approved nodes), so it requests no data.
  if (runtime.config.node.role === 'node') addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/operator/exchange',
    tag: 'operator',
    summary: 'Operator: request data from another node under an agreement, over a bridge or through the hub',
    body: OutgoingRequest,
    response: z.object({ requestId: z.string(), via: z.enum(['bridge', 'hub']), response: ExchangeResponse }),
    // No 409: the request id is fresh, so neither the provider nor the hub can see a replay.
    errors: [400, 401, 403, 404, 502, 503],
    auth: 'operator',
    before: (request) => requireBearer(request, runtime.operatorToken, 'operator'),
    handler: async ({ body }) => {
      const self = runtime.config.node.division;
      const caller = operatorActor(self);
      const operator = { id: caller.subject, role: 'operator' as const };
      if (body.operator && (body.operator.id !== operator.id || body.operator.role !== operator.role)) {
        await runtime.audit.append({
          kind: 'exchange.request',
          outcome: 'refused',
          code: 'OPERATOR_NOT_CALLER',
          provider: body.provider,
          service: body.service,
          purpose: body.purpose,
          caseId: body.caseId,
          operator: operator.id,
          actor: caller,
          detail: { claimedRole: body.operator.role },
        });
        throw new TongbanError('OPERATOR_NOT_CALLER', `The operator of a request is the authenticated caller (${operator.id}); a request cannot be made in the name of ${body.operator.id}.`);
      }
      const view = await runtime.exchange.directory.current();
      const found = body.agreementId && body.itemCode && body.fields ? undefined : view.policy.findGrant({ ...body, requester: self }, context.clock());
      const agreementId = body.agreementId ?? found?.agreement.id;
      const itemCode = body.itemCode ?? found?.itemCode;
      const fields = body.fields ?? found?.grant.fields;
      if (!agreementId || !itemCode || !fields) {
        throw new TongbanError('AGREEMENT_NOT_FOUND', `No agreement in force grants ${self} the service ${body.service} of ${body.provider}.`);
      }
      const { via, ...rest } = body;
      // The caller's operator replaces whatever the body said (it said nothing else, or the same).
      return runtime.client.request({ ...rest, operator, agreementId, itemCode, fields, ...(via ? { via } : {}) });
    },
  });

  addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/operator/directory/refresh',
    tag: 'operator',
    summary: 'Operator or data administrator: fetch the directory from the hub now instead of at the next refresh',
    response: z.object({ refreshed: z.boolean(), version: z.number().nullable() }),
    errors: [401],
    auth: admin.auth,
    before: admin.before,
    handler: async () => {
      const refreshed = (await runtime.directoryClient?.refresh()) ?? true;
      return { refreshed, version: runtime.directoryClient?.status().version ?? null };
    },
  });

  addRoute(app, openapi, {
    method: 'GET',
    url: '/v1/operator/directory',
    tag: 'operator',
    summary: "Operator or data administrator: the directory this node relies on (version, expiry, nodes with their key ids — RFC 7638 thumbprints — and services, agreements)",
    response: z.object({
      version: z.number().nullable(),
      issuedAt: z.string().nullable(),
      expiresAt: z.string().nullable(),
      lastError: z.string().nullable(),
      nodes: z.array(
        z.object({
          division: z.string(),
          name: z.string(),
          endpoint: z.string(),
          role: z.string(),
          signingKid: z.string(),
          encryptionKid: z.string(),
          /** Signing keys replaced by approved rotations, still valid for messages until validUntil. */
          previousKids: z.array(z.object({ kid: z.string(), validUntil: z.string() })),
          services: z.array(z.string()),
        }),
      ),
      agreements: z.array(z.object({ id: z.string(), version: z.number(), topology: z.string(), parties: z.array(z.string()) })),
    }),
    errors: [401],
    auth: admin.auth,
    before: admin.before,
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
        nodes: (view?.snapshot.nodes ?? []).map(({ division, name, endpoint, role, signingKey, encryptionKey, previousKeys, services }) => ({
          division,
          name,
          endpoint,
          role,
          signingKid: signingKey.kid,
          encryptionKid: encryptionKey.kid,
          previousKids: (previousKeys ?? []).map(({ kid, validUntil }) => ({ kid, validUntil })),
          services: services.map((s) => s.id),
        })),
        // The versions in force at this node, which may differ from what the hub offered.
        agreements: (view?.agreements ?? []).map(({ agreement: a }) => ({ id: a.id, version: a.version, topology: a.topology, parties: a.parties })),
      };
    },
  });
}
