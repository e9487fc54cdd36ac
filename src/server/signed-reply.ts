import type { FastifyReply, FastifyRequest } from 'fastify';
import { signedResponseHeaders } from '../exchange/index.ts';
import type { ServerContext } from './context.ts';
import { incomingRequest } from './auth.ts';

/** Sends a JSON body signed by this node and bound to the request it answers (RFC 9421 ;req). */
export async function sendSigned(
  context: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  body: string,
  contentType: string,
): Promise<FastifyReply> {
  const incoming = incomingRequest(request, context.endpoint());
  // Fastify appends a charset to JSON types; sign the header exactly as it will be sent.
  const sentType = contentType.includes('charset=') ? contentType : `${contentType}; charset=utf-8`;
  const headers = await signedResponseHeaders(context.runtime.signingKey, { status, contentType: sentType, body }, incoming, context.clock());
  return reply.code(status).headers(headers).send(body);
}

export function contentTypeOf(status: number): string {
  return status >= 400 ? 'application/problem+json' : 'application/json';
}
