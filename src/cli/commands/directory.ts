import { Argument, type Command } from 'commander';
import { readFileSync } from 'node:fs';
import { TongbanError } from '../../errors/index.ts';
import { printJson } from '../output.ts';
import { endpointOf, locateNode } from './locate.ts';

const ACTIONS = ['list', 'approve', 'suspend', 'reject', 'remove', 'changes', 'approve-change', 'reject-change'] as const;
type Action = (typeof ACTIONS)[number];

/** The admin API path and method of each action. */
function routeOf(action: Action, division: string | undefined): { method: 'GET' | 'POST'; path: string } {
  switch (action) {
    case 'list':
      return { method: 'GET', path: '/v1/directory/nodes' };
    case 'changes':
      return { method: 'GET', path: '/v1/directory/changes' };
    case 'approve-change':
      return { method: 'POST', path: `/v1/directory/changes/${division}/approve` };
    case 'reject-change':
      return { method: 'POST', path: `/v1/directory/changes/${division}/reject` };
    default:
      return { method: 'POST', path: `/v1/directory/nodes/${division}/${action}` };
  }
}

/** The hub administrator's directory commands, over the hub's admin API. */
export function directoryCommand(program: Command): void {
  program
    .command('directory')
    .description(
      "hub administrator: list, approve, suspend, reject (a pending enrolment) or remove nodes in the hub's directory; " +
        'list pending change requests (new endpoint, encryption key, key rotation) and approve or reject them',
    )
    .addArgument(new Argument('<action>').choices(ACTIONS))
    .argument('[division]', 'the node, for every action but list and changes')
    .option('--federation <dir>', 'federation folder holding the hub', 'var/demo')
    .action(async (action: Action, division: string | undefined, options: { federation: string }) => {
      const hub = locateNode(options.federation, 'hub');
      if (hub.node.role !== 'hub') throw new TongbanError('CONFIG_INVALID', 'That folder holds no hub.');
      if (action !== 'list' && action !== 'changes' && !/^\d{6}$/.test(division ?? '')) throw new TongbanError('BAD_REQUEST', `Name the division to ${action}.`);
      const token = readFileSync(hub.adminTokenFile, 'utf8').trim();
      const { method, path } = routeOf(action, division);
      let response: Response;
      try {
        response = await fetch(new URL(path, endpointOf(hub)), { method, headers: { authorization: `Bearer ${token}` } });
      } catch {
        throw new TongbanError('HUB_UNREACHABLE', `The hub does not answer at ${endpointOf(hub)}.`);
      }
      const json = (await response.json()) as { detail?: string };
      if (!response.ok) throw new TongbanError('BAD_REQUEST', json.detail ?? `The hub answered ${response.status}.`);
      printJson(json);
    });
}
