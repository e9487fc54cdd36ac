import type { AdminGrantRecord, LoginStateRecord, MachineClientRecord, SessionRecord, StoreOps } from '../store.ts';
import { isUniqueViolation, type OpsContext } from './context.ts';

type MachineClientRow = { id: string; name: string; role: string; created_at: string; revoked_at: string | null };
// id_number (migration 013) is never read: only the applicant accounts of before had one, erased by migration 016.
const CLIENT_COLUMNS = ['id', 'name', 'role', 'created_at', 'revoked_at'] as const;

const toClient = (r: MachineClientRow): MachineClientRecord => ({
  id: r.id,
  name: r.name,
  role: r.role as MachineClientRecord['role'],
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
});

type AdminGrantRow = { login: string; roles: string; passphrase_hash: string; failures: number | string; granted_at: string; granted_by: string; revoked_at: string | null };

const toGrant = (r: AdminGrantRow): AdminGrantRecord => ({
  login: r.login,
  roles: r.roles.split(',').filter(Boolean) as AdminGrantRecord['roles'][number][],
  passphraseHash: r.passphrase_hash,
  failures: Number(r.failures),
  grantedAt: r.granted_at,
  grantedBy: r.granted_by,
  revokedAt: r.revoked_at,
});

export function adminGrantsOps({ db }: OpsContext): StoreOps['adminGrants'] {
  const get = async (login: string) => {
    const row = await db.selectFrom('admin_grants').selectAll().where('login', '=', login).executeTakeFirst();
    return row ? toGrant(row) : undefined;
  };
  return {
    async put(grant): Promise<void> {
      const values = { roles: grant.roles.join(','), passphrase_hash: grant.passphraseHash, failures: 0, granted_at: grant.grantedAt, granted_by: grant.grantedBy, revoked_at: null };
      await db
        .insertInto('admin_grants')
        .values({ login: grant.login, ...values })
        .onConflict((oc) => oc.column('login').doUpdateSet(values))
        .execute();
    },
    get,
    async list(): Promise<AdminGrantRecord[]> {
      return (await db.selectFrom('admin_grants').selectAll().orderBy('login').execute()).map(toGrant);
    },
    async revoke(login: string, at: string): Promise<AdminGrantRecord | undefined> {
      await db.updateTable('admin_grants').set({ revoked_at: at }).where('login', '=', login).where('revoked_at', 'is', null).execute();
      return get(login);
    },
    async attempt(login: string, max: number): Promise<boolean> {
      // Checked and counted in one statement: concurrent guesses each take one of the `max`.
      const result = await db
        .updateTable('admin_grants')
        .set((eb) => ({ failures: eb('failures', '+', 1) }))
        .where('login', '=', login)
        .where('revoked_at', 'is', null)
        .where('failures', '<', max)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async clearFailures(login: string): Promise<void> {
      await db.updateTable('admin_grants').set({ failures: 0 }).where('login', '=', login).execute();
    },
  };
}

export function machineClientsOps({ db, dialect }: OpsContext): StoreOps['machineClients'] {
  return {
    async add(client, tokenHash): Promise<boolean> {
      try {
        await db
          .insertInto('machine_clients')
          .values({ id: client.id, name: client.name, role: client.role, id_number: null, token_hash: tokenHash, created_at: client.createdAt, revoked_at: null })
          .execute();
        return true;
      } catch (error) {
        if (isUniqueViolation(error, dialect)) return false;
        throw error;
      }
    },
    async byTokenHash(tokenHash: string): Promise<MachineClientRecord | undefined> {
      const row = await db.selectFrom('machine_clients').select(CLIENT_COLUMNS).where('token_hash', '=', tokenHash).executeTakeFirst();
      return row ? toClient(row) : undefined;
    },
    async list(page): Promise<{ clients: MachineClientRecord[]; total: number }> {
      const [rows, count] = await Promise.all([
        db.selectFrom('machine_clients').select(CLIENT_COLUMNS).orderBy('created_at').orderBy('id').limit(page.limit).offset(page.offset).execute(),
        db.selectFrom('machine_clients').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow(),
      ]);
      return { clients: rows.map(toClient), total: Number(count.n) };
    },
    async revoke(id: string, at: string): Promise<MachineClientRecord | undefined> {
      await db.updateTable('machine_clients').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).execute();
      const row = await db.selectFrom('machine_clients').select(CLIENT_COLUMNS).where('id', '=', id).executeTakeFirst();
      return row ? toClient(row) : undefined;
    },
  };
}

