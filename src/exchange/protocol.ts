import { z } from 'zod';
import type { Component } from '../crypto/index.ts';
import { validateCreditCode, validateResidentId } from '../standards/index.ts';

/** The label of Tongban's signatures in Signature-Input / Signature. */
export const SIGNATURE_LABEL = 'tongban';
/** A signed request is valid this long; its nonce is remembered as long. */
export const REQUEST_TTL_SECONDS = 60;

/** What every request signature must cover: the target and the body digest. */
export const REQUEST_COMPONENTS: readonly Component[] = [
  { name: '@method' },
  { name: '@authority' },
  { name: '@path' },
  { name: 'content-digest' },
  { name: 'content-type' },
];

/** Responses are bound to the request they answer through its method, path and digest. */
export const RESPONSE_COMPONENTS: readonly Component[] = [
  { name: '@status' },
  { name: 'content-digest' },
  { name: 'content-type' },
  { name: '@method', req: true },
  { name: '@path', req: true },
  { name: 'content-digest', req: true },
];

/** RFC 9421 algorithm names ("sm2-sm3" is not registered; Tongban uses it for SM2 with SM3 and the standard ID). */
export function httpSignatureAlg(algorithm: 'Ed25519' | 'SM2'): 'ed25519' | 'sm2-sm3' {
  return algorithm === 'Ed25519' ? 'ed25519' : 'sm2-sm3';
}

const Division = z.string().regex(/^\d{6}$/, 'a division code has six digits');

export const Subject = z.object({
  type: z.enum(['idNumber', 'creditCode']),
  value: z.string().min(1).max(40),
});
export type Subject = z.infer<typeof Subject>;

/**
 * The subject as its standard writes it (trimmed, upper-case check character): lookups, consent
 * and audit subject hashes all use this one form, so `…x` and `…X` are the same person.
 */
export function normalisedSubject(subject: Subject): Subject {
  const value = subject.type === 'idNumber' ? validateResidentId(subject.value).value : validateCreditCode(subject.value).value;
  return { type: subject.type, value };
}

/** A GB 11643 resident ID number entering through an API: validated, then kept in its normalised form. */
export const ResidentIdNumber = z
  .string()
  .max(40)
  .transform((input, ctx) => {
    const result = validateResidentId(input);
    if (!result.valid) {
      ctx.addIssue({ code: 'custom', message: `not a valid resident ID number: ${result.errors.map((e) => e.message).join(' ')}` });
      return z.NEVER;
    }
    return result.value;
  });

/**
 * The person at the requesting node on whose behalf the request is made, as that node
 * authenticated them (never a name its caller typed): a staff member's subject and role, or
 * `operator-token` / `operator` for the node's local operator API. The provider records it as the
 * requester signed it: the requesting node's word, bound to its signature.
 */
export const Operator = z.object({
  id: z.string().min(1).max(64),
  role: z.enum(['clerk', 'approver', 'supervisor', 'dataAdmin', 'operator', 'system']),
});
export type Operator = z.infer<typeof Operator>;

/** A consent may be relied on at most this long after it was granted, unless a node configures less or more. */
export const DEFAULT_CONSENT_MAX_DAYS = 90;

/**
 * The citizen's consent: the compact JWS the hub signed on the citizen's behalf (typ
 * tongban-consent+jws, src/identity/consent), carried as it is. Both sides verify it against the
 * hub's key from the signed directory and check it covers the exchange; the provider counts its use.
 */
export const ConsentArtefact = z.string().min(20).max(8_000).regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'a compact JWS');

/** The hub's answer to `POST /v1/consents/:id/status` (to the requester or provider the consent names). */
export const ConsentStatusAnswer = z
  .object({
    id: z.uuid(),
    status: z.enum(['active', 'revoked', 'expired']),
    useCount: z.number().int().min(0),
    artefact: ConsentArtefact,
  })
  .strict();
export type ConsentStatusAnswer = z.infer<typeof ConsentStatusAnswer>;

/** A governed data request: who asks whom for what, why, in which case, about whom. */
export const ExchangeRequest = z
  .object({
    requestId: z.uuid(),
    requester: Division,
    provider: Division,
    agreementId: z.string().min(1).max(80),
    itemCode: z.string().min(1).max(30),
    service: z.string().min(3).max(100),
    purpose: z.string().min(1).max(100),
    caseId: z.string().min(1).max(80),
    operator: Operator,
    subject: Subject,
    fields: z.array(z.string().min(1).max(60)).min(1).max(50),
    consent: ConsentArtefact.optional(),
  })
  .strict();
export type ExchangeRequest = z.infer<typeof ExchangeRequest>;

export const ExchangeResponse = z.object({
  requestId: z.uuid(),
  provider: Division,
  service: z.string(),
  issuedAt: z.iso.datetime(),
  data: z.record(z.string(), z.unknown()),
});
export type ExchangeResponse = z.infer<typeof ExchangeResponse>;

/** What the hub may read of a hub-mode request: everything but the subject, consent and operator. */
export const RelayEnvelope = ExchangeRequest.pick({
  requestId: true,
  requester: true,
  provider: true,
  agreementId: true,
  itemCode: true,
  service: true,
  purpose: true,
  fields: true,
}).strict();
export type RelayEnvelope = z.infer<typeof RelayEnvelope>;

/** The envelope of a request: what the hub may read. */
export function envelopeOf(e: ExchangeRequest): RelayEnvelope {
  const { requestId, requester, provider, agreementId, itemCode, service, purpose, fields } = e;
  return { requestId, requester, provider, agreementId, itemCode, service, purpose, fields };
}

/** A hub-mode request: clear envelope for the hub, JWE(JWS(request)) for the provider. */
export const RelayRequest = z.object({ envelope: RelayEnvelope, payload: z.string().min(10).max(200_000) }).strict();
export type RelayRequest = z.infer<typeof RelayRequest>;

/**
 * A hub-mode answer: JWE(JWS(response)) — or JWE(JWS(refusal)) — for the requester. A provider's
 * refusal travels like its data: signed by the provider, readable by the requester alone.
 */
export const RelayResponse = z.object({ requestId: z.uuid(), payload: z.string().min(10) }).strict();
export type RelayResponse = z.infer<typeof RelayResponse>;

export const JWS_TYP_REQUEST = 'tongban-exchange-request+jws';
export const JWS_TYP_RESPONSE = 'tongban-exchange-response+jws';
export const JWS_TYP_REFUSAL = 'tongban-exchange-refusal+jws';

/** A provider's refusal of a hub-mode request, signed by the provider and sealed for the requester. */
export const ExchangeRefusal = z
  .object({
    requestId: z.uuid(),
    provider: Division,
    refusedAt: z.iso.datetime(),
    problem: z.object({ code: z.string().min(1).max(60), status: z.number().int().min(400).max(599), title: z.string().max(200), detail: z.string().max(2000).optional() }),
  })
  .strict();
export type ExchangeRefusal = z.infer<typeof ExchangeRefusal>;

/**
 * What the hub's own refusals carry, so a requester can tell them from a provider's (which only
 * ever come sealed): `origin` is the division of the hub that refused.
 */
export const HUB_REFUSAL_ORIGIN = 'origin';
export const JWE_CTY = 'tongban-exchange+jws';
