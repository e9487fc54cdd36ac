import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig, type NodeConfig } from '../../config/index.ts';
import { loadSigningKey } from '../../node/index.ts';
import { TongbanError } from '../../errors/index.ts';
import { CONFIG_FILE_NAME } from '../../node/index.ts';
import { Refusal } from '../output.ts';

const NODE_CODE = /^(\d{6}|hub)$/;

/** The nodes a federation folder holds: the hub's folder and one folder per node division. */
function nodesIn(dir: string): NodeConfig[] {
  const found: NodeConfig[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry, CONFIG_FILE_NAME);
    if (!existsSync(path)) continue;
    try {
      found.push(loadConfig(path, {}));
    } catch {
      // A folder with a broken config is not a node we can address; the others still are.
    }
  }
  return found;
}

/**
 * Finds a node of a federation folder by division code ("hub" for the hub). Each way this can
 * fail gets its own message: a code that is not a code, a folder that does not exist, a code
 * that no node of the folder has (naming the ones it has).
 */
export function locateNode(federationDir: string, node: string): NodeConfig {
  if (!NODE_CODE.test(node)) {
    throw new TongbanError('BAD_REQUEST', `"${node}" is not a node code: give a six-digit division code, e.g. 522732, or "hub".`);
  }
  const dir = resolve(federationDir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new TongbanError(
      'CONFIG_INVALID',
      `There is no federation folder ${dir}. Start the demo there (npm start), or pass --federation <folder> naming the folder of the running federation.`,
    );
  }
  const nodes = nodesIn(dir);
  const match = nodes.find((c) => (node === 'hub' ? c.node.role === 'hub' : c.node.division === node));
  if (match) return match;
  const known = nodes.map((c) => `${c.node.role === 'hub' ? 'hub' : c.node.division} (${c.node.name})`).join(', ');
  throw new TongbanError(
    'CONFIG_INVALID',
    known
      ? `Node code ${node} is unknown in ${dir}; the nodes there are ${known}.`
      : `${dir} holds no node; is it the federation folder? Pass --federation <folder> naming the folder of the running federation.`,
  );
}

export function endpointOf(config: NodeConfig): string {
  return config.server.publicUrl ?? `http://${config.server.host}:${config.server.port}`;
}

export function operatorTokenOf(config: NodeConfig): string {
  return readFileSync(config.operatorTokenFile, 'utf8').trim();
}

export interface NodeCall {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly token: string;
  readonly body?: unknown;
}

/**
 * One call to a node's API as the CLI makes it. Before a token leaves, the server at the
 * configured address must present this node's signing key: a server of another federation on the
 * same ports (when --federation is missing or wrong) gets no token and is named as such (exit 2).
 * A problem answer becomes a Refusal (exit 1); a node that does not answer is said as such (exit 2).
 */
export async function callNode(config: NodeConfig, call: NodeCall): Promise<unknown> {
  const endpoint = endpointOf(config);
  await assertSameNode(config, endpoint);
  let response: Response;
  try {
    response = await fetch(new URL(call.path, endpoint), {
      method: call.method,
      headers: { authorization: `Bearer ${call.token}`, ...(call.body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch {
    throw unreachable(config, endpoint);
  }
  const text = await response.text();
  let json: { code?: unknown; detail?: unknown } & Record<string, unknown>;
  try {
    json = JSON.parse(text) as typeof json;
  } catch {
    throw new TongbanError('PEER_RESPONSE_INVALID', `The server at ${endpoint} did not answer as a Tongban node (HTTP ${response.status}).`);
  }
  if (response.ok) return json;
  const code = typeof json.code === 'string' ? json.code : `HTTP_${response.status}`;
  throw new Refusal(code, response.status, typeof json.detail === 'string' ? json.detail : `The node answered ${response.status}.`);
}

const unreachable = (config: NodeConfig, endpoint: string) =>
  new TongbanError('PEER_UNREACHABLE', `Node ${config.node.division} does not answer at ${endpoint}; is the federation of ${config.dir} running?`);

/** Endpoints already checked in this process (case wait polls). */
const checked = new Set<string>();

/**
 * Is the server at that address the node of this folder? It must list the node's signing key id.
 * This guards against misdirection (a stale folder, another federation on the same ports), not
 * against an active impostor: the key id is public.
 */
async function assertSameNode(config: NodeConfig, endpoint: string): Promise<void> {
  if (checked.has(endpoint)) return;
  let kids: string[] | undefined;
  try {
    const r = await fetch(new URL('/v1/node', endpoint), { signal: AbortSignal.timeout(10_000) });
    kids = ((await r.json()) as { keys?: Array<{ kid: string }> }).keys?.map((k) => k.kid);
  } catch {
    throw unreachable(config, endpoint);
  }
  if (!kids?.includes(loadSigningKey(config).kid)) {
    throw new TongbanError(
      'CONFIG_INVALID',
      `The server at ${endpoint} is not node ${config.node.division} of ${config.dir}: it belongs to another federation. Pass --federation <folder> naming the folder of the running federation.`,
    );
  }
  checked.add(endpoint);
}
