import type { Command } from 'commander';
import { CONFIG_FILE_NAME, openNode } from '../../node/index.ts';
import { listenNode } from '../../server/index.ts';
import { parsePort } from './init.ts';

/** Runs a node until SIGINT or SIGTERM, then closes the server and the database cleanly. */
export async function serveNode(configPath: string, overrides: { port?: number; host?: string } = {}): Promise<void> {
  const runtime = await openNode(configPath);
  const handle = await listenNode(runtime, overrides).catch(async (error: unknown) => {
    await runtime.close();
    throw error;
  });
  const { division, name, role } = runtime.config.node;
  process.stdout.write(`tongban ${role} ${division} ${name} listening on ${handle.endpoint} (store: ${runtime.store.dialect})\n`);
  const stop = async () => {
    await handle.close();
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
}
