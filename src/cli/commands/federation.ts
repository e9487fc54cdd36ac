import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { CONFIG_FILE_NAME } from '../../config/index.ts';
import { sampleSubjects } from '../../demo/registries.ts';
import { readSeedStamp, type SeedStamp } from '../../demo/stamp.ts';
import { TongbanError } from '../../errors/index.ts';
import { DEMO_PASSPHRASE, demoFederation, resetFederation, startFederation, stopChildProcesses, type FederationConfigInput, type RunningFederation } from '../../federation/index.ts';
import { divisions } from '../../standards/index.ts';
import { EXIT, formatTable, parsePort, printJson, printLines } from '../output.ts';

interface RunOptions {
  readonly baseDir: string;
  /** The demo: seed a new folder with this many cases first (0: none). */
  readonly seedCases?: number;
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
  let stamp: SeedStamp | undefined;
  try {
    const dir = resolve(options.baseDir, config.dir ?? 'var/federation');
    if (options.seedCases && !existsSync(join(dir, 'hub', CONFIG_FILE_NAME))) {
      process.stdout.write(`tongban: first start: seeding the demo with ${options.seedCases} cases (once: the next start reuses it)…\n`);
      // Loaded only here: a demo started again needs none of it.
      const seed = await import('../../demo/seed.ts');
      const seeded = await seed.seedDemoFolder(config, { baseDir: options.baseDir, cases: options.seedCases, log: (m) => process.stderr.write(m + '\n') });
      process.stdout.write(`tongban: seeded in ${seeded.seconds} s\n`);
    }
    stamp = readSeedStamp(dir);
    if (options.seedCases && !stamp) {
      process.stdout.write(`tongban: ${dir} holds a demo without seeded data (made before the seed, or with --cases 0); start afresh with --reset (npm start -- --reset) to seed one.\n`);
    }
  } catch (error) {
    if (stopping) return;
    throw error;
  }
  if (stopping) return;
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
  printSummary(federation, Date.now() - started, stamp);
}

function printSummary(f: RunningFederation, ms: number, stamp?: SeedStamp): void {
  // A replicated server: its front's address, then each replica's address and process.
  const where = (s: RunningFederation['hub']) => (s.replicas ? `${s.endpoint}  front of ${s.replicas.map((r) => `${r.endpoint} (pid ${r.pid})`).join(', ')}` : `${s.endpoint}  pid ${s.pid}`);
  const lines = [`Federation up in ${(ms / 1000).toFixed(1)} s (files in ${f.dir}):`, `  hub     ${f.config.hub.division}  ${where(f.hub)}`];
  for (const [division, node] of f.nodes) lines.push(`  node    ${division}  ${where(node)}`);
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
  if (stamp) {
    const states = Object.entries(stamp.counts.byState).map(([state, n]) => `${state} ${n}`).join(', ');
    lines.push(
      `Demo data (seeded once, ${stamp.from} to ${stamp.to}): ${stamp.counts.cases} cases — ${states};`,
      `  ${stamp.counts.exchanges.served + stamp.counts.exchanges.refused} exchanges (${stamp.counts.exchanges.refused} refused), ${stamp.counts.negotiations.fromTemplate + stamp.counts.negotiations.fromScratch} negotiations, ${stamp.counts.consents} consents, ${stamp.counts.certificates} certificates.`,
    );
  }
  if (f.people.length > 0 && f.config.demoPeople) lines.push(...accountLines(f, f.config.demoPeople.password, stamp));
  lines.push('Press Ctrl+C to stop.');
  printLines(lines);
}

/**
 * Where to sign in and as whom: each node's console, then the demo's staff (one per role at every
 * node) and citizens, all with the one published password.
 */
