import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = new URL('../bin/tongban.js', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'tongban-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function tongban(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: work, env: { ...process.env, TONGBAN_DEBUG: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const STACK_LINE = /^\s+at .+[:(]/m;

describe('tongban validate', () => {
  it.concurrent('prints {valid, errors, parsed} and exits 0 for a valid ID number', async () => {
    const r = await tongban('validate', 'id', '11010519491231002X');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ valid: true, errors: [], parsed: { birthDate: '1949-12-31', sex: 'female' } });
  });

  it.concurrent('exits 1 with the reason for an invalid credit code', async () => {
    const r = await tongban('validate', 'uscc', '91370406L2489413SJ');
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.valid).toBe(false);
    expect(out.errors[0].code).toBe('CHARACTERS');
  });

  it.concurrent('validates an e-licence identifier', async () => {
    const r = await tongban('validate', 'license-id', '1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).parsed.serial).toBe('2430599');
  });
});

describe('tongban division', () => {
  it.concurrent('prints a division and its parents, by code and by name', async () => {
    const byCode = await tongban('division', '522732');
    expect(byCode.code).toBe(0);
    expect(byCode.stdout).toContain('522732 三都水族自治县 (county) < 522700 黔南布依族苗族自治州 < 520000 贵州省');
    const byName = await tongban('division', '安吉', '--json');
    expect(JSON.parse(byName.stdout).results[0].chain.map((d: { code: string }) => d.code)).toEqual(['330523', '330500', '330000']);
  });

  it.concurrent('--source prints the data source and its date', async () => {
    const r = await tongban('division', '--source', '--json');
    const out = JSON.parse(r.stdout);
    expect(out.version).toBe('2024-12');
    expect(out.sources[0].data).toContain('2023');
  });
});

describe('tongban catalog', () => {
  it.concurrent('lists the national items and shows one', async () => {
    const list = await tongban('catalog', 'list', '--json');
    expect(JSON.parse(list.stdout)).toHaveLength(44);
    const show = await tongban('catalog', 'show', 'N022');
    expect(JSON.parse(show.stdout)).toMatchObject({ name: '购房提取住房公积金', modes: ['joint'] });
  });
});

describe('tongban init', () => {
  it('creates a node with config, a private key readable only by its owner, and a database', async () => {
    const dir = join(work, 'sandu');
    const r = await tongban('init', '--division', '522732', '--dir', dir, '--alg', 'SM2', '--role', 'hub');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ division: '522732', name: '三都水族自治县', role: 'hub', algorithm: 'SM2' });
    expect(out.kid).toMatch(/^522732:/);
    const config = JSON.parse(readFileSync(join(dir, 'tongban.config.json'), 'utf8'));
    expect(config.keys.algorithm).toBe('SM2');
    for (const secret of ['signing-key.json', 'encryption-key.json', 'audit-key', 'operator-token', 'admin-token']) {
      expect(statSync(join(dir, 'keys', secret)).mode & 0o077).toBe(0);
    }
    expect(existsSync(join(dir, 'data', 'node.sqlite'))).toBe(true);

    const again = await tongban('init', '--division', '522732', '--dir', dir);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already set up/);

    const local = join(work, 'item.json');
    writeFileSync(
      local,
      JSON.stringify({
        localNumber: '001',
        name: '务工人员返乡创业补贴申领',
        ministry: '三都县人社局',
        audience: 'individual',
        modes: ['online'],
        dataElements: ['idNumber', 'name'],
        timeLimit: { kind: 'promised', statutoryDays: 20, committedDays: 5, unit: 'working' },
      }),
    );
    const config1 = join(dir, 'tongban.config.json');
    const add = await tongban('catalog', 'add', '--config', config1, '--file', local);
    expect(JSON.parse(add.stdout)).toEqual({ code: 'L522732-001', added: true });
    const repeat = await tongban('catalog', 'add', '--config', config1, '--file', local);
    expect(JSON.parse(repeat.stdout)).toEqual({ code: 'L522732-001', added: false });
    const listed = await tongban('catalog', 'list', '--config', config1, '--scope', 'local', '--json');
    expect(JSON.parse(listed.stdout).map((i: { code: string }) => i.code)).toEqual(['L522732-001']);
  });

  it('refuses a node without a hub to pin, and an unreachable hub, leaving nothing behind', async () => {
    const noHub = await tongban('init', '--division', '330523', '--dir', join(work, 'anji'));
    expect(noHub.code).toBe(2);
    expect(noHub.stderr).toMatch(/needs the hub/);
    const deadHub = await tongban('init', '--division', '330523', '--dir', join(work, 'anji'), '--hub-url', 'http://127.0.0.1:9');
    expect(deadHub.code).toBe(2);
    expect(deadHub.stderr).toMatch(/does not answer/);
    expect(existsSync(join(work, 'anji'))).toBe(false);
  });

  it('refuses an unknown or abolished division and leaves nothing behind', async () => {
    for (const division of ['999999', '310108']) {
      const dir = join(work, 'bad-' + division);
      const r = await tongban('init', '--division', division, '--dir', dir);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(division === '310108' ? /abolished/ : /not a GB\/T 2260 division code/);
      expect(existsSync(dir)).toBe(false);
    }
  });
});

