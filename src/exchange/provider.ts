import { createHash } from 'node:crypto';
import type { AuditEvent } from '../audit/index.ts';
import { decryptWith, encryptFor, signJws, verifyJws } from '../crypto/index.ts';
import { signingKeyFor, type DirectoryView } from '../directory/snapshot.ts';
import { isTongbanError, TongbanError, toProblem } from '../errors/index.ts';
import { serviceDefinitionById } from '../services/index.ts';
import { storeUnavailable } from '../store/index.ts';
import { validateCreditCode, validateResidentId } from '../standards/index.ts';
import { exchangeAuditFields } from './audit-fields.ts';
import type { ExchangeContext, Outcome } from './context.ts';
import { authenticateRequest, type IncomingRequest, type RequestCheck } from './http-messages.ts';
import {
  ExchangeRequest,
  JWE_CTY,
  JWS_TYP_REQUEST,
  JWS_TYP_RESPONSE,
  RelayRequest,
  REQUEST_TTL_SECONDS,
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
  if (!parsed.ok) return refuse(parsed.error, { requester: auth.node.division });
  const exchange = parsed.value;
  if (exchange.requester !== auth.node.division) {
    return refuse(new TongbanError('SIGNATURE_INVALID', `The request is signed by ${auth.node.division} but claims to come from ${exchange.requester}.`), eventOf(ctx, exchange));
  }
  return serve(ctx, view, exchange, 'bridge', async (response) => ({ status: 200, body: response }));
}

/** A hub-mode request forwarded by the hub: open the JWE, check the requester's own signature, serve. */
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
  let exchange: ExchangeRequest;
  let innerJws: string;
  try {
    innerJws = new TextDecoder().decode(await decryptWith(ctx.encryptionKey, payload, JWE_CTY));
    const verified = await verifyJws(innerJws, (kid) => signingKeyFor(requester, kid, ctx.clock()));
    if (!verified.ok || verified.header.typ !== JWS_TYP_REQUEST) {
      throw new TongbanError('SIGNATURE_INVALID', `The relayed request is not signed by ${envelope.requester}.`);
    }
    const now = Math.floor(ctx.clock().getTime() / 1000);
    const { created, expires } = verified.header as { created?: unknown; expires?: unknown };
    if (typeof created !== 'number' || typeof expires !== 'number' || expires - created > REQUEST_TTL_SECONDS) {
      throw new TongbanError('SIGNATURE_INVALID', 'The relayed request must carry created and expires within 60 s.');
    }
    if (now > expires + 30 || created > now + 30) throw new TongbanError('REQUEST_EXPIRED', 'The relayed request has expired.');
    const inner = ExchangeRequest.safeParse(JSON.parse(new TextDecoder().decode(verified.payload)));
    if (!inner.success) throw new TongbanError('VALIDATION_FAILED', 'The relayed request does not have the expected form.');
    exchange = inner.data;
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
    return refuse(error, { requester: envelope.requester, requestId: envelope.requestId, agreementId: envelope.agreementId, service: envelope.service });
  }
  const requestDigest = createHash('sha256').update(innerJws).digest('base64url');
  return serve(ctx, view, exchange, 'hub', async (response) => {
    const jws = await signJws(ctx.signingKey, new TextEncoder().encode(JSON.stringify(response)), { typ: JWS_TYP_RESPONSE, extra: { requestDigest } });
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
  answer: (response: ExchangeResponse) => Promise<Outcome>,
): Promise<Outcome> {
  const refuse = refusal(ctx, via);
  const event = eventOf(ctx, exchange);
  try {
    if (exchange.provider !== ctx.self) throw new TongbanError('VALIDATION_FAILED', `This node is ${ctx.self}, not ${exchange.provider}.`);
    const agreement = view.policy.get(exchange.agreementId);
    if (agreement && agreement.topology !== via) {
      throw new TongbanError('TOPOLOGY_NOT_ALLOWED', `Agreement ${agreement.id} is a ${agreement.topology} agreement; it cannot be used ${via === 'hub' ? 'through the hub' : 'over a direct bridge'}.`);
    }
    checkSubject(exchange);
    if (exchange.consent) checkConsent(exchange, ctx.clock());
    const decision = view.policy.decide(
      {
        agreementId: exchange.agreementId,
        requester: exchange.requester,
        provider: exchange.provider,
        itemCode: exchange.itemCode,
        service: exchange.service,
        fields: exchange.fields,
        purpose: exchange.purpose,
        hasConsent: exchange.consent !== undefined,
      },
      ctx.clock(),
    );
    if (!decision.allowed) throw new TongbanError(decision.code, decision.reason);
    const data = await ctx.services.fetch(exchange.service, exchange.subject.value, decision.fields);
    if (!data) throw new TongbanError('SUBJECT_NOT_FOUND', `The ${exchange.service} registry of ${ctx.self} has no such subject.`);
    await ctx.audit.append({ ...event, kind: 'exchange.provide', outcome: 'allowed', detail: { via, fields: decision.fields.join(',') } });
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

function checkConsent(exchange: ExchangeRequest, now: Date): void {
  const consent = exchange.consent!;
  const matches =
    consent.subject === exchange.subject.value &&
    consent.agreementId === exchange.agreementId &&
    consent.itemCode === exchange.itemCode &&
    consent.provider === exchange.provider;
  if (!matches) throw new TongbanError('CONSENT_INVALID', 'The consent does not cover this subject, agreement, item and provider.');
  const t = now.getTime();
  if (t < Date.parse(consent.grantedAt) || t >= Date.parse(consent.expiresAt)) throw new TongbanError('CONSENT_INVALID', 'The consent is not valid at this time.');
}

function eventOf(ctx: ExchangeContext, exchange: ExchangeRequest): Partial<AuditEvent> {
  return exchangeAuditFields(ctx.auditKey, exchange);
}

/** Records a refusal and turns it into a problem answer; unexpected errors become INTERNAL. */
function refusal(ctx: ExchangeContext, via: Via) {
  return async (thrown: unknown, event: Partial<AuditEvent>): Promise<Outcome> => {
    const error = storeUnavailable(thrown) ?? thrown;
    const known = isTongbanError(error);
    const code = known ? error.code : 'INTERNAL';
    // Record the refusal; if the database itself is down, the answer still goes out.
    await ctx.audit
      .append({ kind: 'exchange.provide', outcome: known && error.status < 500 ? 'refused' : 'error', ...event, code, detail: { via, ...(event.detail ?? {}) } } as AuditEvent)
      .catch(() => {});
    const problem = known ? error.toProblem() : toProblem('INTERNAL', 'An internal error occurred.');
    if (!known) console.error('exchange: unexpected error', error);
    return { status: problem.status, body: problem };
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
