import { Command, CommanderError, type Option } from 'commander';
import { isTongbanError } from '../errors/index.ts';
import { agreementCommand } from './commands/agreement.ts';
import { auditCommand } from './commands/audit.ts';
import { casesCommand } from './commands/cases.ts';
import { catalogCommand } from './commands/catalog.ts';
import { exchangeCommand } from './commands/exchange.ts';
import { federationCommand } from './commands/federation.ts';
import { directoryCommand } from './commands/directory.ts';
import { divisionCommand } from './commands/division.ts';
import { initCommand } from './commands/init.ts';
import { keysCommand } from './commands/keys.ts';
import { serveCommand } from './commands/serve.ts';
import { templateCommand } from './commands/template.ts';
import { validateCommand } from './commands/validate.ts';
import { EXIT, Refusal } from './output.ts';

export function buildProgram(): Command {
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
  validateCommand(program);
  divisionCommand(program);
  catalogCommand(program);
  initCommand(program);
  serveCommand(program);
  federationCommand(program);
  exchangeCommand(program);
  auditCommand(program);
  directoryCommand(program);
  agreementCommand(program);
  templateCommand(program);
  keysCommand(program);
  casesCommand(program);
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
  const program = buildProgram();
  try {
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
