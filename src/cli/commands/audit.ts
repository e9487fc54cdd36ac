import type { Command } from 'commander';
import { auditPages, checkpointPages, verifyChain, type Checkpoint } from '../../audit/index.ts';
import { loadConfig, type NodeConfig } from '../../config/index.ts';
import { PublicJwk, verifyJws } from '../../crypto/index.ts';
import { loadSigningKey } from '../../node/index.ts';
import { openStore, type Store, type StoredCheckpoint } from '../../store/index.ts';
import { EXIT, printJson, printRecord } from '../output.ts';
import { locateNode } from './locate.ts';

export function auditCommand(program: Command): void {
  program
    .command('audit')
    .description("the node's tamper-evident audit log")
    .command('verify')
    .description('re-walk the hash chain against the checkpoints the hub witnessed; report the first entry that does not match')
    .option('--node <code>', 'division code of a node in the federation folder ("hub" for the hub)')
    .option('--config <path>', 'a node config instead of --node')
    .option('--federation <dir>', 'federation folder', 'var/demo')
    .option('--json', 'print the verdict as JSON')
    .action(async (options: { node?: string; config?: string; federation: string; json?: boolean }) => {
      const config = options.config ? loadConfig(options.config, {}) : locateNode(options.federation, options.node ?? '522732');
      const store = await openStore({ url: config.database.url, mustExist: true });
      try {
        const { checkpoints, source } = await witnessedCheckpoints(config, store);
        const verdict = await verifyChain(auditPages(store), checkpoints);
        if (options.json) printJson({ node: config.node.division, name: config.node.name, checkpointSource: source, ...verdict });
        else
          printRecord([
            ['node', `${config.node.division} ${config.node.name}`],
            ['chain', verdict.ok ? 'intact' : `broken at entry ${verdict.seq} (${verdict.reason})`],
            ['entries', String(verdict.entries)],
            ['checkpoints', verdict.ok ? `${verdict.checkpoints} from ${source}` : `from ${source}`],
            ...(verdict.ok && verdict.head ? [['head', `entry ${verdict.head.seq}, hash ${verdict.head.hash}`] as const] : []),
          ]);
        if (!verdict.ok) process.stderr.write(`tongban: audit chain of ${config.node.division} broken at entry ${verdict.seq}: ${verdict.message}\n`);
        process.exitCode = verdict.ok ? EXIT.ok : EXIT.refused;
      } finally {
        await store.close();
      }
    });
}

/**
 * The checkpoints the hub holds for this node, each checked against the node's own keys — the
 * one it signs with and those it signed with before a rotation (the hub witnesses, it cannot
 * invent). The hub verifies against its own store.
 */
async function witnessedCheckpoints(config: NodeConfig, store: Store): Promise<{ checkpoints: Checkpoint[]; source: string }> {
  const key = loadSigningKey(config);
  const ownKeys = new Map<string, PublicJwk>([[key.kid, key.publicJwk]]);
  for (const record of await store.keys.list()) {
    const jwk = PublicJwk.safeParse(record.publicJwk);
    if ((record.status === 'active' || record.status === 'retired') && jwk.success) ownKeys.set(record.kid, jwk.data);
  }
  const division = config.node.division;
  const checkpoints: Checkpoint[] = [];
  // Only {seq, hash} of each verified checkpoint is kept: the signed pages pass through.
  const keep = async (page: readonly Pick<StoredCheckpoint, 'seq' | 'hash' | 'jws'>[]) => {
    for (const cp of page) {
      const verified = await verifyJws(cp.jws, (kid) => ownKeys.get(kid) ?? null);
      if (!verified.ok) continue;
      const claim = JSON.parse(new TextDecoder().decode(verified.payload)) as { seq: number; hash: string; division: string };
      if (claim.division === division && claim.seq === cp.seq && claim.hash === cp.hash) checkpoints.push({ seq: claim.seq, hash: claim.hash });
    }
  };
  const local = async () => {
    for await (const page of checkpointPages(store, division)) await keep(page);
  };
  if (config.node.role === 'hub' || !config.hub) {
    await local();
    return { checkpoints, source: 'local' };
  }
  try {
    // The hub serves them a page at a time; follow `next` to the end.
    for (let after: number | null = 0; after !== null; ) {
      const url = new URL(`/v1/audit/checkpoints/${division}`, config.hub.url);
      url.searchParams.set('after', String(after));
      url.searchParams.set('limit', '1000');
      const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
      if (!response.ok) throw new Error(String(response.status));
      const page = (await response.json()) as { checkpoints: StoredCheckpoint[]; next: number | null };
      await keep(page.checkpoints);
      after = page.next ?? null;
    }
    return { checkpoints, source: `hub ${config.hub.url}` };
  } catch {
    process.stderr.write('tongban: the hub cannot be reached; verifying against the checkpoints kept locally only\n');
    checkpoints.length = 0;
    await local();
    return { checkpoints, source: 'local (hub unreachable)' };
  }
}
