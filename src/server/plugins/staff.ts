import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { operatorActor, subjectHash } from '../../audit/index.ts';
import { generatePassword, HubStaff, OperatorStaffEnrolment, PersonOut, StaffPage, staffLoginOf } from '../../identity/index.ts';
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
      "Operator: enrol a staff member of this node at the hub (a request signed by this node). The login is `name` or `name@<this node's division>` (IDENTITY_NODE_MISMATCH for another division); without a password one is generated and answered once (`generatedPassword`). The hub's record, never a password hash; PERSON_LOGIN_TAKEN when it exists. HUB_UNREACHABLE (503) / HUB_REFUSED (502) when the hub does not answer or does not accept this node",
    body: OperatorStaffEnrolment,
    response: z.object({ staff: PersonOut, generatedPassword: z.string().optional() }),
    status: 201,
    errors: [401, 403, 409],
    auth: 'operator',
    before: operator,
    handler: async ({ body }) => {
      const login = staffLoginOf(body.login, self);
      const generated = body.password === undefined ? generatePassword() : undefined;
      const staff = await hub.enrol({ login, name: body.name, password: body.password ?? generated!, roles: body.roles });
      await runtime.audit.append({ kind: 'identity.staff.enrol', outcome: 'allowed', actor: operatorActor(self), subjectHash: personHash(staff.id), detail: { roles: staff.roles.join(','), generatedPassword: generated !== undefined } });
      return { staff, ...(generated === undefined ? {} : { generatedPassword: generated }) };
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
      await runtime.audit.append({ kind: 'identity.staff.disable', outcome: 'allowed', actor: operatorActor(self), subjectHash: personHash(staff.id), detail: { sessionsEnded } });
      return { staff, sessionsEnded };
    },
  });
}
