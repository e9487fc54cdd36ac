import type { FastifyRequest } from 'fastify';
import type { NegotiationActor } from '../agreements/index.ts';
import { operatorActor, type AuditActor } from '../audit/index.ts';
import { TongbanError } from '../errors/index.ts';
import type { Authenticator, Person } from '../identity/index.ts';
import { bearerToken, sameSecret } from './auth.ts';

/**
 * The staff roles that administer a node's agreements, templates, partners and enrolment besides
 * the operator token: the data administrator (数据管理员) and the node's operations staff
 * (节点运维, the person behind the operator token). Supervisors and clerks handle cases, not
 * agreements, although the negotiation table would let a supervisor take part.
 */
export const DATA_ADMIN_ROLES = ['dataAdmin', 'operator'] as const;
export type DataAdminRole = (typeof DATA_ADMIN_ROLES)[number];

/** Who called a `data-admin` route: the operator token (the CLI), or a person of this node in an admin role. */
export type DataAdminCaller =
  | { readonly via: 'operator-token' }
  | { readonly via: 'person'; readonly person: Person; readonly role: DataAdminRole; readonly id: string };

/**
 * The `data-admin` route auth kind (src/server/route.ts): the node's operator token, or a person
 * signed in at this node (session cookie with the CSRF header, hub access token, machine client
 * token) holding a DATA_ADMIN_ROLES role here. Staff of another node: STAFF_OF_ANOTHER_NODE;
 * clerks, approvers, supervisors and citizens: ADMIN_ROLE_REQUIRED (both 403). `before` runs in the
 * route's onRequest hook; `callerOf` reads what it proved.
 */
export function dataAdminAuth(options: { operatorToken: string | undefined; identity: Authenticator; self: string }) {
  const callers = new WeakMap<FastifyRequest, DataAdminCaller>();
  const prove = async (request: FastifyRequest): Promise<DataAdminCaller> => {
    const given = bearerToken(request);
    if (given !== undefined && options.operatorToken !== undefined && sameSecret(given, options.operatorToken)) return { via: 'operator-token' };
    const person = await options.identity.authenticate(request);
    const role = DATA_ADMIN_ROLES.find((r) => person.kind !== 'citizen' && person.node === options.self && person.roles.includes(r));
    if (!role) {
      const held = person.kind === 'citizen' ? 'a citizen' : `roles ${person.roles.join(', ') || 'none'}`;
      throw new TongbanError('ADMIN_ROLE_REQUIRED', `Administering this node's agreements needs the role dataAdmin or operator at ${options.self} (or the operator token); you are ${held}.`);
    }
    // The name a step is recorded under: the staff login, else the stable subject (a machine client's `client:<id>`).
    return { via: 'person', person, role, id: (person.login ?? person.subject).slice(0, 64) };
  };
  return {
    auth: 'data-admin' as const,
    before: async (request: FastifyRequest) => {
      callers.set(request, await prove(request));
    },
    callerOf: async (request: FastifyRequest): Promise<DataAdminCaller> => callers.get(request) ?? prove(request),
  };
}

/**
 * Who takes a negotiation or lifecycle step. The operator token may label the step with a name
 * (`label`, the CLI's `--operator`); a person is who they are: a label naming anyone else is
 * OPERATOR_NOT_CALLER.
 */
export function actorOf(caller: DataAdminCaller, self: string, label?: string): NegotiationActor {
  if (caller.via === 'operator-token') return { node: self, id: label ?? 'operator', role: 'operator' };
  if (label !== undefined && label !== caller.id) throw new TongbanError('OPERATOR_NOT_CALLER', `A step is recorded under who took it (${caller.id}); it cannot be taken in the name of ${label}.`);
  return { node: self, id: caller.id, role: caller.role };
}

/** The audit log's actor: the person's subject and role, or the operator token. */
export function auditActorOf(caller: DataAdminCaller, self: string): AuditActor {
  return caller.via === 'operator-token' ? operatorActor(self) : { subject: caller.person.subject, node: self, role: caller.role };
}
