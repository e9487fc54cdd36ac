import type { Command } from 'commander';
import { instantiateTemplate, resolveTemplate, templateLibrary } from '../../agreements/index.ts';
import { printJson, printLines, printRecord, printTable } from '../output.ts';
import { collectContact, contactOption, describeDuties, describeLevels, node, operatorCall, printNegotiation, templateParams, type NodeOptions } from './negotiation.ts';

/** `tongban template list|show|instantiate`: the library of agreement templates (docs/agreements.md). */
export function templateCommand(program: Command): void {
  const template = program.command('template').description('agreement templates: list, show, instantiate for new partners');

  template
    .command('list')
    .description('the templates shipped with Tongban')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) => {
      const rows = templateLibrary.map((t) => ({ id: t.id, extends: t.extends ?? null, title: t.title, items: resolveTemplate(t.id, templateLibrary).items.map((i) => i.itemCode) }));
      if (o.json) printJson(rows);
      else printTable(['template', 'extends', 'items', 'title'], rows.map((r) => [r.id, r.extends ?? '', r.items.join(','), r.title]));
    });

  template
    .command('show <id>')
    .description('one template with what it inherits folded in')
    .option('--json', 'print JSON')
    .action((id: string, o: { json?: boolean }) => {
      const t = resolveTemplate(id, templateLibrary);
      if (o.json) return printJson(t);
      printRecord([
        ['template', `${t.id} v${t.version}`],
        ['extends', templateLibrary.find((x) => x.id === id)?.extends],
        ['title', t.title],
        ['topology', t.topology ?? 'bridge for two parties, hub for more'],
        ['security duties', describeDuties(t.securityDuties, 'contacts: one per party, given at instantiation with --contact')],
        ['service levels', describeLevels(t.serviceLevels)],
      ]);
      printLines(['', t.description, '']);
      printTable(
        ['item', 'mode', 'provider', 'service', 'requesters'],
        t.items.flatMap((i) => i.grants.map((g) => [i.itemCode, i.mode ?? '', g.provider, g.service, g.requesters.join(',')])),
      );
    });

  node(template.command('instantiate <id>').description('draft an agreement from the template for --partners at --node, which convenes (one step); --dry-run prints the terms only'))
    .requiredOption('--partners <codes>', 'the other parties, comma-separated')
    .option('--items <codes>', 'a subset of the template’s items, comma-separated')
    .option('--id <agreementId>', 'the agreement id')
    .option('--valid-from <iso>', 'start of validity (default now)')
    .option('--valid-until <iso>', 'end of validity (default in two years)')
    .option(contactOption[0], contactOption[1], collectContact)
    .option('--dry-run', 'print the terms without drafting')
    .action(async (id: string, o: NodeOptions & { partners: string; items?: string; id?: string; validFrom?: string; validUntil?: string; contact?: Array<{ party: string; name: string; phone?: string }>; dryRun?: boolean }) => {
      const params = templateParams(o);
      if (o.dryRun) return printJson(instantiateTemplate(id, params, templateLibrary));
      const n = (await operatorCall(o, 'POST', '/v1/operator/agreements/drafts', { template: id, params })) as Parameters<typeof printNegotiation>[0];
      if (o.json) printJson(n);
      else printNegotiation(n);
    });
}
