import type { FastifyRequest } from 'fastify';
import type { NegotiationActor } from '../agreements/index.ts';
import { operatorActor, type AuditActor, type AuditLog } from '../audit/index.ts';
import { TongbanError } from '../errors/index.ts';
import type { AdminGrants, Authenticator, Person } from '../identity/index.ts';
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
 * clerks, approvers, supervisors and citizens: ADMIN_ROLE_REQUIRED (both 403). A staff member
 * whose role comes from the hub's claims also needs this node's own grant of it
 * (ADMIN_GRANT_MISSING / ADMIN_GRANT_LOCKED): the hub vouches for who someone is, the node decides
 * who administers it. Machine clients are the node's own (its operator created them). `before`
 * runs in the route's onRequest hook; `callerOf` reads what it proved.
 */
export function dataAdminAuth(options: { operatorToken: string | undefined; identity: Authenticator & { readonly adminGrants: AdminGrants }; self: string }) {
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
    if (person.kind === 'staff') await options.identity.adminGrants.require(person.login ?? person.subject, role, options.self);
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
  if (caller.via === 'operator-token') {
    // A staff login is `name@division`: a label shaped like one would pass the operator off as that person in the history.
    if (label !== undefined && /[@＠﹫]/.test(label)) throw new TongbanError('VALIDATION_FAILED', `An operator's label cannot contain "@" (${label}): it would read as a staff member's login; those act signed in as themselves.`, { errors: [{ path: 'operator', message: 'no "@" in a label' }] });
    return { node: self, id: label ?? 'operator', role: 'operator' };
  }
  if (label !== undefined && label !== caller.id) throw new TongbanError('OPERATOR_NOT_CALLER', `A step is recorded under who took it (${caller.id}); it cannot be taken in the name of ${label}.`);
  return { node: self, id: caller.id, role: caller.role };
}

/** The audit log's actor: the person's subject and role, or the operator token. */
export function auditActorOf(caller: DataAdminCaller, self: string): AuditActor {
  return caller.via === 'operator-token' ? operatorActor(self) : { subject: caller.person.subject, node: self, role: caller.role };
}

/**
 * A binding act (signing or registering an agreement, resuming or terminating one): the operator
 * token and machine clients are node-local credentials already; a staff member signed in through
 * the hub also gives the node signing passphrase this node's operator set for them
 * (NODE_PASSPHRASE_REQUIRED / NODE_PASSPHRASE_INVALID / ADMIN_GRANT_LOCKED), so a forged hub
 * token alone cannot make the node sign. A wrong passphrase is audited.
 */
export async function confirmBindingAct(
  caller: DataAdminCaller,
  passphrase: string | undefined,
  context: { grants: AdminGrants; self: string; audit: Pick<AuditLog, 'append'>; act: string },
): Promise<void> {
  if (caller.via === 'operator-token' || caller.person.kind !== 'staff') return;
  try {
    await context.grants.confirm(caller.id, passphrase);
  } catch (error) {
    if (error instanceof TongbanError && error.code !== 'NODE_PASSPHRASE_REQUIRED') {
      await context.audit.append({ kind: 'identity.admin.passphrase', outcome: 'refused', actor: auditActorOf(caller, context.self), detail: { act: context.act, code: error.code } });
    }
    throw error;
  }
}
