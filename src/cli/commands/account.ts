import type { Command } from 'commander';
import { printJson, printLines, printRecord, printTable } from '../output.ts';
import { callNode, locateNode, operatorTokenOf } from './locate.ts';

interface Common {
  node: string;
  federation: string;
  json?: boolean;
}

interface ClientJson {
  id: string;
  name: string;
  role: string;
  createdAt: string;
  revokedAt: string | null;
  revoked: boolean;
}

const OPERATOR_NOTE = "\nRuns on the node's machine: it uses the operator token in the node's folder.";

function common(command: Command): Command {
  return command
    .requiredOption('--node <code>', 'the node (division code, or hub)')
    .option('--federation <dir>', 'federation folder', 'var/demo')
    .option('--json', 'print JSON');
}

/**
 * `tongban account`: the machine clients of a node — named bearer tokens, each scoped to one role,
 * revocable. People (citizens, staff) sign in at the hub instead (`tongban login`, or a browser at
 * GET /v1/auth/login).
 */
export function accountCommand(program: Command): void {
  const account = program.command('account').description("machine clients of a node: named tokens, one role each, revocable");

  common(
    account
      .command('add')
      .description("the node's operator: create a machine client for one role; prints its token once")
      .requiredOption('--id <id>', 'client id, e.g. counter-kiosk-1')
      // Checked by the node, which says why a role is refused (citizens sign in at the hub).
      .requiredOption('--role <role>', 'its one staff role: clerk, approver or supervisor (they take case steps), dataAdmin or operator')
      .requiredOption('--name <name>'),
  )
    .addHelpText(
      'after',
      `${OPERATOR_NOTE}\nCitizens get no account: they sign in at the hub and act with their own sign-in.\nExample:  npx tongban account add --node 522732 --id clerk-wang --role clerk --name 王`,
    )
    .action(async (options: Common & { id: string; role: string; name: string }) => {
      const config = locateNode(options.federation, options.node);
      const json = (await callNode(config, {
        method: 'POST',
        path: '/v1/operator/accounts',
        token: operatorTokenOf(config),
        body: { id: options.id, role: options.role, name: options.name },
      })) as { id: string; role: string; token: string };
      if (options.json) return printJson(json);
      printRecord([
        ['account', `${json.id} (${json.role}) at ${config.node.division} ${config.node.name}`],
        ['token', json.token],
      ]);
      printLines(['', 'The token is shown once: keep it, and pass it with --token or TONGBAN_TOKEN.']);
    });

  common(account.command('list').description("the node's machine clients, revoked ones included (never their tokens)"))
    .option('--limit <n>', 'at most this many', '100')
    .option('--offset <n>', 'skip this many', '0')
    .addHelpText('after', OPERATOR_NOTE)
    .action(async (options: Common & { limit: string; offset: string }) => {
      const config = locateNode(options.federation, options.node);
      const json = (await callNode(config, {
        method: 'GET',
        path: `/v1/operator/accounts?limit=${encodeURIComponent(options.limit)}&offset=${encodeURIComponent(options.offset)}`,
        token: operatorTokenOf(config),
      })) as { clients: ClientJson[]; total: number };
      if (options.json) return printJson(json);
      printTable(
        ['id', 'role', 'name', 'created', 'revoked'],
        json.clients.map((c) => [c.id, c.role, c.name, c.createdAt, c.revokedAt ?? '-']),
      );
      if (json.total > json.clients.length) printLines([`(${json.clients.length} of ${json.total}; --offset for more)`]);
    });

  common(account.command('revoke').description('revoke a machine client: its token is refused from the next request on').argument('<id>', 'the client id'))
    .addHelpText('after', OPERATOR_NOTE)
    .action(async (id: string, options: Common) => {
      const config = locateNode(options.federation, options.node);
      const json = (await callNode(config, { method: 'POST', path: `/v1/operator/accounts/${encodeURIComponent(id)}/revoke`, token: operatorTokenOf(config), body: {} })) as ClientJson;
      if (options.json) return printJson(json);
      printRecord([
        ['account', `${json.id} (${json.role}) at ${config.node.division} ${config.node.name}`],
        ['revoked', json.revokedAt ?? '-'],
      ]);
    });
}
