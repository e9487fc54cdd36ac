import { BIN, runTongban } from './support/cli.ts';
import { createServer } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import stringWidth from 'string-width';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { staffCaseActionNames } from '../src/cases/index.ts';
import { generateRegistries } from '../src/demo/registries.ts';
import { initNode, openNode, type NodeRuntime } from '../src/node/index.ts';
import { listenNode } from '../src/server/index.ts';
import { freePortRun } from './free-ports.ts';

const work = mkdtempSync(join(tmpdir(), 'tongban-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const tongban = (...args: string[]) => runTongban(args, { cwd: work });

const STACK_LINE = /^\s+at .+[:(]/m;

describe('tongban validate', () => {
  it.concurrent('prints {valid, errors, parsed} and exits 0 for a valid ID number', async () => {
    const r = await tongban('validate', 'id', '11010519491231002X', '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ valid: true, errors: [], parsed: { birthDate: '1949-12-31', sex: 'female' } });
  });

  it.concurrent('exits 1 with the reason for an invalid credit code', async () => {
    const r = await tongban('validate', 'uscc', '91370406L2489413SJ', '--json');
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.valid).toBe(false);
    expect(out.errors[0].code).toBe('CHARACTERS');
  });

  it.concurrent('validates an e-licence identifier', async () => {
    const r = await tongban('validate', 'license-id', '1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).parsed.serial).toBe('2430599');
  });
});

describe('tongban division', () => {
  it.concurrent('prints a division and its parents, by code and by name', async () => {
    const byCode = await tongban('division', '522732');
    expect(byCode.code).toBe(0);
    expect(byCode.stdout).toMatch(/^CODE\s+NAME\s+LEVEL\s+WITHIN/);
    expect(byCode.stdout).toMatch(/^522732 {2}三都水族自治县 {2}county {2}522700 黔南布依族苗族自治州 < 520000 贵州省/m);
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
    const show = await tongban('catalog', 'show', 'N022', '--json');
    expect(JSON.parse(show.stdout)).toMatchObject({ name: '购房提取住房公积金', modes: ['joint'] });
  });
});

describe('tongban init', () => {
  it('creates a node with config, a private key readable only by its owner, and a database', async () => {
    const dir = join(work, 'sandu');
    const r = await tongban('init', '--division', '522732', '--dir', dir, '--alg', 'SM2', '--role', 'hub', '--json');
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

    // The documented example file (docs/catalog.md).
    const local = new URL('../docs/examples/local-item.json', import.meta.url).pathname;
    const config1 = join(dir, 'tongban.config.json');
    const add = await tongban('catalog', 'add', '--config', config1, '--file', local, '--json');
    expect(JSON.parse(add.stdout)).toEqual({ code: 'L522732-001', added: true });
    const repeat = await tongban('catalog', 'add', '--config', config1, '--file', local, '--json');
    expect(JSON.parse(repeat.stdout)).toEqual({ code: 'L522732-001', added: false });
    const listed = await tongban('catalog', 'list', '--config', config1, '--scope', 'local', '--json');
    expect(JSON.parse(listed.stdout).map((i: { code: string }) => i.code)).toEqual(['L522732-001']);
    const shown = await tongban('catalog', 'show', 'L522732-001', '--config', config1);
    expect(shown.stdout).toMatch(/^name\s+务工人员返乡创业补贴申领$/m);
    expect(shown.stdout).toMatch(/^创业补贴申请表\s+electronic\s+yes$/m);
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
    // Usage errors exit 2, "no" answers 1 (README: Exit codes).
    const answeredNo = (args[0] === 'catalog' && args[1] === 'show') || (args[0] === 'validate' && args.length === 3 && ['id', 'uscc', 'license-id'].includes(args[1]!));
    expect(r.code).toBe(answeredNo ? 1 : 2);
    expect(r.stdout).not.toMatch(STACK_LINE);
    // One clear sentence (commander may add a usage line for a missing command).
    const text = (r.stderr || r.stdout).trim();
    expect(text.length).toBeGreaterThan(0);
  });
});

it.concurrent('federation up --replicas 2 of a federation on SQLite is refused in one sentence, before anything is created', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tongban-replicas-'));
  try {
    const file = join(dir, 'federation.json');
    writeFileSync(file, JSON.stringify({ dir: 'fed', portBase: 7700, nodes: [{ division: '522732' }] }));
    const r = await tongban('federation', 'up', file, '--replicas', '2');
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('tongban: The federation\'s settings are not valid: replicas: replicas of a server share one database: more than one needs "databaseUrl" (PostgreSQL).');
    expect(existsSync(join(dir, 'fed'))).toBe(false);
    const wrong = await tongban('federation', 'up', file, '--replicas', 'two');
    expect([wrong.code, wrong.stderr.trim()]).toEqual([2, 'tongban: --replicas two: a whole number from 1 to 16.']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('output for people', () => {
  it.concurrent('catalog list is a table under column headers, aligned in terminal columns with Chinese text', async () => {
    const r = await tongban('catalog', 'list', '--mode', 'joint');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^CODE\s+MODES\s+COMMITTED\s+STATUTORY\s+CONFIRMED\s+NAME\s+MINISTRY$/);
    const rows = lines.filter((l) => /^N\d{3} /.test(l));
    expect(rows.length).toBeGreaterThan(5);
    // The ministry column starts at the same terminal column in every row, after names of different widths.
    const column = stringWidth(lines[0]!.slice(0, lines[0]!.indexOf('MINISTRY')));
    for (const row of rows) expect(stringWidth(row.slice(0, row.search(/\S+$/))), row).toBe(column);
  });

  it.concurrent('catalog show is a record with its materials in a table', async () => {
    const r = await tongban('catalog', 'show', 'N022');
    expect(r.stdout).toMatch(/^name\s+购房提取住房公积金$/m);
    expect(r.stdout).toMatch(/^time limit\s+committed 20 wd, statutory 45 wd$/m);
    expect(r.stdout).toMatch(/^MATERIAL\s+KIND\s+REQUIRED$/m);
  });

  it.concurrent('validate prints a record; exit 0 valid, 1 invalid', async () => {
    const ok = await tongban('validate', 'id', '11010519491231002X');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^valid\s+yes$/m);
    expect(ok.stdout).toMatch(/^birthDate\s+1949-12-31$/m);
    const bad = await tongban('validate', 'uscc', '91370406L2489413SJ');
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^valid\s+no$/m);
    expect(bad.stdout).toMatch(/^problem\s+.*\(CHARACTERS\)$/m);
  });

  it.concurrent('a division code that is not in the table is a "no" (exit 1); no query at all is a usage error (exit 2)', async () => {
    const unknown = await tongban('division', '999999');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no division matches "999999"/);
    const none = await tongban('division');
    expect(none.code).toBe(2);
  });
});

describe('usage errors say what is wrong', () => {
  it.concurrent('a misspelt flag is named as unknown, with the right spelling, before any missing required option', async () => {
    const r = await tongban('case', 'receive', 'C-522732-ABCDEF', '--nod', '522732', '--shipment', 's1');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown option '--nod'/);
    expect(r.stderr).toMatch(/Did you mean --node\?/);
    expect(r.stderr).not.toMatch(/required option/);
  });

  it.concurrent('a required option left out is still reported as such', async () => {
    const r = await tongban('case', 'receive', 'C-522732-ABCDEF', '--shipment', 's1');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/required option '--node <code>' not specified/);
  });

  it.concurrent('a node code that is not a code says so', async () => {
    const r = await tongban('registry', 'sample', '--node', 'sandu', '--federation', work);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/"sandu" is not a node code/);
  });

  it.concurrent('a missing federation folder says so', async () => {
    const missing = join(work, 'no-such-federation');
    const r = await tongban('account', 'add', '--node', '522732', '--id', 'clerk-x', '--role', 'clerk', '--name', '王', '--federation', missing);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`There is no federation folder ${missing}`);
    expect(r.stderr).toMatch(/--federation <folder>/);
  });
});

