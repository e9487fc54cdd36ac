import { Command, CommanderError } from 'commander';
import { isTongbanError } from '../errors/index.ts';
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
import { validateCommand } from './commands/validate.ts';
import { EXIT } from './output.ts';

export function buildProgram(): Command {
  const program = new Command('tongban')
    .description('Tongban (通办): federated cross-region government service handling')
    .version('0.1.0')
    .showHelpAfterError(false)
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
  keysCommand(program);
  casesCommand(program);
  for (const command of program.commands) {
    command.exitOverride();
    for (const sub of command.commands) sub.exitOverride();
  }
  return program;
}

/** Runs the CLI. Bad input ends with one sentence on stderr and exit code 2, never a stack trace. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return Number(process.exitCode ?? EXIT.ok);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version output end here too, with exit code 0.
      return error.exitCode === 0 ? EXIT.ok : EXIT.error;
    }
    if (isTongbanError(error)) {
      const details = error.errors ?? [];
      if (details.length > 1) {
        process.stderr.write(`tongban: the input has ${details.length} problems:\n`);
        for (const e of details) process.stderr.write(`  ${e.path ? e.path + ': ' : ''}${e.message}\n`);
      } else {
        process.stderr.write(`tongban: ${error.message}\n`);
      }
      return EXIT.error;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`tongban: ${message}\n`);
    if (process.env.TONGBAN_DEBUG === '1' && error instanceof Error) process.stderr.write((error.stack ?? '') + '\n');
    return EXIT.error;
  }
}
