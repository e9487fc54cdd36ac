import { z } from 'zod';
import { InboxBody, SealedEnvelope } from '../../messaging/index.ts';
import { incomingRequest, requireBearer } from '../auth.ts';
import type { ServerContext } from '../context.ts';
import { addRoute, Page } from '../route.ts';

export const InboxAnswerOut = z.object({ id: z.string(), result: z.enum(['applied', 'stale']), replayed: z.boolean() });

const OutboxEntryOut = z.object({
  id: z.string(),
  destination: z.string(),
  kind: z.string(),
  conversation: z.string().nullable(),
  /** The case of a `case:<id>` conversation (null for other conversations). */
  caseId: z.string().nullable(),
  via: z.enum(['bridge', 'hub']).nullable(),
  status: z.enum(['pending', 'delivered', 'dead']),
  attempts: z.number(),
  createdAt: z.string(),
  lastError: z.string().nullable(),
});

/** Node-to-node messages: the inbox (every node), the relay (hub), the operator's view of the outbox. */
export function messagesPlugin(context: ServerContext): void {
  const { app, openapi, runtime } = context;

  addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/messages/inbox',
    auth: 'node-signature',
    tag: 'messages',
    summary:
      'Node to node: a message (case hand-off or step, thread message, agreement negotiation, …) signed by its author, or relayed by the hub with the author’s JWS; applied once per (author, id)',
    bodyDoc: InboxBody,
    raw: true,
    response: InboxAnswerOut,
    errors: [403, 409, 422, 425],
    handler: async (_input, request) => runtime.messages.receive(incomingRequest(request, context.endpoint())),
  });

  if (runtime.config.node.role === 'hub') {
    addRoute(app, openapi, {
      method: 'POST',
      url: '/v1/messages/relay',
      auth: 'node-signature',
      tag: 'messages',
      summary: 'Hub: pass a message from its author (signed, and sealed for the destination) on to the destination unchanged; logs metadata only',
      bodyDoc: SealedEnvelope,
      raw: true,
      response: InboxAnswerOut,
      errors: [403, 409, 422, 425],
      handler: async (_input, request, reply) => {
        const outcome = await runtime.messages.relay(runtime.exchange, incomingRequest(request, context.endpoint()));
        return reply.code(outcome.status).header('content-type', outcome.contentType).send(outcome.body);
      },
    });
  }

  addRoute(app, openapi, {
    method: 'GET',
    url: '/v1/operator/outbox',
    tag: 'operator',
    summary: 'Operator: messages to other nodes that failed — refused for good (dead) or still retrying — with the error',
    query: Page(1000, 100),
    response: z.object({ messages: z.array(OutboxEntryOut) }),
    errors: [401],
    auth: 'operator',
    before: (request) => requireBearer(request, runtime.operatorToken, 'operator'),
    handler: async ({ query }) => {
      const messages = await runtime.store.outbox.list({ failed: true, limit: query.limit, offset: query.offset });
      return {
        messages: messages.map(({ id, destination, kind, conversation, via, status, attempts, createdAt, lastError }) => ({
          id,
          destination,
          kind,
          conversation,
          caseId: conversation?.startsWith('case:') ? conversation.slice('case:'.length) : null,
          via,
          status,
          attempts,
          createdAt,
          lastError,
        })),
      };
    },
  });
}
