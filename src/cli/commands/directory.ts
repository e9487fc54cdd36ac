import { Argument, type Command } from 'commander';
import { readFileSync } from 'node:fs';
import { TongbanError } from '../../errors/index.ts';
import { printJson, printTable } from '../output.ts';
import { callNode, locateNode } from './locate.ts';

interface NodeStatus {
  division: string;
  name: string;
  endpoint: string;
  status: string;
  enrolledAt: string;
  decidedAt: string | null;
  decidedBy: string | null;
}

const rows = (nodes: readonly NodeStatus[]) =>
  nodes.map((n) => [n.division, n.name, n.status, n.endpoint, n.enrolledAt.slice(0, 19).replace('T', ' '), n.decidedAt ? `${n.decidedAt.slice(0, 19).replace('T', ' ')} by ${n.decidedBy ?? '?'}` : '-']);

/** The hub administrator's directory commands, over the hub's admin API. */
export function directoryCommand(program: Command): void {
  program
    .command('directory')
    .description("hub administrator: list, approve or suspend nodes in the hub's directory")
    .addArgument(new Argument('<action>').choices(['list', 'approve', 'suspend']))
    .argument('[division]', 'the node, for approve and suspend')
    .option('--federation <dir>', 'federation folder holding the hub', 'var/demo')
    .option('--json', 'print JSON')
    .action(async (action: 'list' | 'approve' | 'suspend', division: string | undefined, options: { federation: string; json?: boolean }) => {
      if (action !== 'list' && !/^\d{6}$/.test(division ?? '')) throw new TongbanError('BAD_REQUEST', `Name the six-digit division to ${action}.`);
      const hub = locateNode(options.federation, 'hub');
      const token = readFileSync(hub.adminTokenFile, 'utf8').trim();
      const path = action === 'list' ? '/v1/directory/nodes' : `/v1/directory/nodes/${division}/${action}`;
      const json = await callNode(hub, { method: action === 'list' ? 'GET' : 'POST', path, token });
      if (options.json) return printJson(json);
      const nodes = action === 'list' ? (json as { nodes: NodeStatus[] }).nodes : [json as NodeStatus];
      printTable(['division', 'name', 'status', 'endpoint', 'enrolled', 'decided'], rows(nodes), 'No node has enrolled yet.');
    });
}
