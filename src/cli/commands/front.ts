import type { Command } from 'commander';
import { startFront } from '../../front/front.ts';
import { portInUseMessage } from '../../federation/ports.ts';
import { TongbanError } from '../../errors/index.ts';
import { parsePort } from '../output.ts';

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/** Runs a round-robin front before replicas of one node until SIGINT or SIGTERM. */
export function frontCommand(program: Command): void {
  program
    .command('front')
    .description('a round-robin HTTP front before several replicas of one node (docs/deployment.md)')
    .requiredOption('--port <port>', 'where the front listens: the port of the node\'s server.publicUrl', parsePort)
    .option('--host <host>', 'the address it listens on', '127.0.0.1')
    .requiredOption('--backend <url>', 'a replica (http://host:port of a `tongban serve`); repeat for each', collect)
    .action(async (options: { port: number; host: string; backend: string[] }) => {
      for (const b of options.backend) {
        if (!URL.canParse(b) || new URL(b).protocol !== 'http:') throw new TongbanError('CONFIG_INVALID', `--backend ${b}: an http://host:port URL of a replica is expected.`);
      }
      const front = await startFront({ backends: options.backend, port: options.port, host: options.host, log: (m) => process.stderr.write(m + '\n') }).catch((error: unknown) => {
        if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new TongbanError('CONFIG_INVALID', `Cannot listen: ${portInUseMessage(options.port)}.`);
        throw error;
      });
      process.stdout.write(`tongban front listening on ${front.endpoint}, round-robin over ${options.backend.join(', ')}\n`);
      let stopping = false;
      const stop = async () => {
        if (stopping) return;
        stopping = true;
        await front.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop());
      process.once('SIGTERM', () => void stop());
    });
}
