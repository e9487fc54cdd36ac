import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { Catalog, makeLocalItem, type Item } from '../../catalog/index.ts';
import { TongbanError } from '../../errors/index.ts';
import { openNode } from '../../node/index.ts';
import { EXIT, printJson, printLines } from '../output.ts';

interface CatalogOptions {
  config?: string;
  json?: boolean;
}

/** The national list alone, or with the local items of the node named by --config. */
async function loadCatalog(options: CatalogOptions): Promise<Catalog> {
  if (!options.config) return new Catalog();
  const node = await openNode(options.config);
  try {
    return await node.catalog();
  } finally {
    await node.close();
  }
}

export function catalogCommand(program: Command): void {
  const catalog = program.command('catalog').description('the item catalogue: national list and local items');

  catalog
    .command('list')
    .description('list items')
    .option('--config <path>', "include this node's local items")
    .option('--scope <scope>', 'national or local')
    .option('--audience <audience>', 'individual or enterprise')
    .option('--mode <mode>', 'online, proxy or joint')
    .option('--json', 'print JSON')
    .action(async (options: CatalogOptions & { scope?: string; audience?: string; mode?: string }) => {
      const items = (await loadCatalog(options)).list({
        ...(options.scope ? { scope: options.scope as Item['scope'] } : {}),
        ...(options.audience ? { audience: options.audience as Item['audience'] } : {}),
        ...(options.mode ? { mode: options.mode as Item['modes'][number] } : {}),
      });
      if (options.json) return printJson(items);
      printLines(
        items.map(
          (i) =>
            `${i.code.padEnd(12)} ${i.modes.join('/').padEnd(13)} ${limitText(i).padEnd(10)} ${i.confirmed.padEnd(7)} ${i.name}（${i.ministry}）`,
        ),
      );
    });

  catalog
    .command('show')
    .description('show one item')
    .argument('<code>', 'item code, e.g. N029')
    .option('--config <path>', "look in this node's local items too")
    .action(async (code: string, options: CatalogOptions) => {
      const item = (await loadCatalog(options)).get(code.trim().toUpperCase());
      if (!item) {
        process.stderr.write(`tongban: there is no item ${code} in the catalogue.\n`);
        process.exitCode = EXIT.negative;
        return;
      }
      printJson(item);
    });

  catalog
    .command('add')
    .description("add a local item to this node's catalogue (idempotent: adding the same item again changes nothing)")
    .requiredOption('--config <path>', 'the node config')
    .requiredOption('--file <path>', 'JSON with localNumber, name, ministry, audience, modes, dataElements, timeLimit')
    .action(async (options: { config: string; file: string }) => {
      let input: unknown;
      try {
        input = JSON.parse(readFileSync(options.file, 'utf8'));
      } catch {
        throw new TongbanError('BAD_REQUEST', `${options.file} cannot be read as JSON.`);
      }
      const node = await openNode(options.config);
      try {
        const item = makeLocalItem(node.config.node.division, input);
        const hash = createHash('sha256').update(JSON.stringify(item)).digest('hex');
        const { replayed } = await node.store.idempotent('catalog.add', item.code, hash, async (tx) => {
          await tx.catalogItems.add(item);
          return item.code;
        });
        printJson({ code: item.code, added: !replayed });
      } finally {
        await node.close();
      }
    });
}

function limitText(item: Item): string {
  const t = item.timeLimit;
  if (t.kind === 'immediate') return 'immediate';
  return `${t.committedDays}${t.unit === 'working' ? 'wd' : 'd'}/${t.statutoryDays ?? '-'}`;
}
