import { ensurePostgresDatabase } from './postgres.ts';

/**
 * Once per run, before any test file: the PostgreSQL test database exists (created if the
 * server answers without it), or the run stops at once with the cause in one sentence —
 * instead of every suite failing later with an unrelated-looking error.
 */
export default async function setup(): Promise<void> {
  const url = process.env.TONGBAN_TEST_DATABASE_URL;
  if (!url) return;
  const outcome = await ensurePostgresDatabase(url);
  if (outcome === 'created') console.log(`[postgres] created the test database ${new URL(url).pathname.slice(1)}`);
}
