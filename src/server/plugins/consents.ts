import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { isTongbanError, TongbanError, toProblem } from '../../errors/index.ts';
import { authenticateRequest, ConsentArtefact, ConsentStatusAnswer } from '../../exchange/index.ts';
import { ConsentGrantInput, ConsentUse } from '../../identity/consent/index.ts';
import type { Person } from '../../identity/person.ts';
import { incomingRequest } from '../auth.ts';
import type { ServerContext } from '../context.ts';
import { addRoute, Page } from '../route.ts';
import { contentTypeOf, sendSigned } from '../signed-reply.ts';

export const ConsentOut = z.object({
  id: z.uuid(),
  /** `used`: a single-use consent the provider reported served (revoked wins over used, used over expired). */
  status: z.enum(['active', 'used', 'revoked', 'expired']),
  /** Uses as the provider reported them (docs/consent.md): the provider's count, a moment late. */
  useCount: z.number().int().min(0),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  createdAt: z.string(),
  requester: z.string(),
  provider: z.string(),
  agreementId: z.string(),
  itemCode: z.string(),
  service: z.string(),
  purpose: z.string(),
  fields: z.array(z.string()),
  use: ConsentUse,
  notBefore: z.string(),
  expiresAt: z.string(),
  /** The compact JWS the hub signed: what the requesting node attaches to its request (or its id). */
  artefact: ConsentArtefact,
});

/**
 * Consent the citizen gives (docs/consent.md), at the hub: a signed-in citizen grants, lists and
 * revokes their own consents; a node named in a consent asks for its artefact and status.
 */
export function consentsPlugin(context: ServerContext): void {
  const { app, openapi, runtime } = context;
  if (runtime.config.node.role !== 'hub') return;
  const consents = runtime.consents!;
  nodeRoutes(context);
  // The citizen is who signed in at the hub (a hub access token), never a name in the body; the
  // service refuses anyone else (CONSENT_FORBIDDEN: staff, machine clients, unknown accounts).
  const identity = runtime.identity;
  const people = new WeakMap<FastifyRequest, Person>();
  const authenticate = async (request: FastifyRequest) => {
    people.set(request, await identity.authenticate(request));
  };
  const personOf = (request: FastifyRequest): Person => {
    const person = people.get(request);
    if (!person) throw new TongbanError('UNAUTHORIZED', 'This call needs a citizen signed in at the hub.');
    return person;
  };

  addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/consents',
    tag: 'consents',
    summary:
      "Citizen: consent that `requester` receives `fields` of the citizen from `provider` for `purpose`, under a registered agreement whose grant requires consent; the hub signs the artefact on the citizen's behalf (single use or until `expiresAt`)",
    body: ConsentGrantInput,
    response: ConsentOut,
    status: 201,
    // Refusals of the grant are the provider's own decision (403: AGREEMENT_NOT_FOUND, NOT_A_PARTY,
    // FIELD_NOT_ALLOWED…), CONSENT_FORBIDDEN for anyone but a signed-in citizen, 422 CONSENT_NOT_REQUIRED.
    errors: [401, 403, 422],
    auth: 'person',
    before: authenticate,
    handler: async ({ body }, request) => consents.grant(personOf(request), body),
  });

  addRoute(app, openapi, {
    method: 'GET',
    url: '/v1/consents',
    tag: 'consents',
    summary: "Citizen: the caller's own consents, newest first, each with its status (active, used — a single-use consent served —, revoked, expired) and use count",
    query: Page(200, 50),
    response: z.object({ consents: z.array(ConsentOut), total: z.number() }),
    errors: [401, 403],
    auth: 'person',
    before: authenticate,
    handler: async ({ query }, request) => consents.list(personOf(request), query),
  });

  addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/consents/:id/revoke',
    tag: 'consents',
    summary: "Citizen: revoke one's own consent; the provider it names is told at once (and until it has heard) and refuses its next use",
    params: z.object({ id: z.uuid() }),
    response: ConsentOut,
    errors: [401, 403, 404],
    auth: 'person',
    before: authenticate,
    handler: async ({ params }, request) => consents.revoke(personOf(request), params.id),
  });
}

/** A node the consent names asks the hub for its artefact and status (how a requester resolves a consent id). */
function nodeRoutes(context: ServerContext): void {
  const { app, openapi, runtime } = context;
  const consents = runtime.consents!;
  addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/consents/:id/status',
    auth: 'node-signature',
    signedAnswer: true,
    tag: 'consents',
    summary: 'Node: the artefact, status and use count of a consent that names the calling node as requester or provider (CONSENT_NOT_FOUND for any other)',
    // Any string: the signature is checked first, an id that is no consent is then CONSENT_NOT_FOUND.
    params: z.object({ id: z.string().max(80) }),
    bodyDoc: z.object({}),
    raw: true,
    response: ConsentStatusAnswer,
    errors: [401, 403, 404, 409],
    handler: async ({ params }, request, reply) => {
      let status = 200;
      let body: unknown;
      try {
        const view = await runtime.exchange.directory.current();
        const auth = await authenticateRequest(incomingRequest(request, context.endpoint()), view, runtime.store, context.clock());
        if (!auth.ok) throw new TongbanError(auth.code, auth.message);
        body = await consents.statusFor(auth.node.division, params.id);
      } catch (error) {
        const problem = isTongbanError(error) ? error.toProblem() : toProblem('INTERNAL', 'An internal error occurred.');
        if (!isTongbanError(error)) console.error('consents: unexpected error', error);
        status = problem.status;
        body = problem;
      }
      return sendSigned(context, request, reply, status, JSON.stringify(body), contentTypeOf(status));
    },
  });
}