describe('agreement templates and negotiation, for people', () => {
  it.concurrent('template show says the security duties and service levels in words, not JSON', async () => {
    const r = await tongban('template', 'show', 'labour-cooperation');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^security duties\s+incident notice within 24 h, received data kept 1095 days, encryption required, contacts: one per party, given at instantiation with --contact$/m);
    expect(r.stdout).toMatch(/^service levels\s+99\.5 % available, answers within 5 s$/m);
    expect(r.stdout).not.toContain('{');
  });

  it.concurrent('template instantiate --contact carries the template’s security duties into the terms; without contacts they are left out', async () => {
    const common = ['template', 'instantiate', 'national-baseline', '--node', '522732', '--partners', '320400', '--dry-run', '--valid-from', '2026-01-01T00:00:00.000Z'];
    const withContacts = await tongban(...common, '--contact', '522732:王工:0854-3921234', '--contact', '320400:李工');
    expect(withContacts.code, withContacts.stderr).toBe(0);
    expect(JSON.parse(withContacts.stdout).securityDuties).toEqual({
      contacts: [{ party: '522732', name: '王工', phone: '0854-3921234' }, { party: '320400', name: '李工' }],
      incidentNotificationHours: 24,
      retentionDays: 1095,
      encryptionRequired: true,
    });
    const without = await tongban(...common);
    expect(JSON.parse(without.stdout).securityDuties).toBeUndefined();
    const malformed = await tongban(...common, '--contact', '王工');
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toMatch(/--contact 王工: write <party>:<name>\[:<phone>\]/);
  });

  it.concurrent('agreement accept --round that is not a round number is a usage error (exit 2), before any node is asked', async () => {
    const r = await tongban('agreement', 'accept', '--node', '522732', '--negotiation', 'NEG-X', '--round', 'x', '--federation', '/nonexistent');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('tongban: x is not a round number.\n');
  });

  it.concurrent('a reader that stops early (| head, | true) ends the command quietly, without a stack trace', async () => {
    const { spawn } = await import('node:child_process');
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn('sh', ['-c', `"${process.execPath}" "${BIN}" catalog list | true; exit 0`], { cwd: work });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => resolve({ code, stderr }));
    });
    expect(r.stderr).not.toMatch(/EPIPE/);
    expect(r.stderr).not.toMatch(STACK_LINE);
  });
});

