import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { TongbanError } from '../errors/index.ts';
import type { MachineClientRecord, Store } from '../store/index.ts';
import { StaffRole, type Person } from './person.ts';
import { secretHash } from './sessions.ts';

/** A machine client's id: short enough that `client:<id>` fits an actor id (64). */
export const MachineClientId = z.string().regex(/^[A-Za-z0-9._-]{1,56}$/, 'letters, digits, dot, underscore, hyphen; at most 56');

/**
 * The role of a machine client: one staff role — or `applicant`, the bearer-token applicant
 * accounts of before sign-in at the hub, kept for the CLI walk-through (they carry the ID number
 * they act for); citizens otherwise sign in at the hub.
 */
export const MachineClientRole = z.union([StaffRole, z.literal('applicant')]);
export type MachineClientRole = z.infer<typeof MachineClientRole>;

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

  /** Creates a client; the token is returned once. VALIDATION_FAILED when the id is taken. */
  async create(input: { id: string; name: string; role: MachineClientRole; idNumber?: string | undefined }): Promise<{ client: MachineClientRecord; token: string }> {
    const token = randomBytes(32).toString('base64url');
    const client = { id: input.id, name: input.name, role: input.role, idNumber: input.idNumber ?? null, createdAt: this.#clock().toISOString() };
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

  /** The person a machine token stands for; undefined for an unknown or revoked token. */
  async resolve(token: string): Promise<Person | undefined> {
    // Looked up by its SHA-256: any bytes the caller sends are hashed, never compared or measured.
    const client = await this.#store.machineClients.byTokenHash(secretHash(token));
    if (!client || client.revokedAt !== null) return undefined;
    const subject = `client:${client.id}`;
    if (client.role === 'applicant') {
      if (!client.idNumber) return undefined;
      return { subject, kind: 'citizen', name: client.name, idNumber: client.idNumber, roles: [], via: 'machine-token' };
    }
    const role = StaffRole.safeParse(client.role);
    if (!role.success) return undefined;
    return { subject, kind: 'machine', name: client.name, node: this.#self, roles: [role.data], via: 'machine-token' };
  }
}
