import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { CertificateMetadata, CertificateStatus } from '../../certificates/index.ts';
import { PublicJwk } from '../../crypto/index.ts';
import { TongbanError } from '../../errors/index.ts';
import type { Person } from '../../identity/index.ts';
import type { StatusAction } from '../../issuer/index.ts';
import type { ServerContext } from '../context.ts';
import { addRoute, Page } from '../route.ts';

const CertificateOut = z.object({
  /** GB/T 36904 identifier (证照标识). */
  id: z.string(),
  caseId: z.string(),
  vct: z.string(),
  typeName: z.string(),
  /** GB/T 36903 metadata: always shown (no personal field is in it). */
  metadata: CertificateMetadata,
  status: CertificateStatus,
  statusReason: z.string().nullable(),
  statusChangedAt: z.string().nullable(),
  statusList: z.object({ uri: z.string(), idx: z.number().int().min(0) }),
  /** Bound to a holder key (cnf): presenting it takes that key. */
  bound: z.boolean(),
  issuedAt: z.string(),
  expiresAt: z.string(),
  /** The full issuance (`<jwt>~<disclosures>~`): answered to the holder only. */
  sdJwt: z.string().optional(),
});
const CertificatePage = z.object({ certificates: z.array(CertificateOut), total: z.number().int() });
const IdParam = z.object({ id: z.string().min(1).max(200) });
const CertificateFields = z.record(z.string().max(60), z.string().max(200));
const StatusBody = z.object({ reason: z.string().trim().min(1).max(200) }).strict();

const STATUS_ROUTES: ReadonlyArray<{ action: StatusAction; summary: string }> = [
  { action: 'revoke', summary: 'Approver or supervisor of the issuing node: revoke a certificate (final); the next status list served shows it' },
  { action: 'suspend', summary: 'Approver or supervisor of the issuing node: suspend a valid certificate; the next status list served shows it' },
  { action: 'reinstate', summary: 'Approver or supervisor of the issuing node: reinstate a suspended certificate' },
];

/**
 * E-certificates this node issues (docs/certificates.md): the signed status lists (public), the
 * staff's list and status changes, the holder's certificates and key binding, and issuing a
 * certificate for a case concluded before. Nodes only: the hub issues none.
 */
export function certificatesPlugin(context: ServerContext): void {
  const { app, openapi, runtime } = context;
  if (runtime.config.node.role !== 'node') return;
  const issuer = runtime.certificates.issuer;
  // Who calls, wherever they belong (identify, not authenticate): staff of another node are
  // refused as CERTIFICATE_FORBIDDEN before their input is read, on record like every other refusal.
  const people = new WeakMap<FastifyRequest, Person>();
  const authenticated = (kind: string) => async (request: FastifyRequest) => {
    const person = await runtime.identity.identify(request);
    const id = (request.params as { id?: unknown } | undefined)?.id;
    await issuer.admit(person, kind, typeof id === 'string' ? id : undefined);
    people.set(request, person);
  };
  const personOf = (request: FastifyRequest): Person => {
    const person = people.get(request);
    if (!person) throw new TongbanError('UNAUTHORIZED', 'This call needs a person signed in.');
    return person;
  };

  addRoute(app, openapi, {
    method: 'GET',
    url: '/v1/certificates/status-lists/:listId',
    tag: 'certificates',
    summary: "A status list of this node (IETF Token Status List, 2 bits: 0 valid, 1 revoked, 2 suspended) as a JWT signed with the node's key; `sub` is this URL, `ttl` how long to cache it",
    params: z.object({ listId: z.coerce.number().int().min(1).max(2_147_483_647) }),
    response: z.string(),
    contentType: 'application/statuslist+jwt',
    errors: [404, 429],
    rateLimit: context.rateLimits.public,
    handler: async ({ params }, _request, reply) => {
      const jwt = await issuer.statusList(params.listId);
      void reply.type('application/statuslist+jwt');
      return jwt;
    },
  });

  addRoute(app, openapi, {
    method: 'GET',
    url: '/v1/certificates',
    tag: 'certificates',
    summary: 'Staff of this node (clerk, approver, supervisor): the certificates issued here, newest first — metadata and status, never a personal field',
    query: Page(200, 50),
    response: CertificatePage,
    errors: [401, 403],
    auth: 'person',
    before: authenticated('certificate.list'),
    handler: async ({ query }, request) => issuer.list(personOf(request), query),
  });

  addRoute(app, openapi, {
    method: 'GET',
    url: '/v1/certificates/mine',
    tag: 'certificates',
    summary: "A citizen: their certificates from this node, each with its full SD-JWT (every disclosure): what they present, choosing the fields, to a verifier",
    query: Page(200, 50),
    response: CertificatePage,
    errors: [401, 403],
    auth: 'person',
    before: authenticated('certificate.read'),
    handler: async ({ query }, request) => issuer.mine(personOf(request), query),
  });

  addRoute(app, openapi, {
    method: 'GET',
    url: '/v1/certificates/:id',
    tag: 'certificates',
    summary: 'One certificate: to its holder with the SD-JWT, to staff of this node metadata and status; anyone else CERTIFICATE_NOT_FOUND or CERTIFICATE_FORBIDDEN',
    params: IdParam,
    response: CertificateOut,
    errors: [401, 403, 404],
    auth: 'person',
    before: authenticated('certificate.read'),
    handler: async ({ params }, request) => issuer.get(personOf(request), params.id),
  });

  addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/certificates/issue',
    tag: 'certificates',
    summary:
      "Approver of this node: issue the certificate of a granted case concluded here (its item's certificate type; this node on the hub's trust list for it); the case's certificate if it has one (`created: false`). Fields the case's evidence lacks go in `certificateFields`",
    body: z.object({ caseId: z.string().min(1).max(60), certificateFields: CertificateFields.optional() }).strict(),
    response: z.object({ certificate: CertificateOut, created: z.boolean() }),
    errors: [401, 403, 404, 422],
    auth: 'person',
    before: authenticated('certificate.issue'),
    handler: async ({ body }, request) => issuer.issueForCase(personOf(request), body.caseId, body.certificateFields),
  });

  for (const { action, summary } of STATUS_ROUTES) {
    addRoute(app, openapi, {
      method: 'POST',
      url: `/v1/certificates/:id/${action}`,
      tag: 'certificates',
      summary,
      params: IdParam,
      body: StatusBody,
      response: CertificateOut,
      errors: [401, 403, 404, 409],
      auth: 'person',
      before: authenticated(`certificate.${action}`),
      handler: async ({ params, body }, request) => issuer.changeStatus(personOf(request), params.id, action, body.reason),
    });
  }

  addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/certificates/:id/bind',
    tag: 'certificates',
    summary:
      'The holder: bind the certificate to a key of theirs (`proof`: a compact JWS by that key, typ tongban-holder-proof+jwt, {aud: urn:tongban:node:<this node>, certificateId, iat} within 5 minutes); the same certificate is signed again with cnf.jwk. Once only',
    params: IdParam,
    body: z.object({ jwk: PublicJwk, proof: z.string().min(1).max(4000) }).strict(),
    response: CertificateOut,
    errors: [401, 403, 404, 409, 422],
    auth: 'person',
    before: authenticated('certificate.bind'),
    handler: async ({ params, body }, request) => issuer.bind(personOf(request), params.id, body.jwk, body.proof),
  });
}
