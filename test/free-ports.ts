// Tests take their ports from the same helper as the benchmarks (below Linux's ephemeral range).
export { freePortRun } from '../src/federation/index.ts';