describe('bad input never produces a stack trace', () => {
  const cases: Array<[string, string[]]> = [
    ['no command', []],
    ['unknown command', ['frobnicate']],
    ['unknown validate kind', ['validate', 'passport', 'E1234567']],
    ['missing value', ['validate', 'id']],
    ['empty value', ['validate', 'id', '']],
    ['huge value', ['validate', 'uscc', 'A'.repeat(100_000)]],
    ['control characters', ['validate', 'license-id', '\u0001\u0007\uFFFD']],
    ['unknown option', ['division', '--frob']],
    ['empty division query', ['division', '']],
    ['unknown item', ['catalog', 'show', 'N999']],
    ['missing config', ['catalog', 'list', '--config', '/nonexistent/tongban.config.json']],
    ['config that is not JSON', ['serve', '--config', BIN]],
    ['bad port', ['init', '--division', '522732', '--port', 'seventy']],
    ['bad algorithm', ['init', '--division', '522732', '--alg', 'RSA']],
    ['missing division', ['init']],
    ['catalog add without file', ['catalog', 'add', '--config', 'x.json']],
    ['catalog add with unreadable file', ['catalog', 'add', '--config', 'x.json', '--file', '/nonexistent.json']],
    ['exchange without a running federation', ['exchange', 'request', '--from', '330523', '--to', '522732', '--service', 'household.residence-proof', '--subject', '11010519491231002X', '--purpose', 'x', '--federation', '/nonexistent']],
    ['exchange with an unknown service', ['exchange', 'request', '--from', '330523', '--to', '522732', '--service', 'nope', '--subject', '1', '--purpose', 'x']],
    ['audit verify of an unknown node', ['audit', 'verify', '--node', '999999', '--federation', '/nonexistent']],
    ['federation up with a missing file', ['federation', 'up', '/nonexistent/federation.json']],
    ['registry sample of an unknown node', ['registry', 'sample', '--node', '999999', '--federation', '/nonexistent']],
  ];
  it.concurrent.each(cases)('%s', async (_name, args) => {
    const r = await tongban(...args);
    expect(r.stderr).not.toMatch(STACK_LINE);
    expect(r.stdout).not.toMatch(STACK_LINE);
    expect(r.code === 1 || r.code === 2 || (args.length === 0 && r.code !== 0)).toBe(true);
    // One clear sentence (commander may add a usage line for a missing command).
    const text = (r.stderr || r.stdout).trim();
    expect(text.length).toBeGreaterThan(0);
  });
});
