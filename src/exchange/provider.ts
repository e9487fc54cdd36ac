import { createHash } from 'node:crypto';
import type { AuditEvent } from '../audit/index.ts';
import { decryptWith, encryptFor, signJws, verifyJws } from '../crypto/index.ts';
import { signingKeyFor, type DirectoryEntry, type DirectoryView } from '../directory/snapshot.ts';
import { isTongbanError, TongbanError, toProblem, type Problem } from '../errors/index.ts';
import { serviceDefinitionById } from '../services/index.ts';
import { storeUnavailable } from '../store/index.ts';
import { validateCreditCode, validateResidentId } from '../standards/index.ts';
import { exchangeAuditFields } from './audit-fields.ts';
import { checkConsentArtefact, checkConsentUsable, countConsentUse } from './consent.ts';
import type { ExchangeContext, Outcome } from './context.ts';
import { authenticateRequest, type IncomingRequest, type RequestCheck } from './http-messages.ts';
import {
  ExchangeRequest,
  JWE_CTY,
  JWS_TYP_REFUSAL,
  JWS_TYP_REQUEST,
  JWS_TYP_RESPONSE,
  normalisedSubject,
  RelayRequest,
  REQUEST_TTL_SECONDS,
  type ExchangeRefusal,
  type ExchangeResponse,
} from './protocol.ts';

type Via = 'bridge' | 'hub';

/**
 * The provider side of an exchange. Every check runs before any data is touched; every
 * outcome, served or refused, goes into the audit log; the answer holds only the fields the
 * agreement allows.
 */
export async function provideDirect(ctx: ExchangeContext, request: IncomingRequest): Promise<Outcome> {
  const refuse = refusal(ctx, 'bridge');
  const checked = await authenticated(ctx, request, refuse);
  if ('status' in checked) return checked;
  const { view, auth } = checked;
  const parsed = parseJson(request.body, ExchangeRequest);
  if (!parsed.ok) return refuse(consentOrValidation(parsed.error), { requester: auth.node.division });
  const exchange = normalised(parsed.value);
  if (exchange.requester !== auth.node.division) {
    return refuse(new TongbanError('SIGNATURE_INVALID', `The request is signed by ${auth.node.division} but claims to come from ${exchange.requester}.`), eventOf(ctx, exchange));
  }
  return serve(ctx, view, exchange, 'bridge', auth.keyid, refuse, async (response) => ({ status: 200, body: response }));
}

/**
 * A hub-mode request forwarded by the hub: open the JWE, check the requester's own signature, serve.
 * Once the requester is known, refusals travel like answers — signed by this node inside a JWE
 * for the requester — so the hub can neither read nor forge them.
 */
