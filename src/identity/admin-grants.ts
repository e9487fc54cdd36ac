import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { TongbanError } from '../errors/index.ts';
import type { AdminGrantRecord, StoreOps } from '../store/index.ts';
import { hashPassword, verifyPassword } from './password.ts';

/**
 * Who administers a node is the node's own decision (docs/threat-model.md, "the hub vouches for
 * identity, not for authority"). The hub signs people in and its tokens carry their roles, but a
 * hub that lied — or was taken over — could mint a token naming anyone a data administrator of any
 * node. So a node's administering routes also ask this node-local record: its operator (the
 * operator token, i.e. someone with access to the node's own files) grants the roles `dataAdmin`
 * and `operator` to a login, with a node signing passphrase the hub never sees. Acts that bind the
 * node towards others (signing or registering an agreement, resuming or terminating one) ask for
 * that passphrase: a forged hub token alone cannot make the node sign.
 */

export const AdminGrantRole = z.enum(['dataAdmin', 'operator']);
export type AdminGrantRole = z.infer<typeof AdminGrantRole>;

/** Wrong passphrases in a row that lock a grant until the operator grants again. */
export const ADMIN_GRANT_MAX_FAILURES = 5;

/** At least 12 characters: it guards what the node signs. */
export const NodePassphrase = z.string().min(12, 'a node signing passphrase has at least 12 characters').max(200);

/** Body of `POST /v1/operator/staff/{login}/admin-grant`: without a passphrase one is generated and answered once. */
export const AdminGrantRequest = z.strictObject({
  roles: z.array(AdminGrantRole).min(1).max(2).refine((r) => new Set(r).size === r.length, 'each role once'),
  passphrase: NodePassphrase.optional(),
});

/** A grant as the operator sees it (never the passphrase or its hash). */
export const AdminGrantView = z.object({
  login: z.string(),
  roles: z.array(AdminGrantRole),
  grantedAt: z.string(),
  grantedBy: z.string(),
  revokedAt: z.string().nullable(),
  locked: z.boolean(),
});
export type AdminGrantView = z.infer<typeof AdminGrantView>;

export const viewOfGrant = (g: AdminGrantRecord): AdminGrantView => ({
  login: g.login,
  roles: [...g.roles],
  grantedAt: g.grantedAt,
  grantedBy: g.grantedBy,
  revokedAt: g.revokedAt,
  locked: g.failures >= ADMIN_GRANT_MAX_FAILURES,
});

/** A passphrase when the operator gives none: 120 random bits, in groups a person can copy. */
export function generatePassphrase(): string {
  return (randomBytes(15).toString('base64url').match(/.{1,5}/g) ?? []).join('-');
}

export class AdminGrants {
  readonly #store: Pick<StoreOps, 'adminGrants'>;
  readonly #clock: () => Date;

  constructor(store: Pick<StoreOps, 'adminGrants'>, clock: () => Date) {
    this.#store = store;
    this.#clock = clock;
  }

  /** Grants `roles` to `login` (replacing an earlier grant and its passphrase). The passphrase is answered when generated. */
  async grant(input: { login: string; roles: readonly AdminGrantRole[]; passphrase?: string; by: string }): Promise<{ grant: AdminGrantView; generatedPassphrase?: string }> {
    const generated = input.passphrase === undefined ? generatePassphrase() : undefined;
    await this.#store.adminGrants.put({ login: input.login, roles: input.roles, passphraseHash: await hashPassword(input.passphrase ?? generated!), grantedAt: this.#clock().toISOString(), grantedBy: input.by });
    const grant = await this.#store.adminGrants.get(input.login);
    return { grant: viewOfGrant(grant!), ...(generated === undefined ? {} : { generatedPassphrase: generated }) };
  }

  async revoke(login: string): Promise<AdminGrantView> {
    const grant = await this.#store.adminGrants.revoke(login, this.#clock().toISOString());
    if (!grant) throw new TongbanError('PERSON_NOT_FOUND', `${login} holds no grant at this node.`);
    return viewOfGrant(grant);
  }

  async list(): Promise<AdminGrantView[]> {
    return (await this.#store.adminGrants.list()).map(viewOfGrant);
  }

  /**
   * The grant that lets `login` act in `role` here: ADMIN_GRANT_MISSING when there is none (or it
   * was revoked, or names other roles), ADMIN_GRANT_LOCKED after too many wrong passphrases.
   */
  async require(login: string, role: AdminGrantRole, division: string): Promise<AdminGrantRecord> {
    const grant = await this.#store.adminGrants.get(login);
    if (!grant || grant.revokedAt !== null || !grant.roles.includes(role)) {
      throw new TongbanError(
        'ADMIN_GRANT_MISSING',
        `The hub says ${login} holds ${role} at ${division}, but this node's operator has not granted it here (tongban account staff grant ${login} --role ${role} --node ${division}).`,
      );
    }
    if (grant.failures >= ADMIN_GRANT_MAX_FAILURES) throw locked(login);
    return grant;
  }

  /**
   * Checks the node signing passphrase of `login` for a binding act: NODE_PASSPHRASE_REQUIRED when
   * none is given, NODE_PASSPHRASE_INVALID (counted) when wrong, ADMIN_GRANT_LOCKED at the limit.
   */
  async confirm(login: string, passphrase: string | undefined): Promise<void> {
    const grant = await this.#store.adminGrants.get(login);
    if (!grant || grant.revokedAt !== null) throw new TongbanError('ADMIN_GRANT_MISSING', `${login} holds no grant at this node.`);
    if (grant.failures >= ADMIN_GRANT_MAX_FAILURES) throw locked(login);
    if (passphrase === undefined || passphrase === '') {
      throw new TongbanError('NODE_PASSPHRASE_REQUIRED', 'Signing, registering, resuming or terminating an agreement binds this node: give your node signing passphrase (`passphrase`), set by this node’s operator.');
    }
    // Counted as a failure before it is checked (and forgiven when right): guesses sent at once
    // cannot all get past the limit while the slow hash is computed.
    if (!(await this.#store.adminGrants.attempt(login, ADMIN_GRANT_MAX_FAILURES))) throw locked(login);
    if (!(await verifyPassword(passphrase, grant.passphraseHash))) {
      const failures = (await this.#store.adminGrants.get(login))?.failures ?? ADMIN_GRANT_MAX_FAILURES;
      if (failures >= ADMIN_GRANT_MAX_FAILURES) throw locked(login);
      throw new TongbanError('NODE_PASSPHRASE_INVALID', `That is not your node signing passphrase; ${ADMIN_GRANT_MAX_FAILURES - failures} more wrong and your grant here is locked.`);
    }
    await this.#store.adminGrants.clearFailures(login);
  }
}

const locked = (login: string) =>
  new TongbanError('ADMIN_GRANT_LOCKED', `${login}'s grant at this node is locked after ${ADMIN_GRANT_MAX_FAILURES} wrong node signing passphrases; this node's operator must grant it again.`);
