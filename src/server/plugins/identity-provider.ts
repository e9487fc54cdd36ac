import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { subjectHash } from '../../audit/entry.ts';
import { TongbanError, validationError } from '../../errors/index.ts';
import { authenticateRequest } from '../../exchange/index.ts';
import { checkStaffLogin, CitizenEnrolment, HubIdentity, newCitizen, newStaff, OIDC_MOUNT, PersonOut, personOut, StaffEnrolment, StaffLogin, StaffPage } from '../../identity/index.ts';
import { incomingRequest, requireBearer } from '../auth.ts';
import type { ServerContext } from '../context.ts';
import { addRoute, Page } from '../route.ts';

const METHODS = ['GET', 'POST', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'] as const;

/**
 * Hub only: the OpenID Connect provider under /oidc (docs/identity.md) and the enrolment of the
 * people who sign in there — citizens by the hub administrator, staff by their own node (the
 * request's signer, never a field of it).
 */
export function identityProviderPlugin(context: ServerContext): void {
  const { app, openapi, runtime } = context;
  if (runtime.config.node.role !== 'hub') return;
  // The OIDC keys exist from the first start of the hub on (created if missing), not from its first sign-in.
  const keys = () => runtime.oidcKeys!();
  keys().catch(() => {});
  const identity = new HubIdentity({
    store: runtime.store,
    audit: runtime.audit,
    auditKey: runtime.auditKey,
    clock: context.clock,
    keys,
    endpoint: context.endpoint,
    log: runtime.log,
  });
  app.addHook('onClose', async () => identity.close());

  // oidc-provider reads and parses its own bodies (forms, JSON): the request is handed over in
  // its onRequest hook, before Fastify looks at the content type or reads a byte of the body.
  const handOver = async (request: FastifyRequest, reply: FastifyReply) => {
    reply.hijack();
    try {
      await identity.handle(request.raw, reply.raw, request.ip);
    } catch (error) {
      runtime.log(`oidc: ${error instanceof Error ? error.message : String(error)}`);
      if (!reply.raw.headersSent) {
        reply.raw.writeHead(503, { 'content-type': 'application/problem+json' });
        reply.raw.end(JSON.stringify({ type: 'about:blank', title: 'Service Unavailable', status: 503, code: 'STORE_UNAVAILABLE', detail: 'The sign-in service is not available right now; try again shortly.' }));
      } else reply.raw.end();
    }
    return reply;
  };
  // Unauthenticated, and the password form costs a scrypt each: limited per client address like
  // every public route — one counter for all of /oidc (pages, form posts, token endpoint) — before
  // anything is handed over.
  const limit = context.rateLimits.public;
  const limited = limit ? [app.rateLimit({ max: limit.max, timeWindow: limit.timeWindow })] : [];
  for (const url of [OIDC_MOUNT, `${OIDC_MOUNT}/*`]) {
    app.route({ method: [...METHODS], url, onRequest: [...limited, handOver], handler: async () => undefined });
  }

  const admin = (request: FastifyRequest) => requireBearer(request, runtime.adminToken, 'hub administrator');
  const personHash = (id: string) => subjectHash(runtime.auditKey, 'person', id);

  addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/identity/citizens',
    tag: 'identity',
    summary: 'Hub administrator: enrol a citizen who signs in at the hub with their resident ID number (GB 11643, validated and normalised) and a password; PERSON_LOGIN_TAKEN when that ID number is enrolled already',
    auth: 'admin',
    before: admin,
    body: CitizenEnrolment,
    response: PersonOut,
    status: 201,
    errors: [409],
    handler: async ({ body }) => {
      const person = await newCitizen(body, context.clock());
      if (!(await runtime.store.people.add(person))) throw new TongbanError('PERSON_LOGIN_TAKEN', 'A citizen with this ID number is enrolled already.');
      await runtime.audit.append({ kind: 'identity.enrol', outcome: 'allowed', operator: 'hub-admin', subjectHash: personHash(person.id), detail: { kind: 'citizen' } });
      return personOut(person);
    },
  });

  /** The signing node (an approved node of the directory, or the hub): whose staff the call is about. */
  const signer = async (request: FastifyRequest): Promise<string> => {
    const view = await runtime.exchange.directory.current();
    const auth = await authenticateRequest(incomingRequest(request, context.endpoint()), view, runtime.store, context.clock());
    if (!auth.ok) throw new TongbanError(auth.code, auth.message);
    return auth.node.division;
  };

  addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/identity/staff',
    tag: 'identity',
    summary:
      'Node to hub: enrol a staff member of the signing node (RFC 9421). The node is the signer, never a field of the body; the login must be `<name>@<signer division>` (IDENTITY_NODE_MISMATCH otherwise); PERSON_LOGIN_TAKEN when it exists',
    auth: 'node-signature',
    bodyDoc: StaffEnrolment,
    response: PersonOut,
    status: 201,
    errors: [401, 403, 409],
    handler: async (_input, request) => {
      const node = await signer(request);
      const parsed = StaffEnrolment.safeParse(request.body);
      if (!parsed.success) throw validationError(parsed.error);
      let person;
      try {
        person = await newStaff(parsed.data, node, context.clock());
      } catch (error) {
        await runtime.audit.append({ kind: 'identity.enrol', outcome: 'refused', code: 'IDENTITY_NODE_MISMATCH', requester: node, detail: { kind: 'staff' } });
        throw error;
      }
      if (!(await runtime.store.people.add(person))) throw new TongbanError('PERSON_LOGIN_TAKEN', `The login ${person.login} is taken.`);
      await runtime.audit.append({ kind: 'identity.enrol', outcome: 'allowed', requester: node, subjectHash: personHash(person.id), detail: { kind: 'staff', roles: person.roles.join(',') } });
      return personOut(person);
    },
  });

  addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/identity/staff/:login/disable',
    tag: 'identity',
    summary:
      'Node to hub: disable a staff member of the signing node (RFC 9421): they can no longer sign in, and their hub session ends at its next use. IDENTITY_NODE_MISMATCH for a login of another node; PERSON_NOT_FOUND when the node has no such staff member',
    auth: 'node-signature',
    params: z.object({ login: z.string().max(50) }),
    response: PersonOut,
    errors: [401, 403, 404],
    handler: async ({ params }, request) => {
      const node = await signer(request);
      const login = StaffLogin.safeParse(params.login);
      if (!login.success) throw validationError(login.error);
      checkStaffLogin(login.data, node);
      const person = await runtime.store.people.setStaffDisabled(node, login.data, true);
      if (!person) throw new TongbanError('PERSON_NOT_FOUND', `${node} has no staff member ${login.data}.`);
      await runtime.audit.append({ kind: 'identity.disable', outcome: 'allowed', requester: node, subjectHash: personHash(person.id), detail: { kind: 'staff' } });
      return personOut(person);
    },
  });

  const StaffListQuery = Page(200, 100).strict();
  addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/identity/staff/list',
    tag: 'identity',
    summary:
      "Node to hub: the signing node's own staff (RFC 9421; a POST because a signed request carries a body digest): login, name, roles, disabled, by login, one page `{limit, offset}` at a time. Never another node's staff, never a password hash",
    auth: 'node-signature',
    bodyDoc: StaffListQuery,
    response: StaffPage,
    errors: [401, 403],
    handler: async (_input, request) => {
      const node = await signer(request);
      const page = StaffListQuery.safeParse(request.body ?? {});
      if (!page.success) throw validationError(page.error);
      const { people, total } = await runtime.store.people.staffOf(node, page.data);
      return { staff: people.map((p) => ({ login: p.login, name: p.name, roles: [...p.roles], disabled: p.disabled, createdAt: p.createdAt })), total };
    },
  });
}
