import type { Command } from 'commander';
import { TongbanError } from '../../errors/index.ts';
import { EXIT_WITH_PARENT_ENV } from '../../federation/servers.ts';
import { portInUseMessage } from '../../federation/ports.ts';
import { CONFIG_FILE_NAME, openNode } from '../../node/index.ts';
import { listenNode } from '../../server/index.ts';
import { describeDatabase } from '../../store/index.ts';
import { parsePort } from '../output.ts';

/** Runs a node until SIGINT or SIGTERM, then closes the server and the database cleanly. */
export async function serveNode(configPath: string, overrides: { port?: number; host?: string; readDatabase?: string } = {}): Promise<void> {
  const runtime = await openNode(configPath, overrides.readDatabase !== undefined ? { readDatabaseUrl: overrides.readDatabase } : {});
  const handle = await listenNode(runtime, overrides).catch(async (error: unknown) => {
    await runtime.close();
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      const port = overrides.port ?? runtime.config.server.port;
      throw new TongbanError('CONFIG_INVALID', `Cannot listen: ${portInUseMessage(port)}. Stop what holds it, or choose another port (--port, or server.port in ${configPath}).`);
    }
    throw error;
  });
  const { division, name, role } = runtime.config.node;
  const reads = runtime.readStore === runtime.store ? '' : `, reads: ${describeDatabase(overrides.readDatabase ?? runtime.config.database.readUrl ?? '')}`;
  process.stdout.write(`tongban ${role} ${division} ${name} listening on ${handle.endpoint} (store: ${runtime.store.dialect}${reads})\n`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await handle.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  // Started by `tongban federation up` / `npm start`: stdin is the parent's lifeline; when it
  // closes the parent is gone (even after kill -9), and this server must not outlive it.
  if (process.env[EXIT_WITH_PARENT_ENV] === '1') {
    process.stdin.on('close', () => void stop());
    process.stdin.on('end', () => void stop());
    process.stdin.resume();
  }
}

export function serveCommand(program: Command): void {
  program
    .command('serve')
    .description('run one node (or the hub) from its config file')
    .option('--config <path>', 'the node config', CONFIG_FILE_NAME)
    .option('--port <port>', 'override the configured port', parsePort)
    .option('--host <host>', 'override the configured address')
    .option('--read-database <url>', 'a PostgreSQL read replica for the data tracker and the dashboards (overrides database.readUrl; without either, the primary serves them)')
    .action(async (options: { config: string; port?: number; host?: string; readDatabase?: string }) => {
      await serveNode(options.config, {
        ...(options.port !== undefined ? { port: options.port } : {}),
        ...(options.host ? { host: options.host } : {}),
        ...(options.readDatabase !== undefined ? { readDatabase: options.readDatabase } : {}),
      });
    });
}
