import { createHash, randomUUID } from 'node:crypto';
import { decryptWith, encryptFor, signJws, verifyJws } from '../crypto/index.ts';
import { signingKeyFor, type DirectoryEntry, type DirectoryView } from '../directory/snapshot.ts';
import { errorStatus, isTongbanError, TongbanError, type ErrorCode } from '../errors/index.ts';
import { exchangeAuditFields } from './audit-fields.ts';
import type { ExchangeContext } from './context.ts';
import { signedRequestHeaders, verifyResponse } from './http-messages.ts';
import { checkConsentArtefact } from './consent.ts';
import { peerCall, REQUEST_ID_HEADER, type PeerAnswer } from './peer-http.ts';
import {
  envelopeOf,
  ExchangeRefusal,
  ExchangeResponse,
  HUB_REFUSAL_ORIGIN,
  JWE_CTY,
  JWS_TYP_REFUSAL,
  JWS_TYP_REQUEST,
  JWS_TYP_RESPONSE,
  normalisedSubject,
  ConsentStatusAnswer,
  RelayResponse,
  REQUEST_TTL_SECONDS,
  type ExchangeRequest,
} from './protocol.ts';

const CONSENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type OutgoingExchange = Omit<ExchangeRequest, 'requestId' | 'requester'> & {
  /** Route: `bridge` straight to the provider, `hub` through the hub's relay. Defaults to the agreement's topology. */
  readonly via?: 'bridge' | 'hub';
};

export interface ExchangeResult {
  readonly requestId: string;
  readonly via: 'bridge' | 'hub';
  readonly response: ExchangeResponse;
}

/**
 * The requesting side: signs the request, sends it over a bridge or through the hub,
 * verifies the provider's signed answer, and records the outcome in the audit log.
 */
export class ExchangeClient {
  readonly #ctx: ExchangeContext;

  constructor(ctx: ExchangeContext) {
    this.#ctx = ctx;
  }

  async request(input: OutgoingExchange): Promise<ExchangeResult> {
    const ctx = this.#ctx;
    const { via: requestedVia, ...rest } = input;
    // The subject in its standard form: the provider looks up, and both sides hash, the same value.
    let exchange: ExchangeRequest = { ...rest, subject: normalisedSubject(rest.subject), requestId: randomUUID(), requester: ctx.self };
    // The operator is the person this node authenticated (callers set it from the caller, never from a body).
    const event: { kind: string; detail?: Record<string, string> } & ReturnType<typeof exchangeAuditFields> & { actor: { subject: string; node: string; role: string } } = {
      kind: 'exchange.request',
      ...exchangeAuditFields(ctx.auditKey, exchange),
      actor: { subject: exchange.operator.id, node: ctx.self, role: exchange.operator.role },
    };
    let via: 'bridge' | 'hub' = requestedVia ?? 'bridge';
    try {
      const view = await ctx.directory.current();
      // A consent named by its id is fetched from the hub (which tells whether it is still active).
      if (exchange.consent !== undefined && CONSENT_ID.test(exchange.consent)) exchange = { ...exchange, consent: await this.#consentArtefact(view, exchange.consent) };
      if (exchange.consent === undefined) {
        // Where the agreement requires consent, a request without one never leaves this node.
        await ctx.agreementStates?.refresh?.();
        const decision = view.policy.decide({ ...exchange, hasConsent: false }, ctx.clock(), ctx.agreementStates);
        if (!decision.allowed && decision.code === 'CONSENT_REQUIRED') throw new TongbanError('CONSENT_REQUIRED', decision.reason);
      } else {
        // A consent not signed by the hub, not for this exchange, or not valid now, never leaves this node either.
        const claims = await checkConsentArtefact(exchange, view, ctx.clock(), ctx.consentMaxDays);
        event.detail = { consent: claims!.id };
      }
      via = requestedVia ?? view.policy.get(exchange.agreementId)?.topology ?? 'bridge';
      const provider = view.node(exchange.provider);
      if (!provider) throw new TongbanError('NODE_UNKNOWN', `${exchange.provider} is not in the directory.`);
      let response: ExchangeResponse;
      if (via === 'bridge') {
        response = await this.#bridge(provider, exchange);
      } else {
        const hub = view.hub();
        if (!hub) throw new TongbanError('DIRECTORY_INVALID', 'The directory does not list the hub.');
        response = await this.#viaHub(hub, provider, exchange);
      }
      if (response.requestId !== exchange.requestId || response.provider !== exchange.provider) {
        throw new TongbanError('PEER_RESPONSE_INVALID', 'The answer is for another request.');
      }
      await ctx.audit.append({ ...event, outcome: 'allowed', detail: { ...event.detail, via, fields: Object.keys(response.data).join(',') } });
      return { requestId: exchange.requestId, via, response };
    } catch (error) {
      const code = isTongbanError(error) ? error.code : 'INTERNAL';
      await ctx.audit.append({ ...event, outcome: isTongbanError(error) && error.status < 500 ? 'refused' : 'error', code, detail: { ...event.detail, via } });
      throw error;
    }
  }

  /**
   * The artefact of the consent `id`, from the hub (a signed request, a signed answer): the hub
   * answers only the requester or provider the consent names. A revoked or expired one is refused here.
   */
  async #consentArtefact(view: DirectoryView, id: string): Promise<string> {
    const hub = view.hub();
    if (!hub) throw new TongbanError('DIRECTORY_INVALID', 'The directory does not list the hub.');
    const url = new URL(`/v1/consents/${id}/status`, hub.endpoint).toString();
    const answer = await this.#post(url, '{}', hub, 'HUB_UNREACHABLE', id);
    if (answer.status !== 200) throw remoteProblem(answer.json, hub);
    const parsed = ConsentStatusAnswer.safeParse(answer.json);
    if (!parsed.success || parsed.data.id !== id) throw new TongbanError('PEER_RESPONSE_INVALID', 'The hub answered in an unexpected form.');
    if (parsed.data.status === 'revoked') throw new TongbanError('CONSENT_REVOKED', `The citizen revoked consent ${id}.`);
    if (parsed.data.status === 'expired') throw new TongbanError('CONSENT_INVALID', `The consent ${id} has expired.`);
    return parsed.data.artefact;
  }

