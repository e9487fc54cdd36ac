import { Item as ItemSchema, type Item } from '../../catalog/index.ts';
import { TongbanError } from '../../errors/index.ts';
import type { NodeKeyRecord, StoreOps } from '../store.ts';
import { isUniqueViolation, type OpsContext } from './context.ts';

export function settingsOps({ db, clock }: OpsContext): StoreOps['settings'] {
  return {
    async get<T>(key: string): Promise<T | undefined> {
      const row = await db.selectFrom('node_settings').select('value').where('key', '=', key).executeTakeFirst();
      return row ? (JSON.parse(row.value) as T) : undefined;
    },
    async put(key: string, value: unknown): Promise<void> {
      const now = clock().toISOString();
      await db
        .insertInto('node_settings')
        .values({ key, value: JSON.stringify(value), updated_at: now })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value: JSON.stringify(value), updated_at: now }))
        .execute();
    },
    async all(): Promise<Record<string, unknown>> {
      const rows = await db.selectFrom('node_settings').select(['key', 'value']).orderBy('key').execute();
      return Object.fromEntries(rows.map((r) => [r.key, JSON.parse(r.value) as unknown]));
    },
  };
}

export function keysOps({ db }: OpsContext): StoreOps['keys'] {
  return {
    async add(record: NodeKeyRecord): Promise<void> {
      await db
        .insertInto('node_keys')
        .values({
          kid: record.kid,
          alg: record.alg,
          public_jwk: JSON.stringify(record.publicJwk),
          status: record.status,
          created_at: record.createdAt,
        })
        .execute();
    },
    async list(): Promise<NodeKeyRecord[]> {
      const rows = await db.selectFrom('node_keys').selectAll().orderBy('created_at').orderBy('kid').execute();
      return rows.map((r) => ({
        kid: r.kid,
        alg: r.alg,
        publicJwk: JSON.parse(r.public_jwk) as Record<string, string>,
        status: r.status as NodeKeyRecord['status'],
        createdAt: r.created_at,
      }));
    },
    async setStatus(kid: string, status: NodeKeyRecord['status']): Promise<boolean> {
      const result = await db.updateTable('node_keys').set({ status }).where('kid', '=', kid).executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
  };
}

export function catalogItemsOps({ db, clock, dialect }: OpsContext): StoreOps['catalogItems'] {
  return {
    async add(item: Item): Promise<void> {
      try {
        await db
          .insertInto('catalog_items')
          .values({
            code: item.code,
            owner_division: item.ownerDivision ?? '',
            body: JSON.stringify(item),
            version: item.version,
            created_at: clock().toISOString(),
          })
          .execute();
      } catch (error) {
        if (isUniqueViolation(error, dialect)) {
          throw new TongbanError('ITEM_CODE_TAKEN', `The item code ${item.code} is already in the catalogue.`);
        }
        throw error;
      }
    },
    async list(): Promise<Item[]> {
      const rows = await db.selectFrom('catalog_items').select('body').orderBy('code').execute();
      // Stored rows are validated again on the way out: the database is a boundary too.
      return rows.map((r) => ItemSchema.parse(JSON.parse(r.body)));
    },
  };
}
