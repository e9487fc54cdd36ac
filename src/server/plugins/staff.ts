import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { operatorActor, subjectHash } from '../../audit/index.ts';
import { AdminGrantRequest, AdminGrantRole, AdminGrantView, generatePassword, HubStaff, NodePassphrase, OperatorStaffEnrolment, PersonOut, StaffPage, staffLoginOf } from '../../identity/index.ts';
import { requireBearer } from '../auth.ts';
import type { ServerContext } from '../context.ts';
import { addRoute, Page } from '../route.ts';

/**
 * Nodes only: the node's operator manages the node's staff, who sign in at the hub
 * (docs/identity.md). Each step is forwarded to the hub as a request signed by this node — the hub
 * takes the node from the signature —, and a disabled person's sessions at this node end at once.
 */
export function staffPlugin(context: ServerContext): void {
  const { app, openapi, runtime } = context;
  if (runtime.config.node.role !== 'node' || !runtime.config.hub) return;
  const self = runtime.config.node.division;
  const hubUrl = runtime.config.hub.url;
  const operator = (request: FastifyRequest) => requireBearer(request, runtime.operatorToken, 'operator');
  const hub = new HubStaff({ self, hubUrl, key: () => runtime.keys.current(), clock: context.clock });
  const personHash = (id: string) => subjectHash(runtime.auditKey, 'person', id);

  addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/operator/staff',
    tag: 'operator',
    summary:
      "Operator: enrol a staff member of this node at the hub (a request signed by this node). The login is `name` or `name@<this node's division>` (IDENTITY_NODE_MISMATCH for another division); without a password one is generated and answered once (`generatedPassword`). The roles dataAdmin and operator are also granted here, at this node (`adminGrant`), with a node signing passphrase (`passphrase`, else generated and answered once as `generatedPassphrase`) that the hub never sees. The hub's record, never a password hash; PERSON_LOGIN_TAKEN when it exists. HUB_UNREACHABLE (503) / HUB_REFUSED (502) when the hub does not answer or does not accept this node",
    body: OperatorStaffEnrolment.extend({ passphrase: NodePassphrase.optional() }),
    response: z.object({ staff: PersonOut, generatedPassword: z.string().optional(), adminGrant: AdminGrantView.optional(), generatedPassphrase: z.string().optional() }),
    status: 201,
    errors: [401, 403, 409],
    auth: 'operator',
    before: operator,
    handler: async ({ body }) => {
      const login = staffLoginOf(body.login, self);
      const generated = body.password === undefined ? generatePassword() : undefined;
      const staff = await hub.enrol({ login, name: body.name, password: body.password ?? generated!, roles: body.roles });
      const adminRoles = body.roles.filter((r): r is AdminGrantRole => AdminGrantRole.safeParse(r).success);
      const granted = adminRoles.length > 0 ? await runtime.identity.adminGrants.grant({ login, roles: adminRoles, passphrase: body.passphrase, by: 'operator' }) : undefined;
      await runtime.audit.append({ kind: 'identity.staff.enrol', outcome: 'allowed', actor: operatorActor(self), subjectHash: personHash(staff.id), detail: { roles: staff.roles.join(','), generatedPassword: generated !== undefined, granted: adminRoles.join(',') } });
      return {
        staff,
        ...(generated === undefined ? {} : { generatedPassword: generated }),
        ...(granted ? { adminGrant: granted.grant } : {}),
        ...(granted?.generatedPassphrase ? { generatedPassphrase: granted.generatedPassphrase } : {}),
      };
    },
  });

  addRoute(app, openapi, {
    method: 'GET',
    url: '/v1/operator/staff',
    tag: 'operator',
    summary: "Operator: this node's staff as the hub holds them (login, name, roles, disabled), by login; asked of the hub with a request signed by this node",
    query: Page(200, 100),
    response: StaffPage,
    errors: [401],
    auth: 'operator',
    before: operator,
    handler: async ({ query }) => hub.list(query),
  });

  addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/operator/staff/:login/disable',
    tag: 'operator',
    summary:
      "Operator: disable a staff member of this node at the hub (a request signed by this node) — they can no longer sign in — and end their sessions at this node at once (`sessionsEnded`). `name` or `name@<this node's division>`; IDENTITY_NODE_MISMATCH for another division, PERSON_NOT_FOUND when the hub knows no such staff member of this node",
    params: z.object({ login: z.string().max(50) }),
    response: z.object({ staff: PersonOut, sessionsEnded: z.number().int().min(0) }),
    errors: [401, 403, 404],
    auth: 'operator',
    before: operator,
    handler: async ({ params }) => {
      const login = staffLoginOf(params.login, self);
      // The subject whose sessions end is the hub's answer about this login (checked to be this node's staff member).
      const staff = await hub.disable(login);
      const sessionsEnded = await runtime.store.sessions.removeBySubject(staff.id);
      // Whatever the hub does later, this node no longer lets them administer it.
      if (await runtime.store.adminGrants.get(login)) await runtime.identity.adminGrants.revoke(login);
      await runtime.audit.append({ kind: 'identity.staff.disable', outcome: 'allowed', actor: operatorActor(self), subjectHash: personHash(staff.id), detail: { sessionsEnded } });
      return { staff, sessionsEnded };
    },
  });

  addRoute(app, openapi, {
    method: 'GET',
    url: '/v1/operator/admin-grants',
    tag: 'operator',
    summary:
      "Operator: who this node lets administer it — the node-local grants of the roles dataAdmin and operator (login, roles, when and by whom, revoked, locked after wrong passphrases). The hub's role claims alone make nobody an administrator here (ADMIN_GRANT_MISSING)",
    response: z.array(AdminGrantView),
    errors: [401],
    auth: 'operator',
    before: operator,
    handler: async () => runtime.identity.adminGrants.list(),
  });

  addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/operator/staff/:login/admin-grant',
    tag: 'operator',
    summary:
      "Operator: grant a staff member of this node (`name` or `name@<division>`) the roles dataAdmin and/or operator here, with a node signing passphrase (`passphrase`, else generated and answered once as `generatedPassphrase`) that signing, registering, resuming and terminating agreements ask for. Replaces an earlier grant (and unlocks one locked by wrong passphrases). The hub must also list the role for them (enrol with it)",
    params: z.object({ login: z.string().max(50) }),
    body: AdminGrantRequest,
    response: z.object({ grant: AdminGrantView, generatedPassphrase: z.string().optional() }),
    status: 201,
    errors: [401, 403],
    auth: 'operator',
    before: operator,
    handler: async ({ params, body }) => {
      const login = staffLoginOf(params.login, self);
      const granted = await runtime.identity.adminGrants.grant({ login, roles: body.roles, passphrase: body.passphrase, by: 'operator' });
      await runtime.audit.append({ kind: 'identity.admin.grant', outcome: 'allowed', actor: operatorActor(self), detail: { login, roles: body.roles.join(','), generatedPassphrase: granted.generatedPassphrase !== undefined } });
      return granted;
    },
  });

  addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/operator/staff/:login/admin-grant/revoke',
    tag: 'operator',
    summary: "Operator: withdraw this node's grant of the administering roles from a staff member: from their next request on they administer nothing here, whatever the hub says (PERSON_NOT_FOUND when they hold no grant)",
    params: z.object({ login: z.string().max(50) }),
    response: AdminGrantView,
    errors: [401, 403, 404],
    auth: 'operator',
    before: operator,
    handler: async ({ params }) => {
      const login = staffLoginOf(params.login, self);
      const revoked = await runtime.identity.adminGrants.revoke(login);
      await runtime.audit.append({ kind: 'identity.admin.revoke', outcome: 'allowed', actor: operatorActor(self), detail: { login } });
      return revoked;
    },
  });
}
