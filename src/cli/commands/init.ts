import { Option, type Command } from 'commander';
import { PublicJwk } from '../../crypto/index.ts';
import { isTongbanError, TongbanError } from '../../errors/index.ts';
import { firstFreePort, portInUseMessage, portIsFree } from '../../federation/ports.ts';
import { initNode } from '../../node/index.ts';
import { parsePort, printJson, printLines, printRecord } from '../output.ts';

export function initCommand(program: Command): void {
  program
    .command('init')
    .description('create a node: config file, signing key pair and database')
    .requiredOption('--division <code>', 'GB/T 2260 division code of the jurisdiction (100000 for the national hub)')
    .option('--name <name>', 'display name (defaults to the division name)')
    .addOption(new Option('--role <role>', 'node or hub').choices(['node', 'hub']).default('node'))
    .addOption(new Option('--alg <algorithm>', 'signing algorithm').choices(['Ed25519', 'SM2']).default('Ed25519'))
    .option('--dir <path>', 'folder for the node (default ./nodes/<division>)')
    .option('--port <port>', 'HTTP port (default 7700 for a hub, 7701 for a node)', parsePort)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--database <url>', 'postgres://… or an SQLite path (default: data/node.sqlite in the node folder)')
    .option('--hub-url <url>', "the hub's base URL (a node pins the hub's current signing key from it)")
    .option('--hub-kid <kid>', 'refuse to pin unless the hub presents this key id (compare it out of band)')
    .option('--json', 'print the new node as JSON')
    .action(
      async (options: {
        division: string;
        name?: string;
        role: 'node' | 'hub';
        alg: 'Ed25519' | 'SM2';
        dir?: string;
        port?: number;
        host: string;
        database?: string;
        hubUrl?: string;
        hubKid?: string;
        json?: boolean;
      }) => {
        const hub = options.hubUrl ? await pinHub(options.hubUrl, options.hubKid) : undefined;
        if (hub) await refuseEnrolledDivision(hub.url, options.division);
        const port = await choosePort(options.host, options.port, options.role === 'hub' ? 7700 : 7701);
        const result = await initNode({
          dir: options.dir ?? `nodes/${options.division}`,
          division: options.division,
          role: options.role,
          algorithm: options.alg,
          host: options.host,
          ...(options.name ? { name: options.name } : {}),
          port,
          ...(options.database ? { databaseUrl: options.database } : {}),
          ...(hub ? { hub } : {}),
        }).catch((error: unknown) => {
          // The config's own sentence, plus the option that supplies what is missing.
          if (isTongbanError(error) && error.errors?.length === 1 && error.errors[0]!.path === 'hub') {
            throw new TongbanError('VALIDATION_FAILED', "A node needs the hub it joins: pass --hub-url <the hub's URL> (the demo's hub is http://127.0.0.1:7700).");
          }
          throw error;
        });
        if (options.json) return printJson({ ...result, port });
        printRecord([
          ['node', `${result.division} ${result.name} (${result.role})`],
          ['config', result.configPath],
          ['signing key', `${result.kid} (${result.algorithm})`],
          ['database', result.database],
          ['port', String(port)],
        ]);
        printLines(['', `Run it with: npx tongban serve --config ${result.configPath}`]);
      },
    );
}

/**
 * The port a new node listens on: the one asked for, if free, or else the first free one from
 * the default (a node set up next to a running demo must not take one of its ports).
 */
async function choosePort(host: string, asked: number | undefined, fallback: number): Promise<number> {
  if (asked !== undefined) {
    if (asked !== 0 && !(await portIsFree(host, asked))) {
      throw new TongbanError('VALIDATION_FAILED', `Cannot use port ${asked}: ${portInUseMessage(asked)}. Choose another with --port.`);
    }
    return asked;
  }
  const port = await firstFreePort(host, fallback);
  if (port === undefined) throw new TongbanError('VALIDATION_FAILED', `No free port from ${fallback} on; choose one with --port.`);
  return port;
}

/** A region joins once: a division the hub's directory already lists is refused before any key is made. */
async function refuseEnrolledDivision(hubUrl: string, division: string): Promise<void> {
  let nodes: Array<{ division?: string; name?: string }> = [];
  try {
    const response = await fetch(new URL('/v1/directory/snapshot', hubUrl), { signal: AbortSignal.timeout(5000) });
    const { snapshot } = (await response.json()) as { snapshot?: string };
    // Only to warn early: the payload is read, not verified (enrolment at the hub decides).
    const payload = JSON.parse(Buffer.from(snapshot?.split('.')[1] ?? '', 'base64url').toString('utf8')) as { nodes?: typeof nodes };
    nodes = payload.nodes ?? [];
  } catch {
    return;
  }
  const taken = nodes.find((n) => n.division === division);
  if (taken) {
    throw new TongbanError(
      'NODE_ALREADY_ENROLLED',
      `Division ${division} (${taken.name ?? division}) is already in the hub's directory under another key; a new node needs a division of its own (--division).`,
    );
  }
}

/** Fetches the hub's public key to pin it as this node's trust anchor. */
async function pinHub(url: string, expectedKid: string | undefined): Promise<{ url: string; kid: string; jwk: PublicJwk }> {
  let body: { role?: string; keys?: Array<{ kid: string; status: string; jwk: unknown }> };
  try {
    const response = await fetch(new URL('/v1/node', url), { signal: AbortSignal.timeout(5000) });
    body = (await response.json()) as typeof body;
  } catch {
    throw new TongbanError('HUB_UNREACHABLE', `The hub does not answer at ${url}.`);
  }
  const key = body.keys?.find((k) => k.status === 'active');
  if (body.role !== 'hub' || !key) throw new TongbanError('CONFIG_INVALID', `${url} is not a Tongban hub.`);
  if (expectedKid && key.kid !== expectedKid) {
    throw new TongbanError('CONFIG_INVALID', `The hub at ${url} presents key ${key.kid}, not ${expectedKid}; refusing to pin it.`);
  }
  return { url, kid: key.kid, jwk: PublicJwk.parse(key.jwk) };
}
