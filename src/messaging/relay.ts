import { TongbanError } from '../errors/index.ts';
import { authenticateRequest, type ExchangeContext, type IncomingRequest, type RelayOutcome } from '../exchange/index.ts';
import { parseJson } from '../exchange/provider.ts';
import { forwardAsHub, hubRefusal } from '../exchange/relay.ts';
import { SealedEnvelope } from './envelope.ts';
import { problemCode } from './outbox-worker.ts';

/**
 * The hub's message relay (`POST /v1/messages/relay`): the sender signs the request (RFC 9421)
 * and seals the envelope it signed (JWS) for the destination (JWE); the hub checks that the
 * request's signer is the envelope's `from` and that sender and destination are approved nodes
 * of its directory, logs metadata only (id, kind, conversation, the two divisions — it cannot
 * read the payload), and forwards the body unchanged to the destination's inbox, signed by
 * itself. The destination opens it and verifies the author's JWS, so the hub can neither read,
 * forge or alter a message, nor redirect one (it is sealed for, and names, its destination).
 * The destination's answer goes back as it came; the hub's own refusals name it as `origin`.
 */
export async function relayMessage(ctx: ExchangeContext, request: IncomingRequest): Promise<RelayOutcome> {
  let event: { requester?: string; provider?: string; detail: Record<string, string> } = { detail: {} };
  try {
    const view = await ctx.directory.current();
    const now = ctx.clock();
    const auth = await authenticateRequest(request, view, ctx.store, now);
    if (!auth.ok) throw new TongbanError(auth.code, auth.message);
    const parsed = parseJson(request.body, SealedEnvelope);
    if (!parsed.ok) throw parsed.error;
    const envelope = parsed.value;
    event = { requester: auth.node.division, provider: envelope.to, detail: { message: envelope.id, kind: envelope.kind, conversation: envelope.conversation } };
    if (envelope.from !== auth.node.division) {
      throw new TongbanError('MESSAGE_SENDER_MISMATCH', `The request is signed by ${auth.node.division} but names ${envelope.from} as the message's author.`);
    }
    const destination = view.node(envelope.to);
    if (!destination || envelope.to === ctx.self) throw new TongbanError('NODE_UNKNOWN', `${envelope.to} is not an approved node the hub relays to.`);
    const { response } = await forwardAsHub(ctx, destination, '/v1/messages/inbox', request.body);
    const ok = response.status >= 200 && response.status < 300;
    const code = ok ? undefined : problemCode(new TextDecoder().decode(response.body));
    await ctx.audit.append({ kind: 'message.relay', outcome: ok ? 'relayed' : 'refused', ...(code ? { code } : {}), ...event, detail: { ...event.detail, status: response.status } });
    const contentType = typeof response.headers['content-type'] === 'string' ? response.headers['content-type'] : ok ? 'application/json' : 'application/problem+json';
    return { status: response.status, body: new TextDecoder().decode(response.body), contentType };
  } catch (error) {
    return hubRefusal(ctx, error, { kind: 'message.relay', ...event });
  }
}

