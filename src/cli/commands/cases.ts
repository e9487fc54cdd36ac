import type { Command } from 'commander';
import { caseActionNames } from '../../cases/index.ts';
import { errorStatus, TongbanError, type ErrorCode } from '../../errors/index.ts';
import { EXIT, printJson } from '../output.ts';
import { endpointOf, locateNode, operatorTokenOf } from './locate.ts';

interface Common {
  node: string;
  token?: string;
  federation: string;
}

async function call(options: Common, method: 'GET' | 'POST', path: string, body?: unknown, token?: string): Promise<unknown> {
  const config = locateNode(options.federation, options.node);
  const bearer = token ?? options.token ?? process.env.TONGBAN_TOKEN;
  if (!bearer) throw new TongbanError('UNAUTHORIZED', 'Give your account token with --token or TONGBAN_TOKEN.');
  let response: Response;
  try {
    response = await fetch(new URL(path, endpointOf(config)), {
      method,
      headers: { authorization: `Bearer ${bearer}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch {
    throw new TongbanError('PEER_UNREACHABLE', `Node ${options.node} does not answer at ${endpointOf(config)}; is the federation running?`);
  }
  const json = (await response.json()) as { code?: string; detail?: string };
  if (!response.ok) {
    const code = json.code && json.code in errorStatus ? (json.code as ErrorCode) : 'BAD_REQUEST';
    throw new TongbanError(code, json.detail ?? `The node answered ${response.status}.`);
  }
  return json;
}

const list = (value: string) => value.split(',').map((v) => v.trim()).filter(Boolean);

function common(command: Command): Command {
  return command
    .requiredOption('--node <code>', 'the node you work at (division code)')
    .option('--token <token>', 'your account token (or TONGBAN_TOKEN)')
    .option('--federation <dir>', 'federation folder', 'var/demo');
}

/** Summary a counter clerk reads: state, light, deadline. */
function summary(json: unknown) {
  const { case: c, time } = json as { case: { id: string; state: string; itemName: string; mode: string; competentNodes: string[] }; time: { light: string; deadline: string | null; remainingDays: number } };
  return { id: c.id, state: c.state, item: c.itemName, mode: c.mode, competent: c.competentNodes, light: time.light, deadline: time.deadline, remainingDays: time.remainingDays };
}

export function casesCommand(program: Command): void {
  const cases = program.command('case').description('cross-region cases (办件): apply, accept, ship, decide, conclude, …');

  common(cases.command('apply').description('open a case at this node'))
    .requiredOption('--item <code>', 'item code, e.g. N034')
    .requiredOption('--mode <mode>', 'online, proxy or joint')
    .requiredOption('--competent <nodes>', 'competent node(s), comma-separated')
    .requiredOption('--id-number <id>', "the applicant's resident ID number")
    .requiredOption('--name <name>', "the applicant's name")
    .option('--phone <phone>')
    .action(async (options: Common & { item: string; mode: string; competent: string; idNumber: string; name: string; phone?: string }) => {
      const json = await call(options, 'POST', '/v1/cases', {
        itemCode: options.item.toUpperCase(),
        mode: options.mode,
        competentNodes: list(options.competent),
        applicant: { idNumber: options.idNumber, name: options.name, ...(options.phone ? { phone: options.phone } : {}) },
      });
      printJson(summary(json));
    });

  common(cases.command('list').description('the cases you may see')).action(async (options: Common) => {
    const json = (await call(options, 'GET', '/v1/cases')) as { cases: unknown[] };
    printJson(json.cases.map(summary));
  });

  common(cases.command('show').description('one case in full, with its time limit').argument('<id>')).action(async (id: string, options: Common) => {
    printJson(await call(options, 'GET', `/v1/cases/${encodeURIComponent(id)}`));
  });

  common(cases.command('thread').description('read the consultation thread, or post to it').argument('<id>'))
    .option('--post <text>', 'post a message')
    .option('--escalate', 'ask a supervisor to decide')
    .action(async (id: string, options: Common & { post?: string; escalate?: boolean }) => {
      const path = `/v1/cases/${encodeURIComponent(id)}/thread`;
      printJson(options.post ? await call(options, 'POST', path, { text: options.post, escalation: Boolean(options.escalate) }) : await call(options, 'GET', path));
    });

  common(cases.command('evidence').description('fetch data for the case from another node under an agreement').argument('<id>'))
    .requiredOption('--provider <code>')
    .requiredOption('--service <service>')
    .requiredOption('--purpose <purpose>')
    .action(async (id: string, options: Common & { provider: string; service: string; purpose: string }) => {
      printJson(summary(await call(options, 'POST', `/v1/cases/${encodeURIComponent(id)}/evidence`, { provider: options.provider, service: options.service, purpose: options.purpose })));
    });

  // One command per lifecycle step; their options map onto the action's input.
  for (const action of caseActionNames) {
    common(cases.command(action).description(`lifecycle step: ${action}`).argument('<id>'))
      .option('--reason <text>')
      .option('--outcome <outcome>', 'decide: grant or refuse')
      .option('--result-code <code>', 'conclude: result code')
      .option('--result-description <text>', 'conclude: result description')
      .option('--method <method>', 'deliver: online, post or counter')
      .option('--tracking <number>', 'ship, deliver: tracking number')
      .option('--carrier <carrier>', 'ship: carrier')
      .option('--contents <list>', 'ship: contents, comma-separated')
      .option('--shipment <id>', 'receive, report-lost: shipment id')
      .option('--materials <list>', 'precheck, accept: materials checked, comma-separated')
      .option('--identity-verified', 'precheck, accept: the identity check was done')
      .option('--requested <list>', 'request-materials: what to complete, comma-separated')
      .action(async (id: string, options: Common & Record<string, string | boolean | undefined>) => {
        const path = `/v1/cases/${encodeURIComponent(id)}/actions`;
        const checks = {
          ...(typeof options.materials === 'string' ? { materials: list(options.materials).map((name) => ({ name, checked: true })) } : {}),
          ...(options.identityVerified ? { identityVerified: true } : {}),
        };
        // At the counter, "accept" after the formal and identity checks is one step.
        if (action === 'accept' && Object.keys(checks).length > 0) await call(options, 'POST', `${path}/precheck`, checks);
        const body = {
          ...(action === 'precheck' ? checks : {}),
          ...(typeof options.reason === 'string' ? { reason: options.reason } : {}),
          ...(typeof options.outcome === 'string' ? { outcome: options.outcome } : {}),
          ...(typeof options.resultCode === 'string' ? { result: { code: options.resultCode, description: String(options.resultDescription ?? '') } } : {}),
          ...(typeof options.method === 'string' ? { method: options.method } : {}),
          ...(typeof options.tracking === 'string' && action !== 'ship' ? { trackingNumber: options.tracking } : {}),
          ...(action === 'ship' ? { shipment: { carrier: String(options.carrier ?? ''), trackingNumber: String(options.tracking ?? ''), contents: list(String(options.contents ?? '')) } } : {}),
          ...(typeof options.shipment === 'string' ? { shipmentId: options.shipment } : {}),
          ...(typeof options.requested === 'string' ? { requestedMaterials: list(options.requested) } : {}),
        };
        printJson(summary(await call(options, 'POST', `${path}/${action}`, body)));
      });
  }

  program
    .command('account')
    .description('accounts of a node')
    .command('add')
    .description('create a staff or applicant account; prints its token once')
    .requiredOption('--node <code>', 'the node (division code)')
    .requiredOption('--id <id>', 'account id, e.g. clerk-wang')
    .requiredOption('--role <role>', 'clerk, approver, supervisor or applicant')
    .requiredOption('--name <name>')
    .option('--id-number <id>', "applicants: their resident ID number")
    .option('--federation <dir>', 'federation folder', 'var/demo')
    .action(async (options: { node: string; id: string; role: string; name: string; idNumber?: string; federation: string }) => {
      const config = locateNode(options.federation, options.node);
      const json = await call({ node: options.node, federation: options.federation }, 'POST', '/v1/operator/accounts', {
        id: options.id,
        role: options.role,
        name: options.name,
        ...(options.idNumber ? { idNumber: options.idNumber } : {}),
      }, operatorTokenOf(config));
      printJson(json);
      process.exitCode = EXIT.ok;
    });
}
