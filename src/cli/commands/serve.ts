import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { CONFIG_FILE_NAME, initNode, openNode } from '../../node/index.ts';
import { buildServer } from '../../server/index.ts';
import { parsePort } from './init.ts';

/** Runs a node until SIGINT or SIGTERM, then closes the server and the database cleanly. */
export async function serveNode(configPath: string, overrides: { port?: number; host?: string } = {}): Promise<void> {
  const runtime = await openNode(configPath);
  const app = await buildServer({ runtime });
  const port = overrides.port ?? runtime.config.server.port;
  const host = overrides.host ?? runtime.config.server.host;
  try {
    await app.listen({ port, host });
  } catch (error) {
    await runtime.close();
    throw error;
  }
  const { division, name, role } = runtime.config.node;
  const address = app.server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  process.stdout.write(`tongban ${role} ${division} ${name} listening on http://${host}:${actualPort} (store: ${runtime.store.dialect})\n`);
  const stop = async () => {
    await app.close();
    await runtime.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

export function serveCommand(program: Command): void {
  program
    .command('serve')
    .description('run one node (or the hub) from its config file')
    .option('--config <path>', 'the node config', CONFIG_FILE_NAME)
    .option('--port <port>', 'override the configured port', parsePort)
    .option('--host <host>', 'override the configured address')
    .action(async (options: { config: string; port?: number; host?: string }) => {
      await serveNode(options.config, {
        ...(options.port !== undefined ? { port: options.port } : {}),
        ...(options.host ? { host: options.host } : {}),
      });
    });

  program
    .command('demo')
    .description('run the demo (what `npm start` runs): for now one node, 三都水族自治县 522732, on embedded SQLite')
    .option('--dir <path>', 'where the demo keeps its files', 'var/demo')
    .option('--port-base <port>', 'first port (the demo node takes port-base + 1)', parsePort, 7700)
    .action(async (options: { dir: string; portBase: number }) => {
      const nodeDir = join(options.dir, '522732');
      if (!existsSync(join(nodeDir, CONFIG_FILE_NAME))) {
        await initNode({ dir: nodeDir, division: '522732', port: options.portBase + 1 });
      }
      await serveNode(join(nodeDir, CONFIG_FILE_NAME), { port: options.portBase + 1 });
    });
}
