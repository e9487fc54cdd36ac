import { z } from 'zod';
import { Agreement, PartySignature, SignedAgreement } from '../../agreements/index.ts';
import { isTongbanError, TongbanError } from '../../errors/index.ts';
import { authenticateRequest } from '../../exchange/index.ts';
import { Registration, submitToHub } from '../../node/index.ts';
import { incomingRequest, requireBearer } from '../auth.ts';
import type { ServerContext } from '../context.ts';
import { addRoute } from '../route.ts';


/** Agreement registry at the hub; signing and submission on a node's operator API. */
export function agreementsPlugin(context: ServerContext): void {
  const { app, openapi, runtime } = context;

  if (runtime.config.node.role === 'hub') {
    addRoute(app, openapi, {
      method: 'POST',
      url: '/v1/agreements',
      auth: 'node-signature',
      tag: 'agreements',
      summary:
        'Register an agreement signed by every party; the submitting node signs the request. A new version of an agreement id must also be signed by every party of the version in force (AGREEMENT_NOT_COSIGNED); the same version must carry the same terms, and a new version must be valid already (AGREEMENT_VERSION_CONFLICT).',
      bodyDoc: SignedAgreement,
      response: Registration,
      errors: [401, 403, 409],
      handler: async (_input, request) => {
        const view = await runtime.exchange.directory.current();
        const auth = await authenticateRequest(incomingRequest(request, context.endpoint()), view, runtime.store, context.clock());
        if (!auth.ok) throw new TongbanError(auth.code, auth.message);
        let result;
        try {
          result = await runtime.hubDirectory!.registerAgreement(request.body);
        } catch (error) {
          // A refused registration may be an attempt to take an agreement over: log it.
          if (isTongbanError(error)) {
            const claimed = SignedAgreement.safeParse(request.body);
            await runtime.audit.append({
              kind: 'agreement.register',
              outcome: 'refused',
              code: error.code,
              requester: auth.node.division,
              ...(claimed.success ? { agreementId: claimed.data.agreement.id } : {}),
              detail: { ...(claimed.success ? { version: claimed.data.agreement.version } : {}), reason: error.message.slice(0, 300) },
            });
          }
          throw error;
        }
        await runtime.audit.append({ kind: 'agreement.register', outcome: 'allowed', requester: auth.node.division, agreementId: result.id, detail: { version: result.version } });
        return result;
      },
    });

    addRoute(app, openapi, {
      method: 'GET',
      url: '/v1/agreements/:id',
      tag: 'agreements',
      summary: 'A registered agreement (newest version) with its party signatures; AGREEMENT_NOT_FOUND (403, as in an exchange) when the hub holds none under that id',
      params: z.object({ id: z.string().max(80) }),
      response: SignedAgreement,
      errors: [403, 429],
      rateLimit: context.rateLimits.public,
      handler: async ({ params }) => {
        const signed = await runtime.store.agreements.get(params.id);
        if (!signed) throw new TongbanError('AGREEMENT_NOT_FOUND', `No registered agreement ${params.id}.`);
        return signed;
      },
    });
  }

  addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/operator/agreements/accept',
    tag: 'operator',
    summary:
      "Operator: accept an agreement's terms as a whole (agreed outside a negotiation, e.g. on paper): records their RFC 8785 hash as what this node consents to for that version, which the sign endpoint then signs",
    body: z.object({ agreement: Agreement, operator: z.string().min(1).max(64).optional() }),
    response: z.object({ agreementId: z.string(), version: z.number(), hash: z.string() }),
    errors: [401, 403],
    auth: 'operator',
    before: (request) => requireBearer(request, runtime.operatorToken, 'operator'),
    handler: async ({ body }) => runtime.negotiations.acceptTerms(body.agreement, { node: runtime.config.node.division, id: body.operator ?? 'operator', role: 'operator' }),
  });

  addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/operator/agreements/sign',
    tag: 'operator',
    summary:
      "Operator: sign an agreement with this node's key (a party's consent to its terms) — only the exact terms this node accepted, in a negotiation or with /v1/operator/agreements/accept (AGREEMENT_NOT_ACCEPTED otherwise)",
    body: z.object({ agreement: Agreement }),
    response: PartySignature,
    errors: [401, 403, 409],
    auth: 'operator',
    before: (request) => requireBearer(request, runtime.operatorToken, 'operator'),
    handler: async ({ body }) => runtime.negotiations.signAccepted(body.agreement),
  });

  if (runtime.config.node.role === 'node') {
    addRoute(app, openapi, {
      method: 'POST',
      url: '/v1/operator/agreements/submit',
      tag: 'operator',
      summary: 'Operator: submit a fully signed agreement to the hub for registration',
      body: SignedAgreement,
      response: Registration,
      errors: [401, 403, 409, 502, 503],
      auth: 'operator',
      before: (request) => requireBearer(request, runtime.operatorToken, 'operator'),
      handler: async ({ body }) => submitToHub({ config: runtime.config, keys: runtime.keys, directoryClient: runtime.directoryClient, clock: context.clock }, body),
    });
  }
}
