// V8's old generation of a Tongban process grows to 1.5× what the last full collection left
// (V8 picks up to 4× by default). A node's live heap is 35-50 MB; under steady exchange load its
// old generation otherwise filled with dead objects to about 125 MB before each full collection,
// and the requester's RSS reached 200-250 MB. With this setting it stays near 160 MB at the same
// throughput (docs/benchmarks.md, "Heap growth"). The flag is read at every full collection, so
// setting it once the process runs takes effect; `node --heap-growing-percent=N bin/tongban.js …`
// keeps the operator's own value, and the servers a federation starts get it too
// (src/federation/servers.ts). NODE_OPTIONS cannot carry this flag.
import v8 from 'node:v8';

export const HEAP_GROWING_PERCENT = 50;

/** Applies the growth limit unless the command line already set one; says whether it did. */
export function limitHeapGrowth(execArgv = process.execArgv) {
  if (execArgv.some((arg) => /^--heap[-_]growing[-_]percent/.test(arg))) return false;
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return true;
}