  async #bridge(provider: DirectoryEntry, exchange: ExchangeRequest): Promise<ExchangeResponse> {
    const url = new URL('/v1/exchange', provider.endpoint).toString();
    const body = JSON.stringify(exchange);
    const answer = await this.#post(url, body, provider, 'PEER_UNREACHABLE', exchange.requestId);
    if (answer.status !== 200) throw remoteProblem(answer.json, provider);
    const parsed = ExchangeResponse.safeParse(answer.json);
    if (!parsed.success) throw new TongbanError('PEER_RESPONSE_INVALID', `${provider.division} answered in an unexpected form.`);
    return parsed.data;
  }

  async #viaHub(hub: DirectoryEntry, provider: DirectoryEntry, exchange: ExchangeRequest): Promise<ExchangeResponse> {
    const ctx = this.#ctx;
    const created = Math.floor(ctx.clock().getTime() / 1000);
    const innerJws = await signJws(ctx.signingKey.current(), new TextEncoder().encode(JSON.stringify(exchange)), {
      typ: JWS_TYP_REQUEST,
      extra: { created, expires: created + REQUEST_TTL_SECONDS },
    });
    const payload = await encryptFor(provider.encryptionKey, new TextEncoder().encode(innerJws), JWE_CTY);
    const envelope = envelopeOf(exchange);
    const url = new URL('/v1/relay', hub.endpoint).toString();
    const sent = await this.#post(url, JSON.stringify({ envelope, payload }), hub, 'HUB_UNREACHABLE', exchange.requestId);
    if (sent.status !== 200) throw hubRefusal(sent.json, hub, provider);
    const answer = RelayResponse.safeParse(sent.json);
    if (!answer.success || answer.data.requestId !== exchange.requestId) throw new TongbanError('PEER_RESPONSE_INVALID', 'The hub answered in an unexpected form.');
    const jws = new TextDecoder().decode(await decryptWith(ctx.encryptionKey, answer.data.payload, JWE_CTY));
    const verified = await verifyJws(jws, (kid) => signingKeyFor(provider, kid, ctx.clock()));
    const notSigned = () => new TongbanError('PEER_RESPONSE_INVALID', `The answer is not signed by ${provider.division} for this request.`);
    if (!verified.ok) throw notSigned();
    const body = parseOrNull(verified.payload);
    if (verified.header.typ === JWS_TYP_REFUSAL) {
      // The provider's own refusal, bound to the very payload this node sent.
      const payloadDigest = createHash('sha256').update(payload).digest('base64url');
      const refusal = ExchangeRefusal.safeParse(body);
      if (verified.header.payloadDigest !== payloadDigest || !refusal.success || refusal.data.requestId !== exchange.requestId || refusal.data.provider !== provider.division) {
        throw notSigned();
      }
      throw remoteProblem(refusal.data.problem, provider);
    }
    const requestDigest = createHash('sha256').update(innerJws).digest('base64url');
    if (verified.header.typ !== JWS_TYP_RESPONSE || verified.header.requestDigest !== requestDigest) throw notSigned();
    const parsed = ExchangeResponse.safeParse(body);
    if (!parsed.success) throw new TongbanError('PEER_RESPONSE_INVALID', `${provider.division} answered in an unexpected form.`);
    return parsed.data;
  }

  /**
   * Sends a signed POST and returns the status and JSON body of an answer verified as `signer`'s for
   * this request. The exchange's id goes along as `x-request-id` (unsigned, for log correlation only):
   * the receiver's request log lines then carry the id this node's exchange line carries.
   */
  async #post(url: string, body: string, signer: DirectoryEntry, unreachable: ErrorCode, requestId: string): Promise<{ status: number; json: unknown }> {
    const ctx = this.#ctx;
    const headers = await signedRequestHeaders(ctx.signingKey.current(), url, body, ctx.clock());
    let response: PeerAnswer;
    try {
      response = await peerCall(url, { method: 'POST', headers: { ...headers, [REQUEST_ID_HEADER]: requestId }, body, timeoutMs: ctx.peerTimeoutMs ?? 10_000 });
    } catch (error) {
      throw new TongbanError(unreachable, `${signer.name} (${signer.division}) did not answer.`, { cause: error });
    }
    const valid = await verifyResponse(signer, response, { method: 'POST', url, headers }, ctx.clock());
    // A front before the replicas of a node (tongban front, docs/deployment.md) answers its own
    // failures unsigned: 502, 503 or 504 without the node's signature is the node not answering,
    // not a forged answer. Nothing of such an answer is used.
    if (!valid && (response.status === 502 || response.status === 503 || response.status === 504)) {
      throw new TongbanError(unreachable, `${signer.name} (${signer.division}) did not answer: what stands before it answered ${response.status}.`);
    }
    if (!valid) throw new TongbanError('PEER_RESPONSE_INVALID', `The answer is not signed by ${signer.division} for this request.`);
    const json = parseOrNull(response.body);
    if (json === null) throw new TongbanError('PEER_RESPONSE_INVALID', 'The answer is not JSON.');
    return { status: response.status, json };
  }
}

