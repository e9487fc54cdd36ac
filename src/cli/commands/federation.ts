import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { sampleSubjects } from '../../demo/registries.ts';
import { TongbanError } from '../../errors/index.ts';
import { demoFederation, startFederation, type FederationConfigInput, type RunningFederation } from '../../federation/index.ts';
import { printJson, printLines } from '../output.ts';
import { parsePort } from './init.ts';

async function runUntilStopped(config: FederationConfigInput, baseDir: string): Promise<void> {
  const started = Date.now();
  process.stdout.write('tongban: starting the federation…\n');
  const federation = await startFederation(config, { baseDir, mode: 'process', log: (m) => process.stderr.write(m + '\n') });
  printSummary(federation, Date.now() - started);
  const stop = async () => {
    process.stdout.write('tongban: stopping the federation…\n');
    await federation.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

function printSummary(f: RunningFederation, ms: number): void {
  const lines = [`Federation up in ${(ms / 1000).toFixed(1)} s (files in ${f.dir}):`, `  hub     ${f.config.hub.division}  ${f.hub.endpoint}`];
  for (const [division, node] of f.nodes) lines.push(`  node    ${division}  ${node.endpoint}`);
  lines.push(`Agreements: ${f.config.agreements.map((a) => `${a.id} (${a.topology})`).join(', ')}`);
  const first = [...f.nodes.keys()][0];
  if (first) {
    const sample = sampleSubjects(f.registryPath(first), 1).people[0];
    lines.push('Try:', `  npx tongban registry sample --node ${first} --federation ${f.dir}`);
    if (sample && f.nodes.has('330523') && first === '522732') {
      lines.push(
        `  npx tongban exchange request --federation ${f.dir} --from 330523 --to 522732 --service household.residence-proof --subject ${sample.idNumber} --purpose 户籍类证明开具`,
        `  npx tongban exchange request --federation ${f.dir} --from 310118 --to 522732 --service household.residence-proof --subject ${sample.idNumber} --purpose 户籍类证明开具 --via hub`,
      );
    }
  }
  lines.push('Press Ctrl+C to stop.');
  printLines(lines);
}

export function federationCommand(program: Command): void {
  const federation = program.command('federation').description('run a hub and several nodes, each its own server and database');

  federation
    .command('up')
    .description('create what is missing and start every server of a federation file')
    .argument('<config>', 'federation JSON (see "tongban federation config")')
    .option('--port-base <port>', 'hub on this port, nodes on the following ones', parsePort)
    .action(async (path: string, options: { portBase?: number }) => {
      let input: FederationConfigInput;
      try {
        input = JSON.parse(readFileSync(path, 'utf8')) as FederationConfigInput;
      } catch {
        throw new TongbanError('CONFIG_INVALID', `${path} cannot be read as JSON.`);
      }
      await runUntilStopped({ ...input, ...(options.portBase !== undefined ? { portBase: options.portBase } : {}) }, dirname(resolve(path)));
    });

  federation
    .command('config')
    .description('print the demo federation file, to copy and edit')
    .action(() => printJson(demoFederation()));

  program
    .command('demo')
    .description('run the demo federation (what `npm start` runs): the national hub, 三都, 安吉, 常州 and 青浦 on embedded SQLite')
    .option('--dir <path>', 'where the demo keeps its files', 'var/demo')
    .option('--port-base <port>', 'hub on this port, nodes on the following ones', parsePort, 7700)
    .option('--database <url>', 'run every server on this PostgreSQL, each in its own schema')
    .action(async (options: { dir: string; portBase: number; database?: string }) => {
      await runUntilStopped(demoFederation({ dir: options.dir, portBase: options.portBase, ...(options.database ? { databaseUrl: options.database } : {}) }), process.cwd());
    });
}
