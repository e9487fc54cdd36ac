import type { NodeConfig } from '../config/index.ts';

/**
 * Settings that are fine on a laptop and unsafe in production, each as one sentence. Pure: the
 * caller prints them (listenNode, as one block on the node's log at every start).
 */
export function productionWarnings(config: NodeConfig, endpoint: string): string[] {
  const warnings: string[] = [];
  const plain = (url: string) => url.startsWith('http://');
  if (plain(endpoint)) warnings.push(`Peers reach this node over plain HTTP (${endpoint}): set server.publicUrl to an https:// address behind TLS.`);
  if (config.hub && plain(config.hub.url)) warnings.push(`The hub is reached over plain HTTP (${config.hub.url}): use its https:// address.`);
  if (config.demo) {
    warnings.push('This node was created by the demo federation: its signing and encryption keys, tokens and registries are development material, not for real data.');
    if (config.node.role === 'hub') warnings.push('DEMO PASSWORDS: the people the demo enrolled at this hub sign in with one published password; never enrol real people here.');
  }
  if (!config.server.rateLimit.enabled) warnings.push('Rate limiting of unauthenticated routes is disabled (server.rateLimit.enabled: false).');
  if (config.metrics.public) warnings.push('GET /metrics answers anyone (metrics.public: true): exchange counts per partner and case counts are visible to whoever reaches this port.');
  return warnings;
}

/** The warnings as one block, easy to spot among other start-up lines. */
export function warningBlock(warnings: readonly string[]): string {
  const rule = '!'.repeat(72);
  return [rule, 'WARNING: settings unsafe for production:', ...warnings.map((w) => `  - ${w}`), rule].join('\n');
}
