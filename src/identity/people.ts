import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { TongbanError } from '../errors/index.ts';
import { ResidentIdNumber } from '../exchange/protocol.ts';
import { validateResidentId } from '../standards/index.ts';
import type { PersonRecord } from '../store/index.ts';
import { hashPassword } from './password.ts';
import { StaffRole } from './person.ts';

/** Passwords: at least 10 characters (a demo password too), at most 200 (scrypt hashes any length, a bound keeps requests small). */
export const Password = z.string().min(10).max(200);

/**
 * A staff login: a local part and the division of the staff member's node, `clerk@522732`. The
 * suffix binds the login to the node that enrols it, so no node can take a name in another
 * node's space, nor a citizen's ID number.
 */
export const StaffLogin = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z][a-z0-9._-]{0,39}@\d{6}$/, 'a staff login is <name>@<division code of the node>, e.g. clerk@522732');

/** Body of `POST /v1/identity/citizens` (hub administrator). */
export const CitizenEnrolment = z.object({
  idNumber: ResidentIdNumber,
  name: z.string().trim().min(1).max(100),
  password: Password,
});
export type CitizenEnrolment = z.output<typeof CitizenEnrolment>;

/** Body of `POST /v1/identity/staff` (signed by the staff member's node). */
export const StaffEnrolment = z.object({
  login: StaffLogin,
  name: z.string().trim().min(1).max(100),
  password: Password,
  roles: z.array(StaffRole).min(1).max(5).refine((r) => new Set(r).size === r.length, 'each role once'),
});
export type StaffEnrolment = z.output<typeof StaffEnrolment>;

/** A person as the enrolment API answers: never the password hash, never the ID number. */
export const PersonOut = z.object({
  id: z.string(),
  login: z.string(),
  kind: z.enum(['citizen', 'staff']),
  name: z.string(),
  node: z.string().nullable(),
  roles: z.array(z.string()),
  disabled: z.boolean(),
  createdAt: z.string(),
});
export type PersonOut = z.infer<typeof PersonOut>;

/** What a citizen's login is: the ID number's normalised form (an `x` typed in lower case finds the stored `X`). */
export function normaliseLogin(input: string): string {
  const trimmed = input.trim();
  const id = validateResidentId(trimmed);
  return id.valid ? id.value : trimmed.toLowerCase();
}

export async function newCitizen(input: CitizenEnrolment, now: Date): Promise<PersonRecord> {
  return {
    id: `p-${randomUUID()}`,
    login: input.idNumber,
    kind: 'citizen',
    name: input.name,
    idNumber: input.idNumber,
    node: null,
    roles: [],
    passwordHash: await hashPassword(input.password),
    disabled: false,
    createdAt: now.toISOString(),
  };
}

/** A staff member of `node` (the signer of the request, never a field of it). */
export async function newStaff(input: StaffEnrolment, node: string, now: Date): Promise<PersonRecord> {
  checkStaffLogin(input.login, node);
  return {
    id: `p-${randomUUID()}`,
    login: input.login,
    kind: 'staff',
    name: input.name,
    idNumber: null,
    node,
    roles: input.roles,
    passwordHash: await hashPassword(input.password),
    disabled: false,
    createdAt: now.toISOString(),
  };
}

/** A node enrols and disables logins of its own space only (`…@<its division>`). */
export function checkStaffLogin(login: string, node: string): void {
  if (!login.endsWith(`@${node}`)) {
    throw new TongbanError('IDENTITY_NODE_MISMATCH', `Node ${node} manages staff logins ending in @${node} only; ${login.replace(/^.*@/, '@')} belongs to another node.`);
  }
}

export function personOut(p: PersonRecord): PersonOut {
  return { id: p.id, login: p.kind === 'citizen' ? maskedIdNumber(p.login) : p.login, kind: p.kind, name: p.name, node: p.node, roles: [...p.roles], disabled: p.disabled, createdAt: p.createdAt };
}

/** An ID number shown with its middle hidden (the administrator knows whom they enrolled). */
export function maskedIdNumber(id: string): string {
  return `${id.slice(0, 4)}${'*'.repeat(Math.max(0, id.length - 8))}${id.slice(-4)}`;
}

/** The OIDC claims of a person (scope `profile`: name; scope `tongban`: the rest). */
export function claimsOf(p: PersonRecord): Record<string, unknown> {
  return {
    sub: p.id,
    name: p.name,
    tongban_kind: p.kind,
    ...(p.kind === 'citizen' && p.idNumber ? { tongban_id_number: p.idNumber } : {}),
    ...(p.kind === 'staff' ? { tongban_node: p.node, tongban_roles: [...p.roles], tongban_login: p.login } : {}),
  };
}