export async function provideRelayed(ctx: ExchangeContext, request: IncomingRequest): Promise<Outcome> {
  const refuse = refusal(ctx, 'hub');
  const checked = await authenticated(ctx, request, refuse);
  if ('status' in checked) return checked;
  const { view, auth } = checked;
  if (auth.node.role !== 'hub' || auth.node.division !== view.snapshot.issuer) {
    return refuse(new TongbanError('SIGNATURE_INVALID', 'Relayed requests must come from the hub.'), { requester: auth.node.division });
  }
  const parsed = parseJson(request.body, RelayRequest);
  if (!parsed.ok) return refuse(parsed.error, {});
  const { envelope, payload } = parsed.value;
  const requester = view.node(envelope.requester);
  if (!requester) return refuse(new TongbanError('NODE_UNKNOWN', `${envelope.requester} is not in the directory.`), { requester: envelope.requester });
  const sealed = sealedRefusal(ctx, requester, envelope.requestId, payload);
  let exchange: ExchangeRequest;
  let innerJws: string;
  let keyid: string;
  try {
    innerJws = new TextDecoder().decode(await decryptWith(ctx.encryptionKey, payload, JWE_CTY));
    const verified = await verifyJws(innerJws, (kid) => signingKeyFor(requester, kid, ctx.clock()));
    if (!verified.ok || verified.header.typ !== JWS_TYP_REQUEST) {
      throw new TongbanError('SIGNATURE_INVALID', `The relayed request is not signed by ${envelope.requester}.`);
    }
    keyid = verified.header.kid;
    const now = Math.floor(ctx.clock().getTime() / 1000);
    const { created, expires } = verified.header as { created?: unknown; expires?: unknown };
    if (typeof created !== 'number' || typeof expires !== 'number') {
      throw new TongbanError('SIGNATURE_INVALID', 'The relayed request must carry created and expires.');
    }
    // A window longer than allowed is a freshness failure, like an expired one (docs/protocol.md).
    if (expires - created > REQUEST_TTL_SECONDS) {
      throw new TongbanError('REQUEST_EXPIRED', `The relayed request must expire within ${REQUEST_TTL_SECONDS} s of its creation.`);
    }
    if (now > expires + 30 || created > now + 30) throw new TongbanError('REQUEST_EXPIRED', 'The relayed request has expired.');
    const inner = parseJson(verified.payload, ExchangeRequest);
    if (!inner.ok) throw consentOrValidation(inner.error);
    exchange = normalised(inner.value);
    // The hub routes by the envelope; it must not be able to change what the requester signed.
    for (const key of Object.keys(envelope) as Array<keyof typeof envelope>) {
      if (JSON.stringify(envelope[key]) !== JSON.stringify(exchange[key])) {
        throw new TongbanError('SIGNATURE_INVALID', `The envelope's ${key} does not match the signed request.`);
      }
    }
    if (!(await ctx.store.nonces.remember(requester.signingKey.kid, `request:${exchange.requestId}`, expires + 60))) {
      throw new TongbanError('REPLAYED_REQUEST', 'This request was already received.');
    }
  } catch (error) {
    return sealed(error, { requester: envelope.requester, requestId: envelope.requestId, agreementId: envelope.agreementId, service: envelope.service });
  }
  const requestDigest = createHash('sha256').update(innerJws).digest('base64url');
  return serve(ctx, view, exchange, 'hub', keyid, sealed, async (response) => {
    const jws = await signJws(ctx.signingKey.current(), new TextEncoder().encode(JSON.stringify(response)), { typ: JWS_TYP_RESPONSE, extra: { requestDigest } });
    const jwe = await encryptFor(requester.encryptionKey, new TextEncoder().encode(jws), JWE_CTY);
    return { status: 200, body: { requestId: exchange.requestId, payload: jwe } };
  });
}

/** The directory may be relied on and the request is signed by an approved node; otherwise the refusal. */
async function authenticated(
  ctx: ExchangeContext,
  request: IncomingRequest,
  refuse: ReturnType<typeof refusal>,
): Promise<Outcome | { view: DirectoryView; auth: Extract<RequestCheck, { ok: true }> }> {
  let view: DirectoryView;
  try {
    view = await ctx.directory.current();
  } catch (error) {
    return refuse(error, {});
  }
  const auth = await authenticateRequest(request, view, ctx.store, ctx.clock());
  if (!auth.ok) return refuse(new TongbanError(auth.code, auth.message), { detail: { keyid: auth.keyid ?? null } });
  return { view, auth };
}

