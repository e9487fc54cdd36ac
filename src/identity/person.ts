import type { FastifyRequest } from 'fastify';
import { z } from 'zod';

/** The roles a staff member can hold at their node (窗口人员, 审批人员, 主管, 数据管理员, 节点运维). */
export const StaffRole = z.enum(['clerk', 'approver', 'supervisor', 'dataAdmin', 'operator']);
export type StaffRole = z.infer<typeof StaffRole>;

/**
 * Who is calling, as authentication proved it — never as a request body says. Citizens and staff
 * sign in once at the hub (OpenID Connect); a node knows them through its own session cookie or a
 * hub-issued access token. Machine clients are named bearer tokens of one node, scoped to one role.
 */
export const Person = z.object({
  /** Stable identifier: the hub's `sub` for people, `client:<id>` for a node's machine client. */
  subject: z.string().min(1).max(100),
  kind: z.enum(['citizen', 'staff', 'machine']),
  name: z.string().min(1).max(100),
  /** Citizens: the resident ID number (GB 11643, normalised) the hub verified at enrolment. */
  idNumber: z.string().min(15).max(18).optional(),
  /** Staff and machine clients: the division code of the node they belong to. */
  node: z.string().regex(/^\d{6}$/).optional(),
  /** Staff: their login at the hub (`dataadmin@522732`): the name their steps on agreements are recorded under. */
  login: z.string().min(3).max(64).optional(),
  /** Staff: their roles at their node; a machine client: its one role; citizens: none. */
  roles: z.array(StaffRole).max(5),
  /** How this request proved it. */
  via: z.enum(['session', 'access-token', 'machine-token']),
});
export type Person = z.infer<typeof Person>;

/** What a node's or the hub's routes ask: who is this (UNAUTHORIZED, 401, when nobody provable). */
export interface Authenticator {
  authenticate(request: FastifyRequest): Promise<Person>;
}
