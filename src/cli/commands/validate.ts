import { Argument, type Command } from 'commander';
import { validateCreditCode, validateLicenseId, validateResidentId } from '../../standards/index.ts';
import { EXIT, printJson } from '../output.ts';

export function validateCommand(program: Command): void {
  program
    .command('validate')
    .description('validate a resident ID number (id), unified social credit code (uscc) or e-licence identifier (license-id)')
    .addArgument(new Argument('<kind>', 'what the value is').choices(['id', 'uscc', 'license-id']))
    .argument('<value>', 'the value to check')
    .action((kind: 'id' | 'uscc' | 'license-id', value: string) => {
      const result =
        kind === 'id' ? validateResidentId(value) : kind === 'uscc' ? validateCreditCode(value) : validateLicenseId(value);
      printJson({ valid: result.valid, errors: result.errors, parsed: result.parsed });
      process.exitCode = result.valid ? EXIT.ok : EXIT.negative;
    });
}
