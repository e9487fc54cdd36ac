import { z } from 'zod';
import type { Component } from '../crypto/index.ts';

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

export const Operator = z.object({
  id: z.string().min(1).max(64),
  role: z.enum(['clerk', 'approver', 'supervisor', 'dataAdmin', 'system']),
});
export type Operator = z.infer<typeof Operator>;

/** The citizen's consent, recorded by the requesting node (at the counter or after online identity check). */
export const Consent = z.object({
  subject: z.string().min(1).max(40),
  agreementId: z.string(),
  itemCode: z.string(),
  provider: Division,
  grantedAt: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
  method: z.enum(['counter-signature', 'online-identity']),
});
export type Consent = z.infer<typeof Consent>;

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
    consent: Consent.optional(),
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

/** A hub-mode answer: JWE(JWS(response)) for the requester. */
export const RelayResponse = z.object({ requestId: z.uuid(), payload: z.string().min(10) }).strict();
export type RelayResponse = z.infer<typeof RelayResponse>;

export const JWS_TYP_REQUEST = 'tongban-exchange-request+jws';
export const JWS_TYP_RESPONSE = 'tongban-exchange-response+jws';
export const JWE_CTY = 'tongban-exchange+jws';
