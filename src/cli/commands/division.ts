import type { Command } from 'commander';
import { TongbanError } from '../../errors/index.ts';
import { divisions, type Division } from '../../standards/index.ts';
import { EXIT, printJson, printLines, printTable } from '../output.ts';

export function divisionCommand(program: Command): void {
  program
    .command('division')
    .description('look up a GB/T 2260 division by code or name and show its parents; exit 1 when nothing matches')
    .argument('[query]', 'a six-digit code or (part of) a name')
    .option('--source', 'print the data source and date of the division table')
    .option('--json', 'print JSON')
    .action((query: string | undefined, options: { source?: boolean; json?: boolean }) => {
      if (options.source) {
        const info = { standard: 'GB/T 2260', version: divisions.version, entries: divisions.size, sources: divisions.sources };
        if (options.json) printJson(info);
        else
          printLines([
            `GB/T 2260 division table, version ${info.version}, ${info.entries} entries`,
            ...info.sources.map((s) => `  ${s.name}${s.version ? '@' + s.version : ''}: ${s.data}`),
          ]);
        return;
      }
      if (!query || query.trim() === '') {
        throw new TongbanError('BAD_REQUEST', 'Give a division code or name, or --source.');
      }
      const q = query.trim();
      const matches = /^\d{6}$/.test(q) ? [divisions.get(q)].filter((d): d is Division => d !== undefined) : divisions.search(q);
      if (matches.length === 0) {
        if (options.json) printJson({ query: q, results: [] });
        else process.stderr.write(`tongban: no division matches "${q}" in table version ${divisions.version}.\n`);
        process.exitCode = EXIT.refused;
        return;
      }
      const results = matches.map((d) => ({ ...d, fullName: divisions.fullName(d.code), chain: divisions.chain(d.code) }));
      if (options.json) {
        printJson({ query: q, results });
        return;
      }
      printTable(
        ['code', 'name', 'level', 'within', 'notes'],
        results.map((r) => {
          const parents = r.chain.slice(1).map((p) => `${p.code} ${p.name}`).join(' < ');
          const notes = [r.retired ? `retired ${r.retired}${r.successor ? ' → ' + r.successor : ''}` : '', r.statistical ? 'statistical area' : '']
            .filter(Boolean)
            .join(', ');
          return [r.code, r.name, r.level, parents || '-', notes];
        }),
      );
    });
}
