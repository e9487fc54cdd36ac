import type { DirectorySource } from '../exchange/index.ts';
import { peerCall } from '../exchange/index.ts';
import type { Store } from '../store/index.ts';

/** How long the hub keeps its probes. */
export const PROBE_RETENTION_DAYS = 7;

/**
 * The hub's probe of every approved node's public /health: answered with 200 within the timeout
 * or not, and how long it took. Stored (health_probes) for the trust dashboard's availability and
 * latency; older probes are pruned.
 */
export async function probeNodes(ctx: { store: Store; directory: DirectorySource; clock: () => Date; timeoutMs?: number }): Promise<number> {
  const view = await ctx.directory.current();
  const nodes = view.snapshot.nodes.filter((n) => n.role === 'node');
  await Promise.all(
    nodes.map(async (node) => {
      const started = performance.now();
      const at = ctx.clock().getTime();
      let status: number | null = null;
      try {
        status = (await peerCall(new URL('/health', node.endpoint).toString(), { method: 'GET', timeoutMs: ctx.timeoutMs ?? 3000 })).status;
      } catch {
        status = null;
      }
      const ok = status === 200;
      await ctx.store.governance.addProbe({ division: node.division, at, ok, status, latencyMs: ok ? Math.round(performance.now() - started) : null });
    }),
  );
  await ctx.store.governance.pruneProbes(ctx.clock().getTime() - PROBE_RETENTION_DAYS * 86_400_000);
  return nodes.length;
}
