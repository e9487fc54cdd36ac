import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { userInfo, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePortRun } from '../free-ports.ts';

/**
 * A PostgreSQL server of the test's own: initdb in a temporary folder, on a free port, trust
 * authentication, stopped and deleted afterwards. Tests that stop or restart PostgreSQL use
 * this one and never touch a server they did not start.
 */
export interface PrivatePostgres {
  readonly url: string;
  readonly port: number;
  /** `pg_ctl restart -m fast`: every connection is cut, the server comes back (asynchronous: load goes on meanwhile). */
  restart(): Promise<void>;
  stop(): void;
}

/** The newest installed PostgreSQL's bin folder (Debian layout, or initdb on the PATH). */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(a) - Number(b));
    if (versions.length > 0) return join(root, versions.at(-1)!, 'bin');
  }
  try {
    const initdb = execFileSync('which', ['initdb'], { encoding: 'utf8' }).trim();
    return initdb ? initdb.replace(/\/initdb$/, '') : undefined;
  } catch {
    return undefined;
  }
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('initdb and pg_ctl are not installed (looked in /usr/lib/postgresql/*/bin and on the PATH)');
  const dir = mkdtempSync(join(tmpdir(), 'tongban-pg-'));
  const data = join(dir, 'data');
  // initdb refuses to run as root: run the server as the postgres system user then.
  const asRoot = userInfo().uid === 0;
  if (asRoot) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()), Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()));
  const commandOf = (tool: string, args: string[]): [string, string[]] => (asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]] : [join(bin, tool), args]);
  const run = (tool: string, args: string[]) => {
    const [command, all] = commandOf(tool, args);
    execFileSync(command, all, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
  };
  // Restarted on the same port: taken below the ephemeral range.
  const port = await freePortRun(1);
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off`;
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  run('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
  let stopped = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    restart: async () => {
      const [command, all] = commandOf('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'server.log'), '-m', 'fast', '-w', '-t', '60', 'restart']);
      await promisify(execFile)(command, all, { timeout: 120_000 });
    },
    stop: () => {
      if (stopped) return;
      stopped = true;
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
