import { TongbanError } from '../errors/index.ts';
import type { Person } from '../identity/person.ts';
import type { Actor } from './model.ts';
import type { Principal } from './service.ts';

/** The staff roles that take steps in cases (the others — data administrator, node operator — take none). */
const CASE_ROLES: ReadonlySet<string> = new Set(['clerk', 'approver', 'supervisor']);

/**
 * The case principal of an authenticated person at node `self`: a citizen is an applicant known by
 * their ID number (acting anywhere); staff and machine clients act with their case roles at their
 * own node (the authenticator refused staff of other nodes already). CASE_FORBIDDEN when the person
 * holds no role that takes part in cases.
 */
export function principalFor(person: Person, self: string): Principal {
  // The id is recorded as the actor of steps and thread posts (at most 64 characters on the wire).
  if (person.subject.length > 64) throw new TongbanError('CASE_FORBIDDEN', 'Your identifier is too long to be recorded on a case.');
  if (person.kind === 'citizen') {
    if (!person.idNumber) throw new TongbanError('CASE_FORBIDDEN', 'Your sign-in carries no resident ID number.');
    return { id: person.subject, roles: ['applicant'], node: self, subject: person.idNumber };
  }
  if (person.node !== self) throw new TongbanError('STAFF_OF_ANOTHER_NODE', `Staff of ${person.node ?? 'another node'} act at their own node only; this is ${self}.`);
  const roles = person.roles.filter((role): role is Extract<Actor['role'], 'clerk' | 'approver' | 'supervisor'> => CASE_ROLES.has(role));
  if (roles.length === 0) throw new TongbanError('CASE_FORBIDDEN', `Your roles at this node (${person.roles.join(', ') || 'none'}) take no part in cases.`);
  return { id: person.subject, roles, node: self };
}
