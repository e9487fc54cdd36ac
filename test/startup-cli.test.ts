import { runTongban } from './support/cli.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portIsFree } from '../src/federation/index.ts';
import { freePortRun } from './free-ports.ts';

/** Start-up commands facing a port someone else holds: they fail, and say which and by whom. */
const work = mkdtempSync(join(tmpdir(), 'tongban-ports-'));
let holder: Server;
let taken: number;

beforeAll(async () => {
  taken = await freePortRun(1);
  holder = createServer();
  await new Promise<void>((resolve) => holder.listen(taken, '127.0.0.1', resolve));
});
afterAll(async () => {
  await new Promise((resolve) => holder.close(resolve));
  rmSync(work, { recursive: true, force: true });
});

const tongban = (...args: string[]) => runTongban(args, { cwd: work });

describe('ports in use', () => {
  it('tongban demo fails non-zero before starting anything, naming the port and the process holding it', async () => {
    const r = await tongban('demo', '--dir', join(work, 'demo'), '--port-base', String(taken));
    expect(r.code).not.toBe(0);
    expect(r.stdout).not.toMatch(/Federation up/);
    expect(r.stderr).toContain(`port ${taken} is in use (pid ${process.pid}`);
  });

  it('tongban init refuses a --port in use, naming its holder; without --port it takes a free one', async () => {
    const hub = await tongban('init', '--division', '100000', '--role', 'hub', '--dir', join(work, 'hub'), '--port', String(taken));
    expect(hub.code).toBe(2);
    expect(hub.stderr).toContain(`port ${taken} is in use (pid ${process.pid}`);
    expect(hub.stderr).toContain('--port');
    const free = await tongban('init', '--division', '100000', '--role', 'hub', '--dir', join(work, 'hub'), '--json');
    expect(free.code).toBe(0);
    expect(await portIsFree('127.0.0.1', JSON.parse(free.stdout).port)).toBe(true);
  });

  it('tongban serve on a port in use exits non-zero naming the port and its holder', async () => {
    const r = await tongban('serve', '--config', join(work, 'hub', 'tongban.config.json'), '--port', String(taken));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`port ${taken} is in use (pid ${process.pid}`);
  });
});
