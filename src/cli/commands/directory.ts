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

interface ChangeRequest {
  division: string;
  kind: string;
  endpoint: string;
  signingKid: string;
  requestedAt: string;
  current: { endpoint: string; signingKid: string } | null;
}

const time = (iso: string) => iso.slice(0, 19).replace('T', ' ');

const nodeRows = (nodes: readonly NodeStatus[]) =>
  nodes.map((n) => [n.division, n.name, n.status, n.endpoint, time(n.enrolledAt), n.decidedAt ? `${time(n.decidedAt)} by ${n.decidedBy ?? '?'}` : '-']);

/** What changes: the endpoint and the signing key, before → after ("=" when unchanged). */
const changeRows = (changes: readonly ChangeRequest[]) =>
  changes.map((c) => [
    c.division,
    c.kind,
    c.current && c.current.endpoint === c.endpoint ? '=' : `${c.current?.endpoint ?? '-'} → ${c.endpoint}`,
    c.current && c.current.signingKid === c.signingKid ? '=' : `${c.current?.signingKid ?? '-'} → ${c.signingKid}`,
    time(c.requestedAt),
  ]);

const ACTIONS = ['list', 'approve', 'suspend', 'revoke', 'reject', 'remove', 'changes', 'approve-change', 'reject-change'] as const;
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

/** Reads every page of a listing (`{ <items>: [...], total }`) into one answer of the same shape. */
async function allPages(path: string, get: (path: string) => Promise<unknown>): Promise<Record<string, unknown>> {
  const PAGE = 1000;
  let merged: Record<string, unknown> | undefined;
  for (let offset = 0; ; offset += PAGE) {
    const page = (await get(`${path}?limit=${PAGE}&offset=${offset}`)) as Record<string, unknown> & { total: number };
    const key = Object.keys(page).find((k) => Array.isArray(page[k]))!;
    merged = merged ? { ...merged, [key]: [...(merged[key] as unknown[]), ...(page[key] as unknown[])] } : page;
    if ((merged[key] as unknown[]).length >= page.total || (page[key] as unknown[]).length === 0) return merged;
  }
}

/** The hub administrator's directory commands, over the hub's admin API. */
export function directoryCommand(program: Command): void {
  program
    .command('directory')
    .description(
      "hub administrator: list, approve, suspend, revoke, reject (a pending enrolment) or remove nodes in the hub's directory; " +
        'list pending change requests (new endpoint, encryption key, key rotation) and approve or reject them',
    )
    .addArgument(new Argument('<action>').choices(ACTIONS))
    .argument('[division]', 'the node, for every action but list and changes')
    .option('--federation <dir>', 'federation folder holding the hub', 'var/demo')
    .option('--json', 'print JSON')
    .action(async (action: Action, division: string | undefined, options: { federation: string; json?: boolean }) => {
      if (action !== 'list' && action !== 'changes' && !/^\d{6}$/.test(division ?? '')) throw new TongbanError('BAD_REQUEST', `Name the six-digit division to ${action}.`);
      const hub = locateNode(options.federation, 'hub');
      if (hub.node.role !== 'hub') throw new TongbanError('CONFIG_INVALID', 'That folder holds no hub.');
      const token = readFileSync(hub.adminTokenFile, 'utf8').trim();
      const route = routeOf(action, division);
      // The listings come a page at a time: read them all.
      const json = route.method === 'GET' ? await allPages(route.path, (path) => callNode(hub, { method: 'GET', path, token })) : await callNode(hub, { ...route, token });
      if (options.json) return printJson(json);
      if (action === 'changes' || action === 'approve-change' || action === 'reject-change') {
        const changes = action === 'changes' ? (json as { changes: ChangeRequest[] }).changes : [json as ChangeRequest];
        return printTable(['division', 'kind', 'endpoint', 'signing key', 'requested'], changeRows(changes), 'No change request is waiting.');
      }
      const nodes = action === 'list' ? (json as { nodes: NodeStatus[] }).nodes : [json as NodeStatus];
      printTable(['division', 'name', 'status', 'endpoint', 'enrolled', 'decided'], nodeRows(nodes), 'No node has enrolled yet.');
    });
}
