import { Option, type Command } from 'commander';
import { sampleSubjects } from '../../demo/registries.ts';
import { errorStatus, TongbanError, type ErrorCode } from '../../errors/index.ts';
import { serviceDefinitionById } from '../../services/index.ts';
import { EXIT, printJson } from '../output.ts';
import { endpointOf, locateNode, operatorTokenOf } from './locate.ts';
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
    .option('--operator <id>', 'operator id recorded in both audit logs', 'cli-operator')
    .option('--federation <dir>', 'federation folder', 'var/demo')
    .action(
      async (options: {
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
        operator: string;
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
          operator: { id: options.operator, role: 'clerk' },
          ...(options.via ? { via: options.via } : {}),
          ...(options.fields ? { fields: options.fields.split(',').map((f) => f.trim()) } : {}),
          ...(options.agreement ? { agreementId: options.agreement } : {}),
          ...(options.item ? { itemCode: options.item } : {}),
        };
        let response: Response;
        try {
          response = await fetch(new URL('/v1/operator/exchange', endpointOf(config)), {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${operatorTokenOf(config)}` },
            body: JSON.stringify(body),
            signal: AbortSignal.timeout(30_000),
          });
        } catch {
          throw new TongbanError('PEER_UNREACHABLE', `Node ${options.from} does not answer at ${endpointOf(config)}; is the federation running?`);
        }
        const json = (await response.json()) as { code?: string; detail?: string; response?: unknown; via?: string; requestId?: string };
        if (!response.ok) {
          const code = json.code && json.code in errorStatus ? (json.code as ErrorCode) : 'PEER_RESPONSE_INVALID';
          process.stderr.write(`tongban: refused (${code}): ${json.detail ?? response.status}\n`);
          printJson({ ok: false, code, detail: json.detail });
          process.exitCode = EXIT.negative;
          return;
        }
        printJson({ ok: true, via: json.via, requestId: json.requestId, ...(json.response as object) });
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
    .action((options: { node: string; count: number; federation: string }) => {
      const config = locateNode(options.federation, options.node);
      printJson({ node: config.node.division, name: config.node.name, ...sampleSubjects(join(config.dir, 'registries.sqlite'), options.count) });
    });
}
