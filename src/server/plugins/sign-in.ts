import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { APPLICANT_CLIENT_REFUSED, checkCsrf, clearedSessionCookie, localReturnPath, loginBinding, loginBindingCookie, loginBindingOf, MachineClientId, MachineClientRole, machineClientView, Person, sessionCookie, StoredMachineClientRole } from '../../identity/index.ts';
import { requireBearer } from '../auth.ts';
import type { ServerContext } from '../context.ts';
import { addRoute, Page } from '../route.ts';

const MachineClientOut = z.object({
  id: z.string(),
  name: z.string(),
  // `applicant`: an applicant account of before sign-in at the hub, listed for the record (revoked by migration 016).
  role: StoredMachineClientRole,
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
  revoked: z.boolean(),
});

/**
 * Who is calling, at a node: signing in at the hub (the node as an OpenID Connect relying party),
 * the session it gives, and the node's machine clients (named bearer tokens, one role each, revocable).
 */
export function signInPlugin(context: ServerContext): void {
  const { app, openapi, runtime } = context;
  const identity = runtime.identity;
  const self = runtime.config.node.division;
  const operator = (request: FastifyRequest) => requireBearer(request, runtime.operatorToken, 'operator');

  // Sign-in at the hub: nodes only (the hub is the provider itself).
  if (runtime.config.node.role === 'node') {
    const redirectUri = () => new URL('/v1/auth/callback', context.endpoint()).href;

    addRoute(app, openapi, {
      method: 'GET',
      url: '/v1/auth/login',
      tag: 'identity',
      summary:
        "Sign in: redirects to the hub's OpenID provider (authorization code with PKCE); back at `return` (a path on this node) once signed in. `fresh=1`: the hub asks for the password even when it has a session (what granting a consent through this node needs: RECENT_SIGN_IN_REQUIRED)",
      query: z.object({ return: z.string().max(2000).optional(), fresh: z.enum(['1', 'true']).optional() }),
      response: z.string(),
      status: 302,
      rateLimit: context.rateLimits.public,
      setsCookie: 'tongban_login_<division>: binds the sign-in to this browser (HttpOnly, Path=/v1/auth/, SameSite=Lax, 10 minutes, Secure on https); the callback needs it.',
      handler: async ({ query }, request, reply) => {
        const returnTo = localReturnPath(query.return);
        // Login CSRF: only the browser that starts a sign-in can complete it at the callback.
        const binding = loginBinding(request.headers.cookie, self);
        const target = await identity.relyingParty.begin(returnTo, redirectUri(), binding.value, { fresh: query.fresh !== undefined });
        if (binding.fresh) reply.header('set-cookie', loginBindingCookie(binding.value, { node: self, secure: identity.secureCookies }));
        return redirect(reply, target.href);
      },
    });

    addRoute(app, openapi, {
      method: 'GET',
      url: '/v1/auth/callback',
      tag: 'identity',
      summary: "Where the hub sends the browser back: the code is exchanged, the ID token checked, a session of this node opened (cookie tongban_session_<division>); redirects to the path sign-in started from",
      query: z.object({ code: z.string().max(2000).optional(), state: z.string().max(500).optional(), error: z.string().max(200).optional(), iss: z.string().max(500).optional() }),
      response: z.string(),
      status: 302,
      setsCookie: 'tongban_session_<division>: the session of this node (HttpOnly, Path=/, SameSite=Lax, Secure on https).',
      errors: [400],
      rateLimit: context.rateLimits.public,
      handler: async (_input, request, reply) => {
        const { person, returnTo, accessToken } = await identity.relyingParty.complete(new URL(request.url, context.endpoint()), loginBindingOf(request.headers.cookie, self));
        const session = await identity.sessions.create(person, accessToken);
        reply.header('set-cookie', sessionCookie(session.id, { node: self, secure: identity.secureCookies, maxAgeSeconds: session.maxAgeSeconds }));
        return redirect(reply, returnTo);
      },
    });
  }

  addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/auth/logout',
    tag: 'identity',
    summary: "Sign out of this node: its session ends and the cookie is cleared (the hub's own session stays: sign out there separately)",
    response: z.object({ signedOut: z.boolean() }),
    setsCookie: 'tongban_session_<division>, cleared.',
    // 400/413/415 are documented for every POST; a cookie session from another site is 403.
    errors: [403],
    rateLimit: context.rateLimits.public,
    handler: async (_input, request, reply) => {
      const id = identity.sessionIdOf(request);
      let signedOut = false;
      if (id && (await identity.sessions.resolve(id))) {
        checkCsrf(request, context.endpoint());
        signedOut = await identity.sessions.destroy(id);
      }
      if (id) reply.header('set-cookie', clearedSessionCookie({ node: self, secure: identity.secureCookies }));
      return { signedOut };
    },
  });

  addRoute(app, openapi, {
    method: 'GET',
    url: '/v1/auth/me',
    tag: 'identity',
    summary: 'Who the caller is, as authentication proved it (session, hub access token or machine token), and whether they may act at this node',
    response: Person.extend({ actsHere: z.boolean() }),
    auth: 'person',
    handler: async (_input, request) => {
      const person = await identity.identify(request);
      return { ...person, actsHere: person.kind === 'citizen' || person.node === runtime.config.node.division };
    },
  });

  addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/operator/accounts',
    tag: 'operator',
    summary: 'Operator: create a machine client — a named bearer token scoped to one staff role; the token is shown once. Never a citizen: citizens sign in at the hub',
    // Strict: an `idNumber` (the applicant accounts of before) is refused, never dropped silently.
    body: z.strictObject(
      { id: MachineClientId, role: MachineClientRole, name: z.string().min(1).max(100) },
      { error: (issue) => (issue.code === 'unrecognized_keys' && issue.keys.includes('idNumber') ? `a machine client acts for no citizen: ${APPLICANT_CLIENT_REFUSED}` : undefined) },
    ),
    response: z.object({ id: z.string(), role: MachineClientRole, token: z.string() }),
    status: 201,
    // An id already taken is refused as VALIDATION_FAILED (400), like any other invalid account.
    errors: [401],
    auth: 'operator',
    before: operator,
    handler: async ({ body }) => {
      const { client, token } = await identity.machineClients.create(body);
      return { id: client.id, role: client.role, token };
    },
  });

  addRoute(app, openapi, {
    method: 'GET',
    url: '/v1/operator/accounts',
    tag: 'operator',
    summary: "Operator: this node's machine clients, revoked ones included (never their tokens)",
    query: Page(1000, 100),
    response: z.object({ clients: z.array(MachineClientOut), total: z.number() }),
    errors: [401],
    auth: 'operator',
    before: operator,
    handler: async ({ query }) => {
      const { clients, total } = await identity.machineClients.list(query);
      return { clients: clients.map(machineClientView), total };
    },
  });

  addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/operator/accounts/:id/revoke',
    tag: 'operator',
    summary: 'Operator: revoke a machine client; its token is refused from the next request on (revoking again changes nothing)',
    params: z.object({ id: z.string().max(64) }),
    response: MachineClientOut,
    errors: [401, 404],
    auth: 'operator',
    before: operator,
    handler: async ({ params }) => machineClientView(await identity.machineClients.revoke(params.id)),
  });
}

function redirect(reply: FastifyReply, location: string): FastifyReply {
  reply.header('cache-control', 'no-store');
  return reply.redirect(location, 302);
}