function parseOrNull(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as unknown;
  } catch {
    return null;
  }
}

/**
 * Codes only the provider can decide (it alone sees the subject, the consent and its registry):
 * such a refusal is valid only sealed and signed by the provider, never in the hub's clear answer.
 */
const PROVIDER_ONLY_CODES: ReadonlySet<string> = new Set([
  'SUBJECT_INVALID',
  'SUBJECT_NOT_FOUND',
  'CONSENT_INVALID',
  'CONSENT_REQUIRED',
  'CONSENT_USED',
  'CONSENT_REVOKED',
  'SERVICE_UNAVAILABLE',
  'SERVICE_NOT_PUBLISHED',
  'DECRYPTION_FAILED',
]);

/**
 * A clear (non-200) answer of the hub is the hub's own refusal, labelled with its division as
 * `origin`. One that claims to be the provider's, or carries a code only the provider can
 * decide, is a forgery: the hub cannot refuse in the provider's name.
 */
function hubRefusal(json: unknown, hub: DirectoryEntry, provider: DirectoryEntry): TongbanError {
  const problem = json as { code?: unknown; [HUB_REFUSAL_ORIGIN]?: unknown };
  if (problem?.[HUB_REFUSAL_ORIGIN] !== hub.division || (typeof problem.code === 'string' && PROVIDER_ONLY_CODES.has(problem.code))) {
    return new TongbanError('PEER_RESPONSE_INVALID', `The hub answered a refusal that is not its own; a refusal by ${provider.division} must be signed by ${provider.division}.`);
  }
  return remoteProblem(json, hub);
}

/** A peer's problem+json, re-raised with its stable code so callers can act on it. */
function remoteProblem(json: unknown, signer: DirectoryEntry): TongbanError {
  const problem = (json ?? {}) as { code?: unknown; detail?: unknown };
  if (typeof problem.code === 'string' && Object.hasOwn(errorStatus, problem.code)) {
    return new TongbanError(problem.code as ErrorCode, `${signer.division}: ${typeof problem.detail === 'string' ? problem.detail : problem.code}`);
  }
  return new TongbanError('PEER_RESPONSE_INVALID', `${signer.division} answered with an error this node does not understand.`);
}
