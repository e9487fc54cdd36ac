import type { DirectoryView } from '../directory/snapshot.ts';
import { isTongbanError, TongbanError, toProblem } from '../errors/index.ts';
import type { ExchangeContext } from './context.ts';
import { authenticateRequest, signedRequestHeaders, verifyResponse, type IncomingRequest } from './http-messages.ts';
import { parseJson } from './provider.ts';
import { RelayRequest } from './protocol.ts';

/** What the relay hands back: the provider's status and exact body, to be signed by the hub. */
export interface RelayOutcome {
  readonly status: number;
  readonly body: string;
  readonly contentType: string;
}

/**
 * The hub's relay: it authenticates the requester, checks the clear envelope against the
 * registered agreement, logs metadata only, and forwards the encrypted payload it cannot read.
 */
export async function relay(ctx: ExchangeContext, request: IncomingRequest): Promise<RelayOutcome> {
  let envelopeEvent: Record<string, string> = {};
  try {
    const view: DirectoryView = await ctx.directory.current();
    const auth = await authenticateRequest(request, view, ctx.store, ctx.clock());
    if (!auth.ok) throw new TongbanError(auth.code, auth.message);
    const parsed = parseJson(request.body, RelayRequest);
    if (!parsed.ok) throw parsed.error;
    const { envelope } = parsed.value;
    envelopeEvent = {
      requestId: envelope.requestId,
      requester: envelope.requester,
      provider: envelope.provider,
      agreementId: envelope.agreementId,
      itemCode: envelope.itemCode,
      service: envelope.service,
      purpose: envelope.purpose,
    };
    if (envelope.requester !== auth.node.division) {
      throw new TongbanError('SIGNATURE_INVALID', `The request is signed by ${auth.node.division} but claims to come from ${envelope.requester}.`);
    }
    const agreement = view.policy.get(envelope.agreementId);
    if (agreement && agreement.topology !== 'hub') {
      throw new TongbanError('TOPOLOGY_NOT_ALLOWED', `Agreement ${agreement.id} is a bridge agreement; its parties call each other directly.`);
    }
    // Consent and subject are inside the payload: the provider checks those.
    const decision = view.policy.decide({ ...envelope, hasConsent: true }, ctx.clock());
    if (!decision.allowed) throw new TongbanError(decision.code, decision.reason);
    const provider = view.node(envelope.provider);
    if (!provider) throw new TongbanError('NODE_UNKNOWN', `${envelope.provider} is not in the directory.`);

    const url = new URL('/v1/exchange/relayed', provider.endpoint).toString();
    const body = new TextDecoder().decode(request.body);
    const headers = await signedRequestHeaders(ctx.signingKey, url, body, ctx.clock());
    let response: Response;
    try {
      response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(ctx.peerTimeoutMs ?? 10_000) });
    } catch (error) {
      throw new TongbanError('PEER_UNREACHABLE', `${provider.name} (${provider.division}) did not answer.`, { cause: error });
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    const responseHeaders = Object.fromEntries([...response.headers.entries()].map(([k, v]) => [k.toLowerCase(), v]));
    if (!(await verifyResponse(provider, { status: response.status, headers: responseHeaders, body: bytes }, { method: 'POST', url, headers }, ctx.clock()))) {
      throw new TongbanError('PEER_RESPONSE_INVALID', `The answer is not signed by ${provider.division}.`);
    }
    const providerCode = response.status === 200 ? undefined : codeOf(bytes);
    await ctx.audit.append({
      kind: 'exchange.relay',
      outcome: response.status === 200 ? 'relayed' : 'refused',
      ...envelopeEvent,
      ...(providerCode ? { code: providerCode } : {}),
      detail: { status: response.status, bytes: bytes.length },
    });
    return { status: response.status, body: new TextDecoder().decode(bytes), contentType: responseHeaders['content-type'] ?? 'application/json' };
  } catch (error) {
    const known = isTongbanError(error);
    const problem = known ? error.toProblem() : toProblem('INTERNAL', 'An internal error occurred.');
    if (!known) console.error('relay: unexpected error', error);
    await ctx.audit.append({ kind: 'exchange.relay', outcome: known && error.status < 500 ? 'refused' : 'error', ...envelopeEvent, code: problem.code, detail: {} });
    return { status: problem.status, body: JSON.stringify(problem), contentType: 'application/problem+json' };
  }
}

function codeOf(bytes: Uint8Array): string | undefined {
  try {
    const code = (JSON.parse(new TextDecoder().decode(bytes)) as { code?: unknown }).code;
    return typeof code === 'string' ? code.slice(0, 60) : undefined;
  } catch {
    return undefined;
  }
}
