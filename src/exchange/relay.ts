import type { AuditEvent } from '../audit/index.ts';
import type { DirectoryEntry, DirectoryView } from '../directory/snapshot.ts';
import { errorStatus, isTongbanError, TongbanError, toProblem, type ErrorCode } from '../errors/index.ts';
import type { ExchangeContext } from './context.ts';
import { authenticateRequest, signedRequestHeaders, verifyResponse, type IncomingRequest } from './http-messages.ts';
import { peerCall, REQUEST_ID_HEADER, type PeerAnswer } from './peer-http.ts';
import { parseJson } from './provider.ts';
import { HUB_REFUSAL_ORIGIN, RelayRequest, RelayResponse } from './protocol.ts';

/** What the relay hands back: the provider's status and exact body, to be signed by the hub. */
export interface RelayOutcome {
  readonly status: number;
  readonly body: string;
  readonly contentType: string;
}

/**
 * The hub's relay: it authenticates the requester, checks the clear envelope against the
 * registered agreement, logs metadata only, and forwards the encrypted payload it cannot read.
 * The provider's answer — data or refusal, both sealed for the requester — goes back as it came;
 * the hub cannot tell them apart. Every refusal the hub answers itself names it as `origin`.
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
    await ctx.agreementStates?.refresh?.();
    const decision = view.policy.decide({ ...envelope, hasConsent: true }, ctx.clock(), ctx.agreementStates);
    if (!decision.allowed) throw new TongbanError(decision.code, decision.reason);
    const provider = view.node(envelope.provider);
    if (!provider) throw new TongbanError('NODE_UNKNOWN', `${envelope.provider} is not in the directory.`);

    // The id of the envelope (a UUID the schema checked), not the caller's header: the provider's log lines correlate with the requester's.
    const { url, headers, response } = await forwardAsHub(ctx, provider, '/v1/exchange/relayed', request.body, { [REQUEST_ID_HEADER]: envelope.requestId });
    const bytes = response.body;
    if (!(await verifyResponse(provider, response, { method: 'POST', url, headers }, ctx.clock()))) {
      throw new TongbanError('PEER_RESPONSE_INVALID', `The answer is not signed by ${provider.division}.`);
    }
    if (response.status !== 200) {
      // The provider refused the hub's own hop (before it could know the requester): the hub
      // answers that as its own refusal — it cannot speak for the provider to the requester.
      const code = codeOf(bytes);
      throw new TongbanError(code ?? 'PEER_RESPONSE_INVALID', `${provider.division} refused the hub's relay hop${code ? ` (${code})` : ''}.`);
    }
    const answer = RelayResponse.safeParse(parseOrNull(bytes));
    if (!answer.success || answer.data.requestId !== envelope.requestId) {
      throw new TongbanError('PEER_RESPONSE_INVALID', `${provider.division} answered the relay in an unexpected form.`);
    }
    await ctx.audit.append({ kind: 'exchange.relay', outcome: 'relayed', ...envelopeEvent, detail: { status: response.status, bytes: bytes.length } });
    return { status: 200, body: new TextDecoder().decode(bytes), contentType: 'application/json' };
  } catch (error) {
    return hubRefusal(ctx, error, { kind: 'exchange.relay', ...envelopeEvent, detail: {} });
  }
}

/** The hub's hop: the request's bytes, unchanged, POSTed to `path` at `destination`, signed by the hub. */
export async function forwardAsHub(
  ctx: Pick<ExchangeContext, 'signingKey' | 'clock' | 'peerTimeoutMs'>,
  destination: DirectoryEntry,
  path: string,
  bytes: Uint8Array,
  /** Unsigned headers sent along (log correlation). */
  extra: Record<string, string> = {},
): Promise<{ url: string; headers: Record<string, string>; response: PeerAnswer }> {
  const url = new URL(path, destination.endpoint).toString();
  const body = new TextDecoder().decode(bytes);
  const headers = await signedRequestHeaders(ctx.signingKey.current(), url, body, ctx.clock());
  try {
    return { url, headers, response: await peerCall(url, { method: 'POST', headers: { ...headers, ...extra }, body, timeoutMs: ctx.peerTimeoutMs ?? 10_000 }) };
  } catch (error) {
    throw new TongbanError('PEER_UNREACHABLE', `${destination.name} (${destination.division}) did not answer.`, { cause: error });
  }
}

/**
 * The hub's own refusal of something it was asked to relay (an exchange, a message): audited with
 * what the hub could read, answered as problem+json naming the hub as `origin`.
 */
export async function hubRefusal(ctx: Pick<ExchangeContext, 'audit' | 'self'>, error: unknown, event: Omit<AuditEvent, 'outcome' | 'code'>): Promise<RelayOutcome> {
  const known = isTongbanError(error);
  const problem = known ? error.toProblem() : toProblem('INTERNAL', 'An internal error occurred.');
  if (!known) console.error(`${event.kind}: unexpected error`, error);
  await ctx.audit.append({ ...event, outcome: known && error.status < 500 ? 'refused' : 'error', code: problem.code });
  const body = { ...problem, [HUB_REFUSAL_ORIGIN]: ctx.self };
  return { status: problem.status, body: JSON.stringify(body), contentType: 'application/problem+json' };
}

function parseOrNull(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
}

/** The provider's stable code, when it is one this node knows. */
function codeOf(bytes: Uint8Array): ErrorCode | undefined {
  const code = (parseOrNull(bytes) as { code?: unknown } | null)?.code;
  return typeof code === 'string' && Object.hasOwn(errorStatus, code) ? (code as ErrorCode) : undefined;
}
