import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The published package: `npm pack` of this tree, installed into an empty folder the way a user
 * would, runs its `tongban` binary from the compiled dist/ with only the runtime dependencies
 * (no tsx, no TypeScript, no sources). The vitest global set-up has just built dist/.
 * Dependencies' install scripts are skipped: compiling better-sqlite3 again takes minutes and is
 * not what this checks (the commands below open no database).
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'tongban-pack-'));
const npm = (args: string[], cwd: string) =>
  execFileSync('npm', args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' } });
let files: string[] = [];

beforeAll(() => {
  const packed = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', work], root)) as { filename: string; files: { path: string }[] }[];
  files = packed[0]!.files.map((f) => f.path);
  const app = join(work, 'app');
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'tongban-pack-check', private: true }));
  npm(['install', '--ignore-scripts', '--prefer-offline', '--no-package-lock', join(work, packed[0]!.filename)], app);
}, 600_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

const tongban = (...args: string[]) =>
  execFileSync('npx', ['--no', '--', 'tongban', ...args], { cwd: join(work, 'app'), encoding: 'utf8', env: { ...process.env, TONGBAN_DEBUG: '' } });

describe('npm pack', () => {
  it('ships the compiled build, the built web console, its data and the SM2 worker, and neither sources nor tests', () => {
    expect(files).toContain('dist/cli/main.js');
    expect(files).toContain('dist/cli/main.d.ts');
    expect(files).toContain('dist/crypto/sm2-worker.mjs');
    expect(files).toContain('data/divisions/gb2260.json');
    expect(files.filter((f) => f.startsWith('src/') || f.startsWith('test/') || f.endsWith('.test.js'))).toEqual([]);
    expect(files).not.toContain('dist/.tsbuildinfo');
    // The web console, built (the nodes serve dist/console at /console/), never its sources.
    expect(files).toContain('dist/console/index.html');
    expect(files.some((f) => /^dist\/console\/assets\/index-[\w-]+\.js$/.test(f))).toBe(true);
    expect(files.filter((f) => f.startsWith('console/'))).toEqual([]);
    expect(files).not.toContain('dist/.console-build');
  });

  it('installs without tsx and its tongban binary validates an ID number and prints its help', () => {
    const modules = join(work, 'app', 'node_modules');
    expect(existsSync(join(modules, 'tongban', 'dist', 'cli', 'main.js'))).toBe(true);
    expect(readdirSync(modules)).not.toContain('tsx');
    expect(readdirSync(modules)).not.toContain('typescript');
    const checked = JSON.parse(tongban('validate', 'id', '11010519491231002X', '--json')) as { valid: boolean; parsed: { addressCode: string } };
    expect(checked).toMatchObject({ valid: true, parsed: { addressCode: '110105' } });
    expect(tongban('--help')).toMatch(/Usage: tongban/);
  });
});
