import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { TongbanError } from '../errors/index.ts';
import type { MachineClientRecord, Store } from '../store/index.ts';
import { StaffRole, type Person } from './person.ts';
import { secretHash } from './sessions.ts';

/** A machine client's id: short enough that `client:<id>` fits an actor id (64). */
export const MachineClientId = z.string().regex(/^[A-Za-z0-9._-]{1,56}$/, 'letters, digits, dot, underscore, hyphen; at most 56');

/** What a node's operator is told when asking for a machine client that would act as a citizen. */
export const APPLICANT_CLIENT_REFUSED =
  'a machine client takes one staff role (clerk, approver, supervisor, dataAdmin, operator); citizens sign in at the hub (GET /v1/auth/login at any node) and act with their own session or hub access token';

/**
 * The role of a machine client: one staff role, never `applicant`. A bearer token that acts as a
 * citizen would be a citizen's identity held by the node's operator: citizens sign in at the hub.
 */
export const MachineClientRole = z.enum(StaffRole.options, {
  error: (issue) => (issue.input === 'applicant' ? APPLICANT_CLIENT_REFUSED : `one of ${StaffRole.options.join(', ')}`),
});
export type MachineClientRole = z.infer<typeof MachineClientRole>;

/**
 * The role a stored machine client may have: a staff role, or `applicant` for the applicant
 * accounts carried over from before sign-in at the hub (migration 013), all revoked by
 * migration 016 and refused by `resolve` whatever their row says.
 */
export const StoredMachineClientRole = z.union([StaffRole, z.literal('applicant')]);

/** What is shown of a machine client: never its token (only its SHA-256 is kept). */
export function machineClientView(record: MachineClientRecord) {
  return { id: record.id, name: record.name, role: record.role, createdAt: record.createdAt, revokedAt: record.revokedAt, revoked: record.revokedAt !== null };
}

/** A node's machine clients: named bearer tokens, one role each, revocable (refused at once). */
export class MachineClients {
  readonly #store: Store;
  readonly #self: string;
  readonly #clock: () => Date;

  constructor(store: Store, self: string, clock: () => Date) {
    this.#store = store;
    this.#self = self;
    this.#clock = clock;
  }

  /** Creates a client for one staff role; the token is returned once. VALIDATION_FAILED when the id is taken or the role is no staff role. */
  async create(input: { id: string; name: string; role: MachineClientRole }): Promise<{ client: MachineClientRecord & { role: MachineClientRole }; token: string }> {
    const role = MachineClientRole.safeParse(input.role);
    if (!role.success) {
      const message = role.error.issues[0]?.message ?? APPLICANT_CLIENT_REFUSED;
      throw new TongbanError('VALIDATION_FAILED', `role: ${message}`, { errors: [{ path: 'role', message }] });
    }
    const token = randomBytes(32).toString('base64url');
    const client = { id: input.id, name: input.name, role: role.data, createdAt: this.#clock().toISOString() };
    if (!(await this.#store.machineClients.add(client, secretHash(token)))) throw new TongbanError('VALIDATION_FAILED', `An account ${input.id} already exists.`);
    return { client: { ...client, revokedAt: null }, token };
  }

  list(page: { limit: number; offset: number }) {
    return this.#store.machineClients.list(page);
  }

  async revoke(id: string): Promise<MachineClientRecord> {
    const revoked = await this.#store.machineClients.revoke(id, this.#clock().toISOString());
    if (!revoked) throw new TongbanError('MACHINE_CLIENT_NOT_FOUND', `There is no machine client ${id} at this node.`);
    return revoked;
  }

  /**
   * The machine client a token stands for — always kind `machine`, one staff role, this node —;
   * undefined for an unknown or revoked token, and for a row with any other role (the applicant
   * accounts of before sign-in at the hub: revoked by migration 016, and refused here even if a
   * row escaped it). A machine token never stands for a citizen.
   */
  async resolve(token: string): Promise<Person | undefined> {
    // Looked up by its SHA-256: any bytes the caller sends are hashed, never compared or measured.
    const client = await this.#store.machineClients.byTokenHash(secretHash(token));
    if (!client || client.revokedAt !== null) return undefined;
    const role = StaffRole.safeParse(client.role);
    if (!role.success) return undefined;
    return { subject: `client:${client.id}`, kind: 'machine', name: client.name, node: this.#self, roles: [role.data], via: 'machine-token' };
  }
}