export function loginStatesOps({ db }: OpsContext): StoreOps['loginStates'] {
  return {
    async put(record: LoginStateRecord): Promise<void> {
      await db
        .insertInto('login_states')
        .values({ state_hash: record.stateHash, code_verifier: record.codeVerifier, nonce: record.nonce, return_to: record.returnTo, expires_at: record.expiresAt })
        .execute();
    },
    async take(stateHash: string): Promise<LoginStateRecord | undefined> {
      const row = await db.selectFrom('login_states').selectAll().where('state_hash', '=', stateHash).executeTakeFirst();
      if (!row) return undefined;
      // Whoever deletes the row uses the state: two callbacks racing with one state, one wins.
      const deleted = await db.deleteFrom('login_states').where('state_hash', '=', stateHash).executeTakeFirst();
      if (deleted.numDeletedRows === 0n) return undefined;
      return { stateHash: row.state_hash, codeVerifier: row.code_verifier, nonce: row.nonce, returnTo: row.return_to, expiresAt: Number(row.expires_at) };
    },
    async purge(before: number): Promise<number> {
      const deleted = await db.deleteFrom('login_states').where('expires_at', '<', before).executeTakeFirst();
      return Number(deleted.numDeletedRows);
    },
  };
}

export function sessionsOps({ db }: OpsContext): StoreOps['sessions'] {
  return {
    async add(record: SessionRecord): Promise<void> {
      await db
        .insertInto('sessions')
        .values({ id_hash: record.idHash, subject: record.subject, person: JSON.stringify(record.person), created_at: record.createdAt, idle_expires_at: record.idleExpiresAt, expires_at: record.expiresAt, hub_token: record.hubToken?.sealed ?? null, hub_token_expires_at: record.hubToken?.expiresAt ?? null })
        .execute();
    },
    async get(idHash: string): Promise<SessionRecord | undefined> {
      const row = await db.selectFrom('sessions').selectAll().where('id_hash', '=', idHash).executeTakeFirst();
      return row
        ? { idHash: row.id_hash, subject: row.subject, person: JSON.parse(row.person) as unknown, createdAt: row.created_at, idleExpiresAt: Number(row.idle_expires_at), expiresAt: Number(row.expires_at), ...(row.hub_token && row.hub_token_expires_at != null ? { hubToken: { sealed: row.hub_token, expiresAt: Number(row.hub_token_expires_at) } } : {}) }
        : undefined;
    },
    async touch(idHash: string, idleExpiresAt: number): Promise<void> {
      await db.updateTable('sessions').set({ idle_expires_at: idleExpiresAt }).where('id_hash', '=', idHash).execute();
    },
    async remove(idHash: string): Promise<boolean> {
      const deleted = await db.deleteFrom('sessions').where('id_hash', '=', idHash).executeTakeFirst();
      return deleted.numDeletedRows > 0n;
    },
    async removeBySubject(subject: string): Promise<number> {
      const deleted = await db.deleteFrom('sessions').where('subject', '=', subject).executeTakeFirst();
      return Number(deleted.numDeletedRows);
    },
    async purge(now: number): Promise<number> {
      const deleted = await db
        .deleteFrom('sessions')
        .where((eb) => eb.or([eb('expires_at', '<=', now), eb('idle_expires_at', '<=', now)]))
        .executeTakeFirst();
      return Number(deleted.numDeletedRows);
    },
  };
}
