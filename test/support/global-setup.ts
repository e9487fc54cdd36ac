import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { ensurePostgresDatabase } from './postgres.ts';

/**
 * The CLI tests and the federations they start run bin/tongban.js, which runs the compiled
 * dist/. Building here (tsc -b and the console: well under a second each when nothing changed) means every vitest
 * run, `npm test` or a single file, tests the sources as checked out, never a stale build.
 */
function build(): void {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-b', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  // The web console the nodes serve (dist/console): rebuilt only when console/ changed.
  execFileSync(process.execPath, ['--import', 'tsx', 'scripts/build-console.ts'], { cwd: root, stdio: 'inherit' });
}

/**
 * Once per run, before any test file: the PostgreSQL test database exists (created if the
 * server answers without it), or the run stops at once with the cause in one sentence —
 * instead of every suite failing later with an unrelated-looking error.
 */
export default async function setup(): Promise<void> {
  build();
  const url = process.env.TONGBAN_TEST_DATABASE_URL;
  if (!url) return;
  const outcome = await ensurePostgresDatabase(url);
  if (outcome === 'created') console.log(`[postgres] created the test database ${new URL(url).pathname.slice(1)}`);
}
