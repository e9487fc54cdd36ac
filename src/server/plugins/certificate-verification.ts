import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { principalFor } from '../../cases/index.ts';
import { CertificateMetadata } from '../../certificates/index.ts';
import { certificateEvidenceData, verifyingStaff, type VerifyingStaff } from '../../certificates/verifier.ts';
import { TongbanError } from '../../errors/index.ts';
import type { Person } from '../../identity/person.ts';
import type { ServerContext } from '../context.ts';
import { addRoute } from '../route.ts';
import { CaseOut, caseAnswer } from './cases.ts';

/** A presentation as the holder's wallet or `tongban cert present` writes it: `<jwt>~<disclosures>~[<kb-jwt>]`. */
const Presentation = z.string().trim().min(10).max(64_000).regex(/^[A-Za-z0-9_\-.~]+$/, 'an SD-JWT presentation: base64url parts joined by "." and "~"');
const Nonce = z.string().min(16).max(64).regex(/^[A-Za-z0-9_-]+$/);

const VerificationOut = z.object({
  certificate: CertificateMetadata,
  vct: z.string(),
  /** The issuing node's division. */
  issuer: z.string(),
  /** The personal fields the holder disclosed, with their values (shown to the caller, stored nowhere). */
  disclosed: z.record(z.string(), z.string()),
  /** The names of the type's fields the holder withheld. */
  withheld: z.array(z.string()),
  keyBound: z.boolean(),
  status: z.literal('valid'),
});

/**
 * Nodes only: this node as a verifier of e-certificates (docs/certificates.md). Staff of the
 * node ask for a key-binding challenge, verify a presentation for a stated reason, and take one
 * as evidence for a case. The presentation is checked against the hub's trust list and the
 * issuer's status list; every attempt is audited with the staff member and the reason, with the
 * names of the fields disclosed and none of their values.
 */
export function certificateVerificationPlugin(context: ServerContext): void {
  const { app, openapi, runtime } = context;
  if (runtime.config.node.role !== 'node') return;
  const self = runtime.config.node.division;
  const verifier = runtime.certificates.verifier;
  const people = new WeakMap<FastifyRequest, Person>();
  const authenticate = async (request: FastifyRequest) => {
    people.set(request, await runtime.identity.authenticate(request));
  };
  const personOf = (request: FastifyRequest): Person => {
    const person = people.get(request);
    if (!person) throw new TongbanError('UNAUTHORIZED', 'This call needs a staff member of this node.');
    return person;
  };
  const staffOf = (request: FastifyRequest): VerifyingStaff => verifyingStaff(personOf(request), self);

  addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/certificates/challenges',
    tag: 'certificates',
    summary:
      'Staff (clerk, approver, supervisor) of this node: a single-use nonce, valid 5 minutes, for a holder to present a key-bound certificate here (their KB-JWT names it and `audience`, urn:tongban:node:<this division>)',
    body: z.object({}).strict(),
    response: z.object({ nonce: z.string(), audience: z.string(), expiresAt: z.string() }),
    status: 201,
    errors: [401, 403],
    auth: 'person',
    before: authenticate,
    handler: async (_input, request) => verifier.challenge(staffOf(request)),
  });

  addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/certificates/verify',
    tag: 'certificates',
    summary:
      "Staff (clerk, approver, supervisor) of this node: verify a holder's presentation for a reason of use (用证事由) — issuer on the hub's trust list, signature, disclosures, validity, key binding (with a challenge of this node), status at the issuer (a status list no older than the configured bound). The metadata and the disclosed fields; every attempt is audited with the staff member, the reason and the disclosed field names, never their values. Refusals: CERTIFICATE_MALFORMED (400), CERTIFICATE_DISCLOSURE_INVALID, _ISSUER_UNTRUSTED, _SIGNATURE_INVALID, _EXPIRED, _NOT_YET_VALID, _KEY_BINDING_INVALID, _REVOKED, _SUSPENDED (422), CERTIFICATE_STATUS_UNAVAILABLE / TRUST_LIST_UNAVAILABLE (503)",
    body: z.object({ presentation: Presentation, reason: z.string().trim().min(2).max(200), nonce: Nonce.optional() }).strict(),
    response: VerificationOut,
    errors: [401, 403, 422],
    auth: 'person',
    before: authenticate,
    handler: async ({ body }, request) => {
      const { certificate } = await verifier.verify(staffOf(request), { presentation: body.presentation, reason: body.reason, nonce: body.nonce });
      return {
        certificate: certificate.metadata,
        vct: certificate.vct,
        issuer: certificate.issuer,
        disclosed: certificate.disclosed,
        withheld: certificate.withheld,
        keyBound: certificate.keyBound,
        status: certificate.status,
      };
    },
  });

  addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/cases/:id/certificates',
    tag: 'cases',
    summary:
      "Clerk or approver of a node of the case: take a certificate the applicant presents as evidence instead of a paper copy. Verified as POST /v1/certificates/verify with the case's item as the reason of use; its holder must be the applicant (CERTIFICATE_HOLDER_MISMATCH) and the fields the item needs must be disclosed (CERTIFICATE_FIELD_NOT_DISCLOSED). The evidence (issuer, type, those fields) travels to the case's other nodes; the material of the certificate's name counts as checked",
    params: z.object({ id: z.string().max(60) }),
    body: z.object({ presentation: Presentation, nonce: Nonce.optional() }).strict(),
    response: CaseOut,
    errors: [401, 403, 404, 409, 422],
    auth: 'person',
    before: authenticate,
    handler: async ({ params, body }, request) => {
      const person = personOf(request);
      const principal = principalFor(person, self);
      const view = await runtime.cases.addCertificate(principal, params.id, async (c) => {
        const item = (await runtime.catalog()).get(c.itemCode);
        if (!item) throw new TongbanError('ITEM_NOT_FOUND', `There is no item ${c.itemCode} in the catalogue.`);
        let data: Record<string, string> = {};
        const verification = await verifier.verify(verifyingStaff(person, self), {
          presentation: body.presentation,
          reason: c.itemName,
          nonce: body.nonce,
          caseId: c.id,
          itemCode: c.itemCode,
          check: (certificate) => {
            data = certificateEvidenceData(certificate, item, c.applicant.idNumber);
          },
        });
        const { certificate } = verification;
        return {
          provider: certificate.issuer,
          service: certificate.vct,
          requestId: verification.id,
          purpose: c.itemName.slice(0, 100),
          data,
          certificate: { id: certificate.metadata.id, vct: certificate.vct, issuer: certificate.issuer, verifiedAt: verification.at, verifiedBy: principal.id },
        };
      });
      return caseAnswer(runtime, view);
    },
  });
}
