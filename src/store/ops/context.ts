import { CompiledQuery, type Kysely } from 'kysely';
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

const pgTexts = new Map<string, string>();

/**
 * Runs SQL written once by hand, skipping Kysely's builder and compiler (a measurable share of
 * each hot-path query, docs/benchmarks.md). `text` uses `?` placeholders and no literal `?`;
 * PostgreSQL gets `$1…$n`. On SQLite the driver's statement cache prepares each text once.
 */
export async function runPrepared<R>(ctx: OpsContext, text: string, parameters: readonly unknown[]): Promise<R[]> {
  let sqlText = text;
  if (ctx.dialect === 'postgres') {
    sqlText = pgTexts.get(text) ?? '';
    if (!sqlText) {
      let n = 0;
      sqlText = text.replace(/\?/g, () => `$${++n}`);
      if (pgTexts.size < 1000) pgTexts.set(text, sqlText);
    }
  }
  const result = await ctx.db.executeQuery<R>(CompiledQuery.raw(sqlText, [...parameters]));
  return result.rows as R[];
}
