
import { ExchangeRequest, ExchangeResponse, provideDirect, provideRelayed, relay, RelayRequest, RelayResponse } from '../../exchange/index.ts';
import { incomingRequest } from '../auth.ts';
import type { ServerContext } from '../context.ts';
import { addRoute } from '../route.ts';
import { contentTypeOf, sendSigned } from '../signed-reply.ts';

/**
 * Provider endpoints (nodes) and the relay (hub). Answers, refusals included, are signed. The hub is
 * no provider: it publishes no data service, and no agreement can name it (parties are approved
 * nodes of its directory, NODE_NOT_APPROVED otherwise), so it serves neither provider route.
 */
export function exchangePlugin(context: ServerContext): void {
  const { app, openapi, runtime } = context;
  if (runtime.config.node.role === 'node') providerRoutes(context);
  if (runtime.config.node.role === 'hub') {
    addRoute(app, openapi, {
      method: 'POST',
      url: '/v1/relay',
      auth: 'node-signature',
      signedAnswer: true,
      tag: 'exchange',
      summary: 'Hub: check a hub-mode request against its registered agreement and relay it without reading the payload',
      bodyDoc: RelayRequest,
      raw: true,
      response: RelayResponse,
      errors: [401, 403, 409],
      handler: async (_input, request, reply) => {
        const outcome = await relay(runtime.exchange, incomingRequest(request, context.endpoint()));
        return sendSigned(context, request, reply, outcome.status, outcome.body, outcome.contentType);
      },
    });
  }
}

function providerRoutes(context: ServerContext): void {
  const { app, openapi, runtime } = context;
  // 409: a replayed signed request. Before the requester is known a relayed request is refused in
  // clear (400, 401, 403, 409); after, refusals (404 included) travel sealed as 200 answers. The
  // relay answers the hub's own refusals; a provider's refusal of its hop is never a 404.

  addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/exchange',
    auth: 'node-signature',
    signedAnswer: true,
    tag: 'exchange',
    summary: 'Bridge mode: answer a signed data request from another node, within its agreement',
    bodyDoc: ExchangeRequest,
    raw: true,
    response: ExchangeResponse,
    errors: [401, 403, 404, 409],
    handler: async (_input, request, reply) => {
      const outcome = await provideDirect(runtime.exchange, incomingRequest(request, context.endpoint()));
      return sendSigned(context, request, reply, outcome.status, JSON.stringify(outcome.body), contentTypeOf(outcome.status));
    },
  });

  addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/exchange/relayed',
    auth: 'hub-signature',
    signedAnswer: true,
    tag: 'exchange',
    summary: 'Hub mode: answer a request relayed by the hub (payload encrypted end to end)',
    bodyDoc: RelayRequest,
    raw: true,
    response: RelayResponse,
    errors: [401, 403, 409],
    handler: async (_input, request, reply) => {
      const outcome = await provideRelayed(runtime.exchange, incomingRequest(request, context.endpoint()));
      return sendSigned(context, request, reply, outcome.status, JSON.stringify(outcome.body), contentTypeOf(outcome.status));
    },
  });
}