async function serve(
  ctx: ExchangeContext,
  view: DirectoryView,
  exchange: ExchangeRequest,
  via: Via,
  /** The requester's key that signed the request: which key, not only which node (rotations). */
  keyid: string,
  refuse: Refuse,
  answer: (response: ExchangeResponse) => Promise<Outcome>,
): Promise<Outcome> {
  const event = eventOf(ctx, exchange);
  try {
    if (exchange.provider !== ctx.self) throw new TongbanError('VALIDATION_FAILED', `This node is ${ctx.self}, not ${exchange.provider}.`);
    const agreement = view.policy.get(exchange.agreementId);
    if (agreement && agreement.topology !== via) {
      throw new TongbanError('TOPOLOGY_NOT_ALLOWED', `Agreement ${agreement.id} is a ${agreement.topology} agreement; it cannot be used ${via === 'hub' ? 'through the hub' : 'over a direct bridge'}.`);
    }
    checkSubject(exchange);
    // The consent artefact: the hub's signature, this very exchange, valid now; then revoked or spent here.
    const consent = await checkConsentArtefact(exchange, view, ctx.clock(), ctx.consentMaxDays);
    if (consent) event.detail = { ...event.detail, consent: consent.id };
    await ctx.agreementStates?.refresh?.();
    const decision = view.policy.decide(
      {
        agreementId: exchange.agreementId,
        requester: exchange.requester,
        provider: exchange.provider,
        itemCode: exchange.itemCode,
        service: exchange.service,
        fields: exchange.fields,
        purpose: exchange.purpose,
        hasConsent: consent !== undefined,
      },
      ctx.clock(),
      ctx.agreementStates,
    );
    if (!decision.allowed) throw new TongbanError(decision.code, decision.reason);
    if (consent) await checkConsentUsable(ctx, consent);
    const data = await ctx.services.fetch(exchange.service, exchange.subject.value, decision.fields).catch(async (error: unknown) => {
      // A registry record failing the data dictionary's validators: a data-quality finding for the
      // governance dashboards (src/governance), with the field names and no value.
      if (isTongbanError(error) && error.code === 'SERVICE_UNAVAILABLE' && error.errors?.length) {
        await ctx.audit.append({ kind: 'data.quality', outcome: 'refused', code: 'SERVICE_UNAVAILABLE', requester: exchange.requester, provider: ctx.self, service: exchange.service, detail: { fields: error.errors.map((e) => e.path ?? '').join(',').slice(0, 500) } });
      }
      throw error;
    });
    if (!data) throw new TongbanError('SUBJECT_NOT_FOUND', `The ${exchange.service} registry of ${ctx.self} has no such subject.`);
    // Counted only once the data is there to send; of two concurrent single uses exactly one gets here.
    const uses = consent ? await countConsentUse(ctx, consent) : undefined;
    await ctx.audit.append({ ...event, kind: 'exchange.provide', outcome: 'allowed', detail: { ...event.detail, via, fields: decision.fields.join(','), keyid, ...(consent ? { consent: consent.id, consentUses: uses! } : {}) } });
    return await answer({ requestId: exchange.requestId, provider: ctx.self, service: exchange.service, issuedAt: ctx.clock().toISOString(), data });
  } catch (error) {
    return refuse(error, event);
  }
}

function checkSubject(exchange: ExchangeRequest): void {
  const definition = serviceDefinitionById.get(exchange.service);
  if (definition && definition.subject !== exchange.subject.type) {
    throw new TongbanError('SUBJECT_INVALID', `${exchange.service} is looked up by ${definition.subject}, not ${exchange.subject.type}.`);
  }
  const result = exchange.subject.type === 'idNumber' ? validateResidentId(exchange.subject.value) : validateCreditCode(exchange.subject.value);
  if (!result.valid) throw new TongbanError('SUBJECT_INVALID', `The subject's ${exchange.subject.type} is not valid: ${result.errors.map((e) => e.message).join(' ')}`);
}

/** The exchange with its subject in the standard's form: what is looked up, hashed and compared. */
function normalised(exchange: ExchangeRequest): ExchangeRequest {
  return { ...exchange, subject: normalisedSubject(exchange.subject) };
}

/** A malformed consent is refused as CONSENT_INVALID (with the schema's reasons); anything else stays VALIDATION_FAILED. */
function consentOrValidation(error: TongbanError): TongbanError {
  const issues = error.errors ?? [];
  if (error.code !== 'VALIDATION_FAILED' || issues.length === 0 || !issues.every((e) => e.path === 'consent' || e.path?.startsWith('consent.'))) return error;
  return new TongbanError('CONSENT_INVALID', `The consent is malformed: ${error.message}`, { errors: issues });
}

