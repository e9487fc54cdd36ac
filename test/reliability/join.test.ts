import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { alive, BIN, eventually, spawnCli, summaryPids, tongban, type CliProcess } from './support.ts';
import { freePortRun } from '../free-ports.ts';

/**
 * "Joining a running federation" exactly as the README shows it: the commands are read from
 * the README's own section (ports moved to free ones), so the document cannot rot.
 */
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'tongban-join-'));
const started: CliProcess[] = [];
afterAll(async () => {
  for (const p of started) {
    p.proc.kill('SIGTERM');
    await p.exited;
  }
  rmSync(work, { recursive: true, force: true });
});

/** The `npx tongban …` lines of the README's "Joining a running federation" block. */
function readmeCommands(): string[] {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('Joining a running federation'));
  if (!section) throw new Error('README.md has no "Joining a running federation" section');
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  return block
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line.startsWith('npx tongban '));
}

describe('a new region joins the running demo with the README commands', () => {
  it('init, serve, approve, sign by both parties, submit, exchange; the demo then restarts with the new node enrolled', async () => {
    const commands = readmeCommands();
    expect(commands.length).toBeGreaterThanOrEqual(7);
    // Six ports: the demo's five and the new node's (7705 in the README).
    const base = await freePortRun(6);
    const port = (readme: string) => readme.replace(/\b770(\d)\b/g, (_m, i: string) => String(base + Number(i)));
    mkdirSync(join(work, 'docs', 'examples'), { recursive: true });
    cpSync(join(REPO, 'docs', 'examples'), join(work, 'docs', 'examples'), { recursive: true });

    const demo = spawnCli(process.execPath, [BIN, 'demo', '--port-base', String(base), '--cases', '0'], work);
    started.push(demo);
    await demo.waitFor(/Press Ctrl\+C/);

    let subject = '';
    for (const command of commands) {
      const background = command.endsWith('&');
      const args = port(command.replace(/&$/, '').trim())
        .replace(/^npx tongban /, '')
        .replace(/<[^>]+>/g, subject)
        .split(/\s+/);
      if (background) {
        const server = spawnCli(process.execPath, [BIN, ...args], work);
        started.push(server);
        await server.waitFor(/ listening on /);
        continue;
      }
      // The README shows the commands as people run them (tables); the test reads what it needs as JSON.
      const reads = args[0] === 'registry' || args[0] === 'exchange';
      const r = await tongban(reads ? [...args, '--json'] : args, work);
      expect(r.code, `${command}\n${r.stderr}`).toBe(0);
      if (args[0] === 'registry') subject = JSON.parse(r.stdout).people[0].idNumber;
      if (args[0] === 'exchange') {
        const answer = JSON.parse(r.stdout);
        expect(answer).toMatchObject({ ok: true });
        expect(answer.data.idNumber).toBe(subject);
      }
    }
    expect(subject).not.toBe('');

    // The demo restarts with another node enrolled at its hub, and the newcomer still exchanges.
    const pids = summaryPids(demo.stdout());
    demo.proc.kill('SIGTERM');
    expect(await demo.exited).toBe(0);
    expect(await eventually(() => pids.every((pid) => !alive(pid)), 20_000)).toBe(true);
    const again = spawnCli(process.execPath, [BIN, 'demo', '--port-base', String(base), '--cases', '0'], work);
    started.push(again);
    await again.waitFor(/Press Ctrl\+C/);
    const exchange = port(commands.find((c) => c.includes('exchange request'))!)
      .replace(/^npx tongban /, '')
      .replace(/<[^>]+>/g, subject)
      .split(/\s+/);
    const r = await tongban([...exchange, '--json'], work);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true });
  }, 300_000);
});