export function accountLines(f: RunningFederation, password: string, stamp?: SeedStamp): string[] {
  const place = (division: string) => divisions.get(division)?.name ?? division;
  const staff = f.people.filter((p) => p.kind === 'staff');
  const citizens = new Map<string, { name: string; node: string }>();
  for (const p of f.people.filter((x) => x.kind === 'citizen')) citizens.set(p.login, { name: p.name, node: p.login.slice(0, 6) });
  for (const c of stamp?.citizens ?? []) citizens.set(c.idNumber, { name: c.name, node: c.node });
  const roles = [...new Set(staff.flatMap((p) => p.roles ?? []))];
  return [
    'Web console — open it in a browser and sign in with the hub\'s form:',
    ...formatTable(
      ['node', 'place', 'console'],
      [...f.nodes].map(([division, node]) => [division, place(division), `${node.endpoint}/console/`]),
    ).map((l) => `  ${l}`),
    `Demo accounts — the password of every one: ${password}`,
    '  !! Published demo password: for trying Tongban out, never for real people or data. !!',
    `  Staff (login = role@node); dataadmin@ and operator@ sign agreements with the node passphrase ${DEMO_PASSPHRASE}:`,
    ...formatTable(
      ['node', ...roles],
      [...f.nodes.keys()].map((division) => [division, ...roles.map((role) => staff.find((p) => p.node === division && p.roles?.includes(role))?.login ?? '')]),
    ).map((l) => `    ${l}`),
    '  Citizens (login = ID number):',
    ...formatTable(
      ['login', 'name', 'household in'],
      [...citizens].map(([login, c]) => [login, c.name, `${c.node} ${place(c.node)}`]),
    ).map((l) => `    ${l}`),
    `  At the terminal: npx tongban login --federation ${f.dir}   (then npx tongban whoami --node <division> --federation ${f.dir})`,
  ];
}

export function federationCommand(program: Command): void {
  const federation = program.command('federation').description('run a hub and several nodes, each its own server and database');

  federation
    .command('up')
    .description('create what is missing and start every server of a federation file')
    .argument('<config>', 'federation JSON (see "tongban federation config")')
    .option('--port-base <port>', 'hub on this port, nodes on the following ones', parsePort)
    .option('--replicas <n>', 'run every server as n processes behind a round-robin front on its port (needs "databaseUrl": PostgreSQL)', (v) => parseCount(v, '--replicas', 1, 16))
    .action(async (path: string, options: { portBase?: number; replicas?: number }) => {
      let input: FederationConfigInput;
      try {
        input = JSON.parse(readFileSync(path, 'utf8')) as FederationConfigInput;
      } catch {
        throw new TongbanError('CONFIG_INVALID', `${path} cannot be read as JSON.`);
      }
      const baseDir = dirname(resolve(path));
      await runUntilStopped(
        { ...input, ...(options.portBase !== undefined ? { portBase: options.portBase } : {}), ...(options.replicas !== undefined ? { replicas: options.replicas } : {}) },
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
    .option('--cases <n>', 'a new demo folder is first seeded with this many cases, in every state (0: none)', (v) => parseCount(v), 300)
    .action(async (options: { dir: string; portBase: number; database?: string; reset?: boolean; cases: number }) => {
      if (options.reset) await resetFederation(options.dir);
      await runUntilStopped(demoFederation({ dir: options.dir, portBase: options.portBase, ...(options.database ? { databaseUrl: options.database } : {}) }), {
        baseDir: process.cwd(),
        seedCases: options.cases,
        conflictHint:
          `A demo keeps the ports and database it was created with. Start it without those options, ` +
          `use another folder (--dir), or start afresh with --reset (npm start -- --reset …), which deletes ${resolve(options.dir)}.`,
      });
    });
}

/** A whole number from `min` to `max` for `flag`, or a refusal naming the flag. */
function parseCount(value: string, flag = '--cases', min = 0, max = 5000): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new TongbanError('BAD_REQUEST', `${flag} ${value}: a whole number from ${min} to ${max}.`);
  return n;
}
