import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { Catalog, makeLocalItem, type Item } from '../../catalog/index.ts';
import { TongbanError } from '../../errors/index.ts';
import { getDataElement } from '../../standards/index.ts';
import { openNode } from '../../node/index.ts';
import { EXIT, printJson, printLines, printRecord, printTable } from '../output.ts';

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
      printTable(
        ['code', 'modes', 'committed', 'statutory', 'confirmed', 'name', 'ministry'],
        items.map((i) => [i.code, i.modes.join('/'), committedText(i), statutoryText(i), i.confirmed, i.name, i.ministry]),
        'No item matches.',
      );
      if (items.length > 0) printLines(['', `${items.length} items. Limits in working days (wd) or calendar days (d); "immediate" is decided on the spot.`]);
    });

  catalog
    .command('show')
    .description('show one item')
    .argument('<code>', 'item code, e.g. N029')
    .option('--config <path>', "look in this node's local items too")
    .option('--json', 'print JSON')
    .action(async (code: string, options: CatalogOptions) => {
      const item = (await loadCatalog(options)).get(code.trim().toUpperCase());
      if (!item) {
        process.stderr.write(`tongban: there is no item ${code} in the catalogue.\n`);
        process.exitCode = EXIT.refused;
        return;
      }
      if (options.json) return printJson(item);
      printRecord([
        ['code', item.code],
        ['name', item.name],
        ['ministry', item.ministry],
        ['scope', item.scope + (item.ownerDivision ? ` (added by ${item.ownerDivision})` : '')],
        ['audience', item.audience],
        ['modes', item.modes.join(', ') + (item.modeFixed ? ' (fixed by the national list)' : '')],
        ['time limit', item.timeLimit.kind === 'immediate' ? 'immediate (decided on the spot)' : `committed ${committedText(item)}, statutory ${statutoryText(item)}`],
        ['deadline', item.deadline ?? undefined],
        ['data', item.dataElements.map((id) => `${getDataElement(id)?.zh ?? id} (${id})`).join(', ')],
        ['confirmed', item.confirmed],
        ['source', item.source],
      ]);
      if (item.materials.length > 0) {
        printLines(['', 'Materials:']);
        printTable(['material', 'kind', 'required'], item.materials.map((m) => [m.name, m.kind, m.required ? 'yes' : 'no']));
      }
    });

  catalog
    .command('add')
    .description("add a local item to this node's catalogue (idempotent: adding the same item again changes nothing)")
    .requiredOption('--config <path>', 'the node config')
    .requiredOption('--file <path>', 'JSON with localNumber, name, ministry, audience, modes, dataElements, timeLimit[, materials, source] (docs/catalog.md)')
    .option('--json', 'print {code, added} as JSON')
    .action(async (options: { config: string; file: string; json?: boolean }) => {
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
        if (options.json) printJson({ code: item.code, added: !replayed });
        else printLines([replayed ? `${item.code} is already in the catalogue of ${node.config.node.division}; nothing changed.` : `Added ${item.code} ${item.name} to the catalogue of ${node.config.node.division}.`]);
      } finally {
        await node.close();
      }
    });
}

const days = (n: number | null, item: Item) => (n === null ? '-' : `${n} ${item.timeLimit.unit === 'working' ? 'wd' : 'd'}`);
const committedText = (item: Item) => (item.timeLimit.kind === 'immediate' ? 'immediate' : days(item.timeLimit.committedDays, item));
const statutoryText = (item: Item) => days(item.timeLimit.statutoryDays, item);
