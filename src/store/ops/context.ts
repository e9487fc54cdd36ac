import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import type { Dialect } from '../store.ts';

/** What every repository gets: the connection or transaction, the clock, the dialect. */
export interface OpsContext {
  readonly db: Kysely<Database>;
  readonly clock: () => Date;
  readonly dialect: Dialect;
}

export function isUniqueViolation(error: unknown, dialect: Dialect): boolean {
  if (typeof error !== 'object' || error === null || !('code' in error)) return false;
  const code = (error as { code: unknown }).code;
  return dialect === 'postgres' ? code === '23505' : code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}
