import { Argument, type Command } from 'commander';
import { readFileSync } from 'node:fs';
import { TongbanError } from '../../errors/index.ts';
import { printJson } from '../output.ts';
import { endpointOf, locateNode } from './locate.ts';

/** The hub administrator's directory commands, over the hub's admin API. */
export function directoryCommand(program: Command): void {
  program
    .command('directory')
    .description("hub administrator: list, approve or suspend nodes in the hub's directory")
    .addArgument(new Argument('<action>').choices(['list', 'approve', 'suspend']))
    .argument('[division]', 'the node, for approve and suspend')
    .option('--federation <dir>', 'federation folder holding the hub', 'var/demo')
    .action(async (action: 'list' | 'approve' | 'suspend', division: string | undefined, options: { federation: string }) => {
      const hub = locateNode(options.federation, 'hub');
      if (hub.node.role !== 'hub') throw new TongbanError('CONFIG_INVALID', 'That folder holds no hub.');
      if (action !== 'list' && !/^\d{6}$/.test(division ?? '')) throw new TongbanError('BAD_REQUEST', `Name the division to ${action}.`);
      const token = readFileSync(hub.adminTokenFile, 'utf8').trim();
      const path = action === 'list' ? '/v1/directory/nodes' : `/v1/directory/nodes/${division}/${action}`;
      let response: Response;
      try {
        response = await fetch(new URL(path, endpointOf(hub)), { method: action === 'list' ? 'GET' : 'POST', headers: { authorization: `Bearer ${token}` } });
      } catch {
        throw new TongbanError('HUB_UNREACHABLE', `The hub does not answer at ${endpointOf(hub)}.`);
      }
      const json = (await response.json()) as { detail?: string };
      if (!response.ok) throw new TongbanError('BAD_REQUEST', json.detail ?? `The hub answered ${response.status}.`);
      printJson(json);
    });
}
