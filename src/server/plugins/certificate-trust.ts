import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AuditActor } from '../../audit/index.ts';
import { IssuerAuthorisation, WalletEntry, type IssuerView } from '../../certificates/index.ts';
import { PublicJwk } from '../../crypto/index.ts';
import { TongbanError } from '../../errors/index.ts';
import type { Person } from '../../identity/person.ts';
import { requireBearer } from '../auth.ts';
import type { ServerContext } from '../context.ts';
import { addRoute, Page } from '../route.ts';

const IssuerOut = z.object({
  division: z.string(),
  authority: z.string(),
  authorityCode: z.string(),
  /** The certificate types (vct) it is authorised for. */
  types: z.array(z.string()),
  authorisedAt: z.string(),
  authorisedBy: z.string(),
  /** Set once withdrawn: the issuer is off the trust list and its keys verify nothing. */
  withdrawnAt: z.string().nullable(),
  /** Every key the hub holds for it: current (no retiredAt) and retired ones (verifying what they signed before, until verifyUntil). */
  keys: z.array(z.object({ kid: z.string(), jwk: PublicJwk, from: z.string(), retiredAt: z.string().nullable(), verifyUntil: z.string().nullable() })),
  /** False when the call changed nothing (the same authorisation again, a withdrawal again). */
  changed: z.boolean(),
});

function issuerOut(issuer: IssuerView, changed: boolean): z.infer<typeof IssuerOut> {
  return {
    division: issuer.division,
    authority: issuer.authority,
    authorityCode: issuer.authorityCode,
    types: [...issuer.types],
    authorisedAt: issuer.authorisedAt,
    authorisedBy: issuer.authorisedBy,
    withdrawnAt: issuer.withdrawnAt,
    keys: issuer.keys.map((k) => ({ kid: k.kid, jwk: k.jwk, from: k.from, retiredAt: k.retiredAt, verifyUntil: k.verifyUntil })),
    changed,
  };
}

/**
 * E-certificates at the hub (docs/certificates.md): the administrator authorises issuers, the
 * signed trust list is public, a citizen lists their wallet.
 */
export function certificateTrustPlugin(context: ServerContext): void {
  const { app, openapi, runtime } = context;
  const issuers = runtime.certificates.issuers;
  const index = runtime.certificates.index;
  if (runtime.config.node.role !== 'hub' || !issuers || !index) return;
  const admin = (request: FastifyRequest) => requireBearer(request, runtime.adminToken, 'hub administrator');
  const adminActor: AuditActor = { subject: 'admin-token', node: runtime.config.node.division, role: 'administrator' };

  addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/certificates/issuers',
    tag: 'certificates',
    summary:
      "Administrator: authorise an approved node to issue certificates of `types` under `authority` (its GB 32100 credit code `authorityCode`, unique to it), or change its authorisation. The node's current directory signing key becomes its certificate key; the trust list's version goes up. NODE_NOT_APPROVED (403) for a node the directory has not approved",
    body: IssuerAuthorisation,
    response: IssuerOut,
    errors: [401, 403],
    auth: 'admin',
    before: admin,
    handler: async ({ body }) => {
      const { issuer, changed } = await issuers.authorise(body, adminActor);
      return issuerOut(issuer, changed);
    },
  });

  addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/certificates/issuers/:division/withdraw',
    tag: 'certificates',
    summary: 'Administrator: withdraw an issuer’s authorisation: it leaves the trust list and none of its certificates verifies any more (NOT_FOUND for a division never authorised; withdrawing again changes nothing)',
    params: z.object({ division: z.string().regex(/^\d{6}$/) }),
    response: IssuerOut,
    errors: [401, 404],
    auth: 'admin',
    before: admin,
    handler: async ({ params }) => {
      const { issuer, changed } = await issuers.withdraw(params.division, adminActor);
      return issuerOut(issuer, changed);
    },
  });

  addRoute(app, openapi, {
    method: 'GET',
    url: '/v1/certificates/trust-list',
    tag: 'certificates',
    summary:
      "The trust list (compact JWS, typ tongban-trust-list+jwt, signed with the hub's directory key): every authorised issuer with its division, name, authority, authority code, certificate types (vct) and keys — current and retired (with retiredAt and verifyUntil) —, a version that goes up on every change, and nextUpdate (an hour after issuedAt)",
    contentType: 'application/jwt',
    response: z.string(),
    errors: [429],
    rateLimit: context.rateLimits.public,
    handler: async (_input, _request, reply) => {
      const { jws } = await issuers.signed();
      void reply.type('application/jwt');
      return jws;
    },
  });

  // A citizen signed in at the hub; the service refuses anyone else (CERTIFICATE_FORBIDDEN).
  const people = new WeakMap<FastifyRequest, Person>();
  addRoute(app, openapi, {
    method: 'GET',
    url: '/v1/wallet',
    tag: 'certificates',
    summary:
      "Citizen: the caller's own certificates as their issuers reported them to the hub, newest first — type, issuer, validity and the issuer's endpoint, where the holder fetches the certificate itself (the hub holds none). CERTIFICATE_FORBIDDEN for the hub's staff and machine clients (staff of a node: STAFF_OF_ANOTHER_NODE)",
    query: Page(200, 50),
    response: z.object({ certificates: z.array(WalletEntry), total: z.number().int() }),
    errors: [401, 403],
    auth: 'person',
    before: async (request) => {
      people.set(request, await runtime.identity.authenticate(request));
    },
    handler: async ({ query }, request) => {
      const person = people.get(request);
      if (!person) throw new TongbanError('UNAUTHORIZED', 'This call needs a citizen signed in at the hub.');
      return index.wallet(person, query);
    },
  });
}
