
import { ExchangeRequest, ExchangeResponse, provideDirect, provideRelayed, relay, RelayRequest, RelayResponse } from '../../exchange/index.ts';
import { incomingRequest } from '../auth.ts';
import type { ServerContext } from '../context.ts';
import { addRoute } from '../route.ts';
import { contentTypeOf, sendSigned } from '../signed-reply.ts';

/** Provider endpoints (every node) and the relay (hub). Answers, refusals included, are signed. */
export function exchangePlugin(context: ServerContext): void {
  const { app, openapi, runtime } = context;
  const errors = [401, 403, 404, 409, 502, 503];

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
    errors,
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
    errors,
    handler: async (_input, request, reply) => {
      const outcome = await provideRelayed(runtime.exchange, incomingRequest(request, context.endpoint()));
      return sendSigned(context, request, reply, outcome.status, JSON.stringify(outcome.body), contentTypeOf(outcome.status));
    },
  });

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
      errors,
      handler: async (_input, request, reply) => {
        const outcome = await relay(runtime.exchange, incomingRequest(request, context.endpoint()));
        return sendSigned(context, request, reply, outcome.status, outcome.body, outcome.contentType);
      },
    });
  }
}

