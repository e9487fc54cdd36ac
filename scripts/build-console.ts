/**
 * Builds the web console (console/ → dist/console/ with vite) unless the build there was made
 * from the same sources: a hash of console/'s files and package-lock.json is kept beside it in
 * dist/.console-build. `npm run build`, `prepare`, `prestart` and the test set-up run this, so the
 * console served is always the one checked out, and an unchanged one costs no rebuild.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// Always a production build, whoever runs this: under the test set-up NODE_ENV is "test", and a
// build made then would carry React's and Ant Design's development warnings into the browser.
process.env.NODE_ENV = 'production';
/** Part of the stamp: a change to how the console is built rebuilds it too. */
const RECIPE = 'production-1';
const STAMP = join(root, 'dist', '.console-build');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory() ? files(join(dir, entry.name)) : [join(dir, entry.name)]))
    .sort();
}

function sourcesHash(): string {
  const hash = createHash('sha256').update(RECIPE).update('\0');
  for (const file of [...files(join(root, 'console')), join(root, 'package-lock.json')]) hash.update(`${relative(root, file)}\0`).update(readFileSync(file)).update('\0');
  return hash.digest('hex');
}

const hash = sourcesHash();
const built = existsSync(join(root, 'dist', 'console', 'index.html')) && existsSync(STAMP) && readFileSync(STAMP, 'utf8') === hash;
if (built && !process.argv.includes('--force')) {
  console.log('console: dist/console is up to date');
} else {
  const started = Date.now();
  const { build } = await import('vite');
  await build({ configFile: join(root, 'console', 'vite.config.ts'), mode: 'production' });
  writeFileSync(STAMP, hash);
  console.log(`console: built dist/console in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
