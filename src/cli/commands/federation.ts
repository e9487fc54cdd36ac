import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { sampleSubjects } from '../../demo/registries.ts';
import { TongbanError } from '../../errors/index.ts';
import { demoFederation, resetFederation, startFederation, stopChildProcesses, type FederationConfigInput, type RunningFederation } from '../../federation/index.ts';
import { EXIT, parsePort, printJson, printLines } from '../output.ts';

interface RunOptions {
  readonly baseDir: string;
  /** How to get past a stored set-up that conflicts with the options (named in the refusal). */
  readonly conflictHint: string;
}

/**
 * Starts a federation and keeps it running until SIGINT or SIGTERM, which stop every server
 * (also during start-up). Any server that fails to start fails the whole command.
 */
async function runUntilStopped(config: FederationConfigInput, options: RunOptions): Promise<void> {
  const started = Date.now();
  let federation: RunningFederation | undefined;
  let stopping = false;
  const stop = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`tongban: ${reason}, stopping the federation…\n`);
    await (federation ? federation.stop() : stopChildProcesses());
    // Stopped as asked once up: 0. Interrupted while starting: the federation never came up.
    process.exit(federation ? EXIT.ok : EXIT.usage);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGHUP', () => void stop('SIGHUP'));
  // Run through `npm start`, a SIGTERM may end the shell between npm and this process without
  // reaching it: when the parent is gone, stop as on a signal rather than run on as an orphan.
  const parent = process.ppid;
  setInterval(() => {
    try {
      process.kill(parent, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') void stop('the parent process exited');
    }
  }, 500).unref();
  process.stdout.write('tongban: starting the federation…\n');
  try {
    federation = await startFederation(config, { baseDir: options.baseDir, mode: 'process', log: (m) => process.stderr.write(m + '\n'), conflictHint: options.conflictHint });
  } catch (error) {
    await stopChildProcesses();
    if (stopping) return;
    throw error;
  }
  if (stopping) {
    await federation.stop();
    return;
  }
  printSummary(federation, Date.now() - started);
}

function printSummary(f: RunningFederation, ms: number): void {
  const lines = [`Federation up in ${(ms / 1000).toFixed(1)} s (files in ${f.dir}):`, `  hub     ${f.config.hub.division}  ${f.hub.endpoint}  pid ${f.hub.pid}`];
  for (const [division, node] of f.nodes) lines.push(`  node    ${division}  ${node.endpoint}  pid ${node.pid}`);
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
  if (f.people.length > 0 && f.config.demoPeople) {
    const staff = f.people.filter((p) => p.kind === 'staff');
    lines.push(
      `Sign in — DEMO PASSWORD for everyone: ${f.config.demoPeople.password}`,
      '  !! Published demo password: for trying Tongban out, never for real people or data. !!',
      `  in a browser:    ${[...f.nodes.values()][0]?.endpoint ?? f.hub.endpoint}/console/ (the web console, at every node; sign in there with the hub's form)`,
      `  at the terminal: npx tongban login --federation ${f.dir}   (then npx tongban whoami --node <division> --federation ${f.dir})`,
      ...f.people.filter((p) => p.kind === 'citizen').map((p) => `  citizen  ${p.login}  ${p.name}`),
      ...[...f.nodes.keys()].map((division) => `  staff    ${staff.filter((p) => p.node === division).map((p) => p.login).join('  ')}`),
    );
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
      const baseDir = dirname(resolve(path));
      await runUntilStopped(
        { ...input, ...(options.portBase !== undefined ? { portBase: options.portBase } : {}) },
        { baseDir, conflictHint: `Start it with its stored settings, change "dir" in ${path} to another folder, or start afresh with "tongban federation reset --federation ${resolve(baseDir, input.dir ?? 'var/federation')}" (deletes it).` },
      );
    });

  federation
    .command('config')
    .description('print the demo federation file, to copy and edit')
    .action(() => printJson(demoFederation()));

  federation
    .command('reset')
    .description("delete a federation's folder and the PostgreSQL schemas its servers used (stop it first)")
    .option('--federation <dir>', 'the federation folder', 'var/demo')
    .action(async (options: { federation: string }) => {
      await resetFederation(options.federation);
      process.stdout.write(`tongban: deleted ${resolve(options.federation)}\n`);
    });

  program
    .command('demo')
    .description('run the demo federation (what `npm start` runs): the national hub, 三都, 安吉, 常州 and 青浦 on embedded SQLite')
    .option('--dir <path>', 'where the demo keeps its files', 'var/demo')
    .option('--port-base <port>', 'hub on this port, nodes on the following ones', parsePort, 7700)
    .option('--database <url>', 'run every server on this PostgreSQL, each in its own schema')
    .option('--reset', 'delete the demo folder (and its PostgreSQL schemas) first, to start afresh')
    .action(async (options: { dir: string; portBase: number; database?: string; reset?: boolean }) => {
      if (options.reset) await resetFederation(options.dir);
      await runUntilStopped(demoFederation({ dir: options.dir, portBase: options.portBase, ...(options.database ? { databaseUrl: options.database } : {}) }), {
        baseDir: process.cwd(),
        conflictHint:
          `A demo keeps the ports and database it was created with. Start it without those options, ` +
          `use another folder (--dir), or start afresh with --reset (npm start -- --reset …), which deletes ${resolve(options.dir)}.`,
      });
    });
}
