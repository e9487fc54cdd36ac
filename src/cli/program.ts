import { Command, CommanderError, type Option } from 'commander';
import { isTongbanError } from '../errors/index.ts';
import { EXIT, Refusal } from './output.ts';

type Register = (program: Command) => void;

/**
 * Every top-level command, in the order `tongban --help` lists them, with the module that defines
 * it. A module is loaded only when its command runs (or when the whole list is needed: help, no
 * command, a misspelt one): `tongban serve`, which every server of a federation runs, then loads
 * what serving needs and not the code of the other commands (docs/benchmarks.md, "Start-up").
 */
const COMMANDS: ReadonlyArray<readonly [names: readonly string[], load: () => Promise<Register>]> = [
  [['validate'], async () => (await import('./commands/validate.ts')).validateCommand],
  [['division'], async () => (await import('./commands/division.ts')).divisionCommand],
  [['catalog'], async () => (await import('./commands/catalog.ts')).catalogCommand],
  [['init'], async () => (await import('./commands/init.ts')).initCommand],
  [['serve'], async () => (await import('./commands/serve.ts')).serveCommand],
  [['front'], async () => (await import('./commands/front.ts')).frontCommand],
  [['federation', 'demo'], async () => (await import('./commands/federation.ts')).federationCommand],
  [['exchange', 'registry'], async () => (await import('./commands/exchange.ts')).exchangeCommand],
  [['audit'], async () => (await import('./commands/audit.ts')).auditCommand],
  [['directory'], async () => (await import('./commands/directory.ts')).directoryCommand],
  [['agreement'], async () => (await import('./commands/agreement.ts')).agreementCommand],
  [['template'], async () => (await import('./commands/template.ts')).templateCommand],
  [['keys'], async () => (await import('./commands/keys.ts')).keysCommand],
  [['case'], async () => (await import('./commands/cases.ts')).casesCommand],
  [['account'], async () => (await import('./commands/account.ts')).accountCommand],
  [['tracker'], async () => (await import('./commands/tracker.ts')).trackerCommand],
  [['consent'], async () => (await import('./commands/consent.ts')).consentCommand],
  [['cert'], async () => (await import('./commands/cert.ts')).certCommand],
  [['login', 'logout', 'whoami'], async () => (await import('./commands/login.ts')).loginCommand],
];

/**
 * The CLI for `argv`: when it starts with a command's name, with that command (and those its
 * module defines along with it) only, which parses, helps and refuses exactly as the full program
 * does for that command; otherwise with every command.
 */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const program = new Command('tongban')
    .description('Tongban (通办): federated cross-region government service handling')
    .version('0.1.0')
    .showHelpAfterError(false)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      // Commander's own messages are already one sentence ("error: unknown option '--x'").
      writeErr: (text) => process.stderr.write(text.startsWith('error:') ? 'tongban: ' + text.slice(7) : text),
    });
  const named = COMMANDS.filter(([names]) => names.includes(argv[0] ?? ''));
  const registers = await Promise.all((named.length > 0 ? named : COMMANDS).map(([, load]) => load()));
  for (const register of registers) register(program);
  for (const command of program.commands) {
    command.exitOverride();
    for (const sub of command.commands) sub.exitOverride();
  }
  checkRequiredOptionsLast(program);
  return program;
}

/**
 * Commander checks required options before unknown ones, so a misspelt `--nod` was reported as
 * "required option '--node' not specified". Required options are checked here instead, after
 * commander has named any unknown option (and suggested the right spelling).
 */
function checkRequiredOptionsLast(program: Command): void {
  const walk = (command: Command) => {
    for (const option of command.options) {
      if (option.mandatory) {
        option.mandatory = false;
        option.description = `${option.description}${option.description ? ' ' : ''}(required)`;
        requiredOptions.add(option);
      }
    }
    command.commands.forEach(walk);
  };
  walk(program);
  program.hook('preAction', (_program, action) => {
    for (const option of action.options) {
      if (requiredOptions.has(option) && action.getOptionValue(option.attributeName()) === undefined) {
        action.error(`error: required option '${option.flags}' not specified`, { code: 'commander.missingMandatoryOptionValue', exitCode: EXIT.usage });
      }
    }
  });
}
const requiredOptions = new WeakSet<Option>();

/**
 * Runs the CLI. Exit codes (output.ts EXIT): 0 done; 1 refused or invalid; 2 usage. Bad input
 * ends with one sentence on stderr, never a stack trace.
 */
export async function runCli(argv: readonly string[]): Promise<number> {
  try {
    const program = await buildProgram(argv);
    await program.parseAsync([...argv], { from: 'user' });
    return Number(process.exitCode ?? EXIT.ok);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version output end here too, with exit code 0.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof Refusal) {
      process.stderr.write(`tongban: refused (${error.code}): ${error.message}\n`);
      return EXIT.refused;
    }
    if (isTongbanError(error)) {
      const details = error.errors ?? [];
      if (details.length > 1) {
        process.stderr.write(`tongban: the input has ${details.length} problems:\n`);
        for (const e of details) process.stderr.write(`  ${e.path ? e.path + ': ' : ''}${e.message}\n`);
      } else {
        process.stderr.write(`tongban: ${error.message}\n`);
      }
      return EXIT.usage;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`tongban: ${message}\n`);
    if (process.env.TONGBAN_DEBUG === '1' && error instanceof Error) process.stderr.write((error.stack ?? '') + '\n');
    return EXIT.usage;
  }
}