describe('case help', () => {
  it.concurrent('tongban case --help lists every step with the role and node that performs it', async () => {
    const r = await tongban('case', '--help');
    expect(r.code).toBe(0);
    // Commander wraps long descriptions; join the lines of each entry.
    const text = r.stdout.replace(/\n {20,}/g, ' ');
    for (const step of staffCaseActionNames) {
      const line = text.split('\n').find((l) => l.trimStart().startsWith(`${step} [options] <case>`));
      expect(line, step).toBeDefined();
      expect(line!, step).toMatch(/(clerk|approver|supervisor|applicant)( or \w+)? at (the accepting node|a competent node|the accepting or a competent node)/);
    }
    expect(text).toMatch(/ship \[options\] <case>\s+clerk at the accepting node \[proxy\]/);
    expect(text).toMatch(/apply \[options\]\s+clerk or applicant at the accepting node/);
    // Nobody needs an account at the node for the applicant: citizens sign in at the hub.
    expect(text).toMatch(/a person signed in at the hub \(tongban login\)/);
    expect(text).toMatch(/machine client of the node\s+\(tongban account add: one staff role\)/);
  });

  it.concurrent('each step has its own options, its role and node, its modes and an example', async () => {
    // Commander wraps long option descriptions; join the wrapped lines.
    const help = async (step: string) => ({ stdout: (await tongban('case', step, '--help')).stdout.replace(/\n {20,}/g, ' ') });
    const receive = await help('receive');
    expect(receive.stdout).toMatch(/^Who: +clerk or approver, acting at a competent node/m);
    expect(receive.stdout).toMatch(/^Modes: +proxy$/m);
    expect(receive.stdout).toMatch(/^Example: +npx tongban case receive <case> --node 330523 --shipment <shipment>/m);
    expect(receive.stdout).toMatch(/--shipment <id>.*\(required\)/);
    expect(receive.stdout).not.toMatch(/--outcome|--carrier|--result-code/);
    const decide = await help('decide');
    expect(decide.stdout).toMatch(/^Who: +approver, acting at a competent node/m);
    expect(decide.stdout).toMatch(/^Modes: +online, proxy, joint$/m);
    expect(decide.stdout).toMatch(/--outcome <outcome>.*\(choices: "grant", "refuse"\)/);
    expect(decide.stdout).toMatch(/--reason <text>.*\(required\)/);
    expect(decide.stdout).not.toMatch(/--shipment|--carrier/);
  });
});

