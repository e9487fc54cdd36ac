import { Option, type Command } from 'commander';
import { initNode } from '../../node/index.ts';
import { printJson } from '../output.ts';

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
    .option('--hub-url <url>', "the hub's base URL")
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
      }) => {
        const result = await initNode({
          dir: options.dir ?? `nodes/${options.division}`,
          division: options.division,
          role: options.role,
          algorithm: options.alg,
          host: options.host,
          ...(options.name ? { name: options.name } : {}),
          ...(options.port !== undefined ? { port: options.port } : {}),
          ...(options.database ? { databaseUrl: options.database } : {}),
          ...(options.hubUrl ? { hubUrl: options.hubUrl } : {}),
        });
        printJson(result);
      },
    );
}

export function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`"${value}" is not a port number (0–65535).`);
  }
  return port;
}