/**
 * What the provider records of a request. Its `operator` (and the role in `detail.operatorRole`) is
 * the requesting node's word, bound to that node's signature: nobody authenticated here, so no `actor`.
 */
function eventOf(ctx: ExchangeContext, exchange: ExchangeRequest): Partial<AuditEvent> {
  return { ...exchangeAuditFields(ctx.auditKey, exchange), detail: { operatorRole: exchange.operator.role } };
}

type Refuse = (thrown: unknown, event: Partial<AuditEvent>) => Promise<Outcome>;

/** Records a refusal and turns it into a problem; unexpected errors become INTERNAL. */
async function recordRefusal(ctx: ExchangeContext, via: Via, thrown: unknown, event: Partial<AuditEvent>): Promise<Problem> {
  const error = storeUnavailable(thrown) ?? thrown;
  const known = isTongbanError(error);
  const code = known ? error.code : 'INTERNAL';
  // Record the refusal; if the database itself is down, the answer still goes out.
  await ctx.audit
    .append({ kind: 'exchange.provide', outcome: known && error.status < 500 ? 'refused' : 'error', ...event, code, detail: { via, ...(event.detail ?? {}) } } as AuditEvent)
    .catch(() => {});
  if (!known) console.error('exchange: unexpected error', error);
  return known ? error.toProblem() : toProblem('INTERNAL', 'An internal error occurred.');
}

/** A refusal answered as signed problem+json to whoever sent the request (the requester, or the hub's hop). */
function refusal(ctx: ExchangeContext, via: Via): Refuse {
  return async (thrown, event) => {
    const problem = await recordRefusal(ctx, via, thrown, event);
    return { status: problem.status, body: problem };
  };
}

/**
 * A refusal of a hub-mode request, sealed like an answer: a JWS by this node (typ refusal,
 * `payloadDigest` = SHA-256 of the payload it refuses) inside a JWE for the requester, sent as a
 * 200 relay answer. The hub learns neither the code nor the detail, and cannot make one up.
 */
function sealedRefusal(ctx: ExchangeContext, requester: DirectoryEntry, requestId: string, payload: string): Refuse {
  return async (thrown, event) => {
    const problem = await recordRefusal(ctx, 'hub', thrown, event);
    const refusal: ExchangeRefusal = {
      requestId,
      provider: ctx.self,
      refusedAt: ctx.clock().toISOString(),
      problem: { code: problem.code, status: problem.status, title: problem.title, ...(problem.detail ? { detail: problem.detail } : {}) },
    };
    const payloadDigest = createHash('sha256').update(payload).digest('base64url');
    try {
      const jws = await signJws(ctx.signingKey.current(), new TextEncoder().encode(JSON.stringify(refusal)), { typ: JWS_TYP_REFUSAL, extra: { payloadDigest } });
      const jwe = await encryptFor(requester.encryptionKey, new TextEncoder().encode(jws), JWE_CTY);
      return { status: 200, body: { requestId, payload: jwe } };
    } catch (error) {
      // The requester's directory key cannot be encrypted to: the hub gets a bare INTERNAL, nothing more.
      console.error('exchange: cannot seal a refusal', error);
      const internal = toProblem('INTERNAL', 'An internal error occurred.');
      return { status: internal.status, body: internal };
    }
  };
}

function parseJson<T>(body: Uint8Array, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: Array<{ path: PropertyKey[]; message: string }> } } }):
  | { ok: true; value: T }
  | { ok: false; error: TongbanError } {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(body));
  } catch {
    return { ok: false, error: new TongbanError('BAD_REQUEST', 'The request body is not valid JSON.') };
  }
  const result = schema.safeParse(raw);
  if (result.success) return { ok: true, value: result.data };
  const errors = result.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
  return { ok: false, error: new TongbanError('VALIDATION_FAILED', errors.map((e) => `${e.path}: ${e.message}`).join('; '), { errors }) };
}

export { parseJson };
