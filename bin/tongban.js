#!/usr/bin/env node
// Runs the compiled CLI (dist/, built by `npm run build`; `npm ci`, `npm start` and `npm test`
// build it first). It never falls back to the TypeScript sources: a stale or missing build would
// otherwise run code other than what is checked out without anyone noticing.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error('tongban: dist/cli/main.js is missing; run `npm run build` first (or `npm run tongban -- …` to run the sources).');
  process.exit(1);
}
await import(main.href);
