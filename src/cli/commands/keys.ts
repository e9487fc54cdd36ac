import type { Command } from 'commander';
import { loadConfig, type NodeConfig } from '../../config/index.ts';
import { errorStatus, TongbanError, type ErrorCode } from '../../errors/index.ts';
import { KeyStatus } from '../../node/index.ts';
import { printJson, printLines } from '../output.ts';
import { endpointOf, locateNode, operatorTokenOf } from './locate.ts';

interface Where {
  readonly node?: string;
  readonly config?: string;
  readonly federation: string;
  readonly json?: boolean;
}

/** The node the command is about: --config, or --node in the federation folder. Never the hub, whose key every node pins. */
function nodeOf(options: Where): NodeConfig {
  if (!options.config && !options.node) throw new TongbanError('BAD_REQUEST', 'Name the node: --node <division> (in --federation) or --config <path>.');
  const config = options.config ? loadConfig(options.config, {}) : locateNode(options.federation, options.node!);
  if (config.node.role === 'hub') {
    throw new TongbanError('BAD_REQUEST', "The hub's signing key is pinned by every node as its trust anchor; it is not rotated with this command.");
  }
  return config;
}

/** Calls the node's operator API; its refusals become one sentence and exit code 2. */
async function callNode(config: NodeConfig, method: 'GET' | 'POST', path: string, body?: unknown): Promise<KeyStatus> {
  let response: Response;
  try {
    response = await fetch(new URL(path, endpointOf(config)), {
      method,
      headers: { authorization: `Bearer ${operatorTokenOf(config)}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch {
    throw new TongbanError('PEER_UNREACHABLE', `Node ${config.node.division} does not answer at ${endpointOf(config)}; is it running?`);
  }
  const json = (await response.json().catch(() => ({}))) as { code?: string; detail?: string };
  if (!response.ok) {
    const code = json.code && json.code in errorStatus ? (json.code as ErrorCode) : 'PEER_RESPONSE_INVALID';
    throw new TongbanError(code, json.detail ?? `Node ${config.node.division} answered ${response.status}.`);
  }
  const parsed = KeyStatus.safeParse(json);
  if (!parsed.success) throw new TongbanError('PEER_RESPONSE_INVALID', `Node ${config.node.division} answered in an unexpected form.`);
  return parsed.data;
}

/** One or two sentences an operator reads. */
export function describeKeys(status: KeyStatus): string[] {
  const { division, current, pending, rotation } = status;
  const lines = [`${division} signs with ${current.kid} (${status.algorithm}).`];
  if (!rotation) return lines;
  switch (rotation.status) {
    case 'unsent':
      lines.push(`The rotation to ${rotation.kid} has not reached the hub (${rotation.detail ?? 'not sent'}); run "tongban keys rotate" again to re-send the same key.`);
      break;
    case 'pending':
      lines.push(
        `The rotation to ${rotation.kid} (requested ${rotation.requestedAt}) waits for the hub administrator's approval ("tongban directory approve-change ${division}"); ` +
          `until then the node keeps signing with its current key. The new key is in ${pending?.file ?? 'its pending key file'}.`,
      );
      break;
    case 'approved':
      lines.push(
        `The rotation from ${rotation.previousKid} to ${rotation.kid} was approved; the node switched at ${rotation.decidedAt}. ` +
          `Peers accept the old key for ${rotation.overlapSeconds ?? 'the hub’s default'} seconds after the approval.`,
      );
      break;
    case 'rejected':
      lines.push(`The rotation to ${rotation.kid} was rejected by the hub administrator (${rotation.decidedAt}); the node stays on ${current.kid} and the rejected key was deleted.`);
      break;
  }
  return lines;
}

export function keysCommand(program: Command): void {
  const keys = program.command('keys').description("a node's signing key: rotate it (approved by the hub administrator) and see where a rotation stands");
  const where = (command: Command) =>
    command
      .option('--node <division>', 'division code of a node in the federation folder')
      .option('--config <path>', 'a node config instead of --node')
      .option('--federation <dir>', 'federation folder', 'var/demo')
      .option('--json', 'print JSON for scripts');

  where(
    keys
      .command('rotate')
      .description(
        "make a new signing key of the node's algorithm (a 0600 pending key file, never in the database) and ask the hub to rotate to it, signed with the current key; " +
          'the node switches once the hub administrator approves',
      )
      .option('--overlap <seconds>', 'how long peers keep accepting the old key after approval (default: the hub’s, one day)', (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0) throw new TongbanError('BAD_REQUEST', '--overlap takes a whole number of seconds.');
        return n;
      }),
  ).action(async (options: Where & { overlap?: number }) => {
    const config = nodeOf(options);
    // The key it signs with now is the one to replace (the node refuses a stale one).
    const { current } = await callNode(config, 'GET', '/v1/operator/keys');
    const status = await callNode(config, 'POST', '/v1/operator/keys/rotate', { currentKid: current.kid, ...(options.overlap === undefined ? {} : { overlapSeconds: options.overlap }) });
    if (options.json) printJson(status);
    else printLines(describeKeys(status));
  });

  where(keys.command('status').description("the node's signing key and its latest rotation: unsent, pending, approved or rejected")).action(async (options: Where) => {
    const status = await callNode(nodeOf(options), 'GET', '/v1/operator/keys');
    if (options.json) printJson(status);
    else printLines(describeKeys(status));
  });
}