describe('against a running server', () => {
  let runtime: NodeRuntime;
  let close: () => Promise<void>;
  const fedA = join(work, 'fed-a');
  const fedB = join(work, 'fed-b');

  beforeAll(async () => {
    const port = await freePortRun(1);
    const a = await initNode({ dir: join(fedA, 'hub'), division: '100000', role: 'hub', port });
    generateRegistries(join(fedA, 'hub', 'registries.sqlite'), { division: '522732', people: 5, businesses: 3 });
    // Another federation's hub, configured on the same port (as when --federation is left out).
    await initNode({ dir: join(fedB, 'hub'), division: '100000', role: 'hub', port });
    runtime = await openNode(a.configPath, { env: {}, log: () => {} });
    ({ close } = await listenNode(runtime));
  }, 60_000);
  afterAll(async () => {
    await close?.();
  });

  it('directory list prints a table, or says it is empty; --json keeps the shape', async () => {
    const r = await tongban('directory', 'list', '--federation', fedA);
    expect(r).toMatchObject({ code: 0, stdout: 'No node has enrolled yet.\n' });
    const json = await tongban('directory', 'list', '--federation', fedA, '--json');
    expect(JSON.parse(json.stdout)).toEqual({ nodes: [], total: 0 });
  });

  it('a node refusing a request exits 1 with its code and reason', async () => {
    const args = ['account', 'add', '--node', 'hub', '--federation', fedA, '--id', 'clerk-1', '--role', 'clerk', '--name', '王'];
    const first = await tongban(...args);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^token\s+\S{20,}$/m);
    const again = await tongban(...args);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('tongban: refused (VALIDATION_FAILED): An account clerk-1 already exists.\n');
  });

  it('account add refuses an applicant account: the node says citizens sign in at the hub (exit 1)', async () => {
    const r = await tongban('account', 'add', '--node', 'hub', '--federation', fedA, '--id', 'applicant-1', '--role', 'applicant', '--name', '张');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^tongban: refused \(VALIDATION_FAILED\): role: a machine client takes one staff role \(clerk, approver, supervisor, dataAdmin, operator\); citizens sign in at the hub/);
    expect(r.stdout).toBe('');
    // The option that carried the citizen's ID number is gone.
    const withIdNumber = await tongban('account', 'add', '--node', 'hub', '--federation', fedA, '--id', 'applicant-2', '--role', 'clerk', '--name', '张', '--id-number', '11010519491231002X');
    expect(withIdNumber.code).toBe(2);
    expect(withIdNumber.stderr).toMatch(/--id-number/);
  });

  it('a server on those ports that belongs to another federation is named as such (not "needs the token")', async () => {
    const r = await tongban('directory', 'list', '--federation', fedB);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is not node 100000 of .*fed-b.*another federation\. Pass --federation <folder>/);
    expect(r.stderr).not.toMatch(/needs the/);
  });

  it('no token is sent to a server that does not present the node\'s key', async () => {
    const port = await freePortRun(1);
    await initNode({ dir: join(work, 'fed-c', 'hub'), division: '100000', role: 'hub', port });
    const seen: string[] = [];
    const impostor = createServer((request, response) => {
      if (request.headers.authorization) seen.push(request.headers.authorization);
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify(request.url === '/v1/node' ? { division: '100000', name: 'x', role: 'hub', keys: [{ kid: '100000:other', alg: 'EdDSA', status: 'active', jwk: {} }] } : { nodes: [] }));
    });
    await new Promise<void>((resolve) => impostor.listen(port, '127.0.0.1', resolve));
    try {
      const r = await tongban('directory', 'list', '--federation', join(work, 'fed-c'));
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/is not node 100000 of .*fed-c/);
      expect(seen).toEqual([]);
    } finally {
      await new Promise((resolve) => impostor.close(resolve));
    }
  });

  it('an unknown node code in a federation folder is said to be unknown, naming the nodes there', async () => {
    const r = await tongban('registry', 'sample', '--node', '999999', '--federation', fedA);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Node code 999999 is unknown in .*fed-a; the nodes there are hub \(/);
    expect(r.stderr).not.toMatch(/start the federation/);
  });

  it('registry sample prints tables and explains the code tables', async () => {
    const r = await tongban('registry', 'sample', '--node', 'hub', '--federation', fedA, '--count', '3');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ID NUMBER\s+NAME\s+SEX\s+BORN\s+MARITAL STATUS$/m);
    expect(r.stdout).toMatch(/^\d{17}[\dX]\s+\S+\s+(male|female)\s+\d{4}-\d{2}-\d{2}\s+\d{2} \S+$/m);
    expect(r.stdout).toMatch(/marital status\s+GB\/T 2261\.2: 10 未婚, 20 已婚/);
    const json = JSON.parse((await tongban('registry', 'sample', '--node', 'hub', '--federation', fedA, '--json')).stdout);
    expect(json.people.length).toBeGreaterThan(0);
  });
});
