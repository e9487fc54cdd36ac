import { Argument, type Command } from 'commander';
import { validateCreditCode, validateLicenseId, validateResidentId } from '../../standards/index.ts';
import { EXIT, printJson, printRecord } from '../output.ts';

const KINDS = { id: 'resident ID number (GB 11643)', uscc: 'unified social credit code (GB 32100)', 'license-id': 'e-licence identifier (GB/T 36904)' } as const;

export function validateCommand(program: Command): void {
  program
    .command('validate')
    .description('validate a resident ID number (id), unified social credit code (uscc) or e-licence identifier (license-id); exit 0 valid, 1 invalid')
    .addArgument(new Argument('<kind>', 'what the value is').choices(Object.keys(KINDS)))
    .argument('<value>', 'the value to check')
    .option('--json', 'print {valid, errors, parsed} as JSON')
    .action((kind: keyof typeof KINDS, value: string, options: { json?: boolean }) => {
      const result =
        kind === 'id' ? validateResidentId(value) : kind === 'uscc' ? validateCreditCode(value) : validateLicenseId(value);
      process.exitCode = result.valid ? EXIT.ok : EXIT.refused;
      if (options.json) return printJson({ valid: result.valid, errors: result.errors, parsed: result.parsed });
      printRecord([
        ['value', value],
        ['kind', KINDS[kind]],
        ['valid', result.valid ? 'yes' : 'no'],
        ...result.errors.map((e) => ['problem', `${e.message} (${e.code})`] as const),
        ...Object.entries(result.parsed ?? {}).map(([key, v]) => [key, typeof v === 'object' ? JSON.stringify(v) : String(v)] as const),
      ]);
    });
}
