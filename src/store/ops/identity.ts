import type { OidcPayloadRecord, PersonRecord, StoreOps } from '../store.ts';
import { isUniqueViolation, type OpsContext } from './context.ts';
import type { IdentityTables } from '../schema.ts';

type PersonRow = IdentityTables['people'];
type PayloadRow = IdentityTables['oidc_payloads'];

const personOf = (row: PersonRow): PersonRecord => ({
  id: row.id,
  login: row.login,
  kind: row.kind as PersonRecord['kind'],
  name: row.name,
  idNumber: row.id_number,
  node: row.node,
  roles: JSON.parse(row.roles) as string[],
  passwordHash: row.password_hash,
  disabled: Number(row.disabled) !== 0,
  createdAt: row.created_at,
});

export function peopleOps({ db, dialect }: OpsContext): StoreOps['people'] {
  return {
    async add(p: PersonRecord): Promise<boolean> {
      try {
        await db
          .insertInto('people')
          .values({
            id: p.id,
            login: p.login,
            kind: p.kind,
            name: p.name,
            id_number: p.idNumber,
            node: p.node,
            roles: JSON.stringify(p.roles),
            password_hash: p.passwordHash,
            disabled: p.disabled ? 1 : 0,
            created_at: p.createdAt,
          })
          .execute();
        return true;
      } catch (error) {
        if (isUniqueViolation(error, dialect)) return false;
        throw error;
      }
    },
    async get(id: string) {
      const row = await db.selectFrom('people').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? personOf(row) : undefined;
    },
    async byLogin(login: string) {
      const row = await db.selectFrom('people').selectAll().where('login', '=', login).executeTakeFirst();
      return row ? personOf(row) : undefined;
    },
    async setStaffDisabled(node: string, login: string, disabled: boolean) {
      // Scoped in the statement itself: a node reaches its own staff only, whatever the login says.
      const updated = await db
        .updateTable('people')
        .set({ disabled: disabled ? 1 : 0 })
        .where('login', '=', login)
        .where('kind', '=', 'staff')
        .where('node', '=', node)
        .executeTakeFirst();
      if (updated.numUpdatedRows === 0n) return undefined;
      const row = await db.selectFrom('people').selectAll().where('login', '=', login).executeTakeFirst();
      return row ? personOf(row) : undefined;
    },
    async staffOf(node, page) {
      const staff = db.selectFrom('people').where('kind', '=', 'staff').where('node', '=', node);
      const [rows, count] = await Promise.all([
        staff.selectAll().orderBy('login').limit(page.limit).offset(page.offset).execute(),
        staff.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow(),
      ]);
      return { people: rows.map(personOf), total: Number(count.n) };
    },
    async list(filter) {
      let query = db.selectFrom('people').selectAll().orderBy('login').limit(filter.limit ?? 200);
      if (filter.kind) query = query.where('kind', '=', filter.kind);
      if (filter.node) query = query.where('node', '=', filter.node);
      return (await query.execute()).map(personOf);
    },
  };
}

const payloadOf = (row: PayloadRow): OidcPayloadRecord => ({
  model: row.model,
  id: row.id,
  payload: JSON.parse(row.payload) as Record<string, unknown>,
  grantId: row.grant_id,
  userCode: row.user_code,
  uid: row.uid,
  expiresAt: row.expires_at === null ? null : Number(row.expires_at),
  consumedAt: row.consumed_at === null ? null : Number(row.consumed_at),
});

export function oidcPayloadsOps({ db }: OpsContext): StoreOps['oidcPayloads'] {
  return {
    async upsert(r: OidcPayloadRecord): Promise<void> {
      const values = {
        payload: JSON.stringify(r.payload),
        grant_id: r.grantId,
        user_code: r.userCode,
        uid: r.uid,
        expires_at: r.expiresAt,
        consumed_at: r.consumedAt,
      };
      await db
        .insertInto('oidc_payloads')
        .values({ model: r.model, id: r.id, ...values })
        .onConflict((oc) => oc.columns(['model', 'id']).doUpdateSet(values))
        .execute();
    },
    async find(model: string, id: string, now: number) {
      const row = await db
        .selectFrom('oidc_payloads')
        .selectAll()
        .where('model', '=', model)
        .where('id', '=', id)
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
        .executeTakeFirst();
      return row ? payloadOf(row) : undefined;
    },
    async findBy(model: string, field: 'uid' | 'userCode', value: string, now: number) {
      const row = await db
        .selectFrom('oidc_payloads')
        .selectAll()
        .where('model', '=', model)
        .where(field === 'uid' ? 'uid' : 'user_code', '=', value)
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
        .executeTakeFirst();
      return row ? payloadOf(row) : undefined;
    },
    async consume(model: string, id: string, at: number): Promise<void> {
      await db.updateTable('oidc_payloads').set({ consumed_at: at }).where('model', '=', model).where('id', '=', id).execute();
    },
    async destroy(model: string, id: string): Promise<void> {
      await db.deleteFrom('oidc_payloads').where('model', '=', model).where('id', '=', id).execute();
    },
    async revokeByGrantId(grantId: string): Promise<void> {
      await db.deleteFrom('oidc_payloads').where('grant_id', '=', grantId).execute();
    },
    async purgeExpired(now: number): Promise<number> {
      const deleted = await db.deleteFrom('oidc_payloads').where('expires_at', 'is not', null).where('expires_at', '<=', now).executeTakeFirst();
      return Number(deleted.numDeletedRows);
    },
  };
}
