import { z } from 'zod';
import { Agreement, PartySignature, SignedAgreement, signAgreement } from '../../agreements/index.ts';
import { isTongbanError, TongbanError } from '../../errors/index.ts';
import { authenticateRequest, signedRequestHeaders } from '../../exchange/index.ts';
import { incomingRequest, requireBearer } from '../auth.ts';
import type { ServerContext } from '../context.ts';
import { addRoute } from '../route.ts';

const Registration = z.object({ id: z.string(), version: z.number(), registered: z.boolean() });

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
        'Register an agreement signed by every party; the submitting node signs the request. A new version of an agreement id must also be signed by every party of the version in force (AGREEMENT_NOT_COSIGNED); the same version must carry the same terms (AGREEMENT_VERSION_CONFLICT).',
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
    url: '/v1/operator/agreements/sign',
    tag: 'operator',
    summary: "Operator: sign an agreement with this node's key (a party's consent to its terms)",
    body: z.object({ agreement: Agreement }),
    response: PartySignature,
    errors: [401, 403],
    auth: 'operator',
    before: (request) => requireBearer(request, runtime.operatorToken, 'operator'),
    handler: async ({ body }) => {
      const self = runtime.config.node.division;
      if (!body.agreement.parties.includes(self)) throw new TongbanError('NOT_A_PARTY', `${self} is not a party to ${body.agreement.id}.`);
      const signature = await signAgreement(body.agreement, self, runtime.signingKey);
      await runtime.audit.append({ kind: 'agreement.sign', outcome: 'allowed', agreementId: body.agreement.id, detail: { version: body.agreement.version } });
      return signature;
    },
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
    handler: async ({ body }) => {
        const url = new URL('/v1/agreements', runtime.config.hub!.url).toString();
        const text = JSON.stringify(body);
        const headers = await signedRequestHeaders(runtime.signingKey, url, text, context.clock());
        let response: Response;
        try {
          response = await fetch(url, { method: 'POST', headers, body: text, signal: AbortSignal.timeout(10_000) });
        } catch (error) {
          throw new TongbanError('HUB_UNREACHABLE', 'The hub did not answer.', { cause: error });
        }
        const json = (await response.json()) as { code?: string; detail?: string };
        if (!response.ok) throw new TongbanError((json.code as 'AGREEMENT_INVALID') ?? 'PEER_RESPONSE_INVALID', `hub: ${json.detail ?? response.status}`);
        // The new agreement reaches this node's policy index with the next snapshot; fetch it now.
        await runtime.directoryClient?.refresh();
        return Registration.parse(json);
      },
    });
  }
}
