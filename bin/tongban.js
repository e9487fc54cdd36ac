#!/usr/bin/env node
// Runs the compiled CLI (dist/, built by `npm run build`; `npm ci`, `npm start` and `npm test`
// build it first). It never falls back to the TypeScript sources: a stale or missing build would
// otherwise run code other than what is checked out without anyone noticing.
import { existsSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath } from 'node:url';
import { limitHeapGrowth } from './heap.js';

limitHeapGrowth();

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error('tongban: dist/cli/main.js is missing; run `npm run build` first (or `npm run tongban -- …` to run the sources).');
  process.exit(1);
}
// Node 22.1+ (so Node 24) keeps V8's compiled code of these modules on disk: each server process
// of a federation then starts without compiling them again. Node 20 has no such cache.
module.enableCompileCache?.();
await import(main.href);
