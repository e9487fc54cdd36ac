import { Option, type Command } from 'commander';
import { sampleSubjects } from '../../demo/registries.ts';
import { TongbanError } from '../../errors/index.ts';
import { getDataElement, validateCreditCode, validateResidentId } from '../../standards/index.ts';
import { serviceDefinitionById } from '../../services/index.ts';
import { printJson, printLines, printRecord, printTable, Refusal } from '../output.ts';
import { callNode, locateNode, operatorTokenOf } from './locate.ts';
import { join } from 'node:path';

export function exchangeCommand(program: Command): void {
  const exchange = program.command('exchange').description('governed data exchange between nodes');
  exchange
    .command('request')
    .description('ask one node to request data from another under their agreement, and print the signed answer')
    .requiredOption('--from <node>', 'requesting node (division code)')
    .requiredOption('--to <node>', 'providing node (division code)')
    .requiredOption('--service <service>', 'e.g. household.residence-proof')
    .requiredOption('--subject <id>', 'resident ID number or credit code of the subject')
    .requiredOption('--purpose <purpose>', 'purpose as the agreement names it, e.g. 户籍类证明开具')
    .addOption(new Option('--via <route>', 'bridge or hub (default: the agreement’s topology)').choices(['bridge', 'hub']))
    .option('--fields <list>', 'comma-separated data elements (default: all the agreement grants)')
    .option('--agreement <id>', 'agreement id (default: the one that grants this)')
    .option('--item <code>', 'item code (default: from the agreement)')
    .option('--case <id>', 'case the request belongs to', 'cli')
    .option('--consent <id or artefact>', "the citizen's consent where the agreement requires one: its id (tongban consent list) or the artefact the hub signed")
    .option('--federation <dir>', 'federation folder', 'var/demo')
    .option('--json', 'print the signed answer as JSON; a refusal as {ok: false, code, detail}')
    .action(
      async (options: {
        json?: boolean;
        from: string;
        to: string;
        service: string;
        subject: string;
        purpose: string;
        via?: 'bridge' | 'hub';
        fields?: string;
        agreement?: string;
        item?: string;
        case: string;
        consent?: string;
        federation: string;
      }) => {
        const definition = serviceDefinitionById.get(options.service);
        if (!definition) throw new TongbanError('VALIDATION_FAILED', `Unknown service ${options.service}.`);
        const config = locateNode(options.federation, options.from);
        const body = {
          provider: options.to,
          service: options.service,
          subject: { type: definition.subject, value: options.subject.trim().toUpperCase() },
          purpose: options.purpose,
          caseId: options.case,
          ...(options.via ? { via: options.via } : {}),
          ...(options.fields ? { fields: options.fields.split(',').map((f) => f.trim()) } : {}),
          ...(options.agreement ? { agreementId: options.agreement } : {}),
          ...(options.item ? { itemCode: options.item } : {}),
          ...(options.consent ? { consent: options.consent.trim() } : {}),
        };
        let answer: { via?: string; requestId?: string; response?: { data?: Record<string, unknown> } & Record<string, unknown> };
        try {
          answer = (await callNode(config, { method: 'POST', path: '/v1/operator/exchange', body, token: operatorTokenOf(config) })) as typeof answer;
        } catch (error) {
          // Scripts read the refusal from stdout as {ok: false, code, detail} (the shape --json has always had).
          if (error instanceof Refusal && options.json) printJson({ ok: false, code: error.code, detail: error.message });
          throw error;
        }
        if (options.json) return printJson({ ok: true, via: answer.via, requestId: answer.requestId, ...answer.response });
        const data = answer.response?.data ?? {};
        printRecord([
          ['answered by', `${options.to} via ${answer.via ?? '?'}`],
          ['request', answer.requestId],
          ['issued at', typeof answer.response?.issuedAt === 'string' ? answer.response.issuedAt : undefined],
        ]);
        printLines(['']);
        printTable(['field', 'label', 'value'], Object.entries(data).map(([field, value]) => [field, getDataElement(field)?.zh ?? '', explainValue(field, value)]));
      },
    );

  program
    .command('registry')
    .description('the synthetic registries of the demo federation')
    .command('sample')
    .description('list a few subjects of a node’s registries')
    .requiredOption('--node <code>', 'division code')
    .option('--count <n>', 'how many', (v) => Math.max(1, Math.min(50, Number(v) || 5)), 5)
    .option('--federation <dir>', 'federation folder', 'var/demo')
    .option('--json', 'print JSON')
    .action((options: { node: string; count: number; federation: string; json?: boolean }) => {
      const config = locateNode(options.federation, options.node);
      const sample = sampleSubjects(join(config.dir, 'registries.sqlite'), options.count);
      if (options.json) return printJson({ node: config.node.division, name: config.node.name, ...sample });
      printLines([`People in the registries of ${config.node.division} ${config.node.name}:`]);
      printTable(
        ['id number', 'name', 'sex', 'born', 'marital status'],
        sample.people.map((p) => {
          const id = validateResidentId(p.idNumber).parsed;
          return [p.idNumber, p.name, id?.sex ?? '?', id?.birthDate ?? '?', explainValue('maritalStatus', p.maritalStatus)];
        }),
      );
      printLines(['', 'Businesses:']);
      printTable(
        ['credit code', 'name', 'registered by', 'type'],
        sample.businesses.map((b) => {
          const code = validateCreditCode(b.creditCode).parsed;
          return [b.creditCode, b.entityName, code?.departmentName ?? '?', code?.organisationTypeName ?? '?'];
        }),
      );
      const marital = getDataElement('maritalStatus');
      printLines([
        '',
        'How to read the codes:',
        '  id number       GB 11643: 6-digit household division (GB/T 2260), birth date YYYYMMDD, 3-digit sequence (odd: male,',
        '                  even: female), check character (ISO 7064 MOD 11-2). `tongban validate id <number>` takes one apart.',
        `  marital status  ${marital?.standard ?? 'GB/T 2261.2'}: ${Object.entries(marital?.codes ?? {}).map(([k, v]) => `${k} ${v}`).join(', ')}`,
        '  credit code     GB 32100: registering department, organisation type, 6-digit division, 9-character organisation code',
        '                  (GB 11714), check character. `tongban validate uscc <code>` takes one apart.',
      ]);
    });
}

/** A value as a person reads it: a code of a closed code table with its label ("20 已婚"). */
export function explainValue(field: string, value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  const label = typeof value === 'string' ? getDataElement(field)?.codes?.[value] : undefined;
  return label ? `${text} ${label}` : text;
}
