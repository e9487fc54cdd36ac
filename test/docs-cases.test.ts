import { runTongban } from './support/cli.ts';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePortRun } from './free-ports.ts';
import { DEMO_PASSWORD } from '../src/federation/index.ts';
import { startTestFederation, type TestFederation } from './support/federation.ts';
import { deviceLogin, field, fillPlaceholders, shCommands, words } from './support/docs.ts';

/**
 * docs/cases.md cannot rot: every command of its ```sh blocks runs, in order, against a running
 * federation, with the placeholders filled from earlier outputs exactly as the page says.
 */
const DOC = readFileSync(new URL('../docs/cases.md', import.meta.url), 'utf8');

/** The CLI as a person at the terminal of `cwd`: its own token folder (TONGBAN_HOME), never the tester's. */
const env = (cwd: string, token: string) => ({ TONGBAN_TOKEN: token, TONGBAN_HOME: join(cwd, 'home', 'tongban') });
const run = (cwd: string, args: string[], token = '') => runTongban(args, { cwd, env: env(cwd, token) });

const login = (cwd: string, args: string[], who: string, password: string) => deviceLogin(args, { cwd, env: env(cwd, '') }, who, password);

describe('docs/cases.md', () => {
  let t: TestFederation;
  let cwd: string;
  beforeAll(async () => {
    // Fixed ports (free ones found now), so the CLI finds each node where its config says.
    // The demo's people (npm start enrols them): the applicant signs in at the hub as one of its citizens.
    t = await startTestFederation('sqlite', { portBase: await freePortRun(5), directory: { refreshSeconds: 0.5, snapshotTtlSeconds: 600 }, demoPeople: { password: DEMO_PASSWORD } });
    // The page's commands use the default folder, var/demo: here it is the running test federation.
    cwd = mkdtempSync(join(tmpdir(), 'tongban-docs-'));
    mkdirSync(join(cwd, 'var'));
    symlinkSync(t.f.dir, join(cwd, 'var', 'demo'));
  }, 120_000);
  afterAll(async () => {
    await t?.stop();
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  it('has commands for all three modes, each under its own heading', () => {
    for (const mode of ['online', 'proxy', 'joint']) {
      const section = DOC.split(/^## /m).find((s) => s.toLowerCase().startsWith(mode));
      expect(section, `a "## ${mode}" section`).toBeDefined();
      expect(shCommands(section!).some((c) => c.includes(`case apply`) && c.includes(`--mode ${mode}`))).toBe(true);
    }
  });

  it('every command runs, in order, and each case ends delivered', async () => {
    const values = new Map<string, string>();
    const cases: Array<{ id: string; mode: string; node: string }> = [];
    let signedIn = false;
    const applicantSteps: string[] = [];
    const fill = (command: string) => fillPlaceholders(command, values);
    const commands = shCommands(DOC);
    expect(commands.length).toBeGreaterThan(25);
    for (const command of commands) {
      expect(command.startsWith('npx tongban '), command).toBe(true);
      const args = words(fill(command)).slice(2);
      // The applicant signs in as the page says: their login is their ID number, the demo's password theirs.
      const r = args[0] === 'login' ? await login(cwd, args, values.get('id number')!, DEMO_PASSWORD) : await run(cwd, args);
      expect({ command, code: r.code, stderr: r.stderr }).toEqual({ command, code: 0, stderr: '' });
      // The outputs the page names, read the way it says.
      if (args[0] === 'registry') {
        const person = /^(\d{17}[\dX])\s+(\S+)/m.exec(r.stdout);
        expect(person, 'registry sample lists a person').not.toBeNull();
        values.set('id number', person![1]!);
        values.set('name', person![2]!);
        // As the page says, the demo enrolled them at the hub as a citizen.
        expect(t.f.people).toContainEqual(expect.objectContaining({ kind: 'citizen', login: person![1] }));
      }
      if (args[0] === 'login') {
        expect(r.stdout).toMatch(/^kind\s+citizen/m);
        signedIn = true;
      }
      // Every command without --token is the applicant's, with the stored sign-in (after tongban login).
      if (args[0] === 'case' && !args.includes('--token')) {
        expect(signedIn, `${command}: the applicant signed in first`).toBe(true);
        applicantSteps.push(command);
      }
      if (args[0] === 'account') values.set(`token of ${args[args.indexOf('--id') + 1]}`, field(r.stdout, 'token')!);
      if (args[0] === 'case' && args[1] === 'apply') {
        values.set('case', field(r.stdout, 'case')!);
        cases.push({ id: field(r.stdout, 'case')!, mode: args[args.indexOf('--mode') + 1]!, node: args[args.indexOf('--node') + 1]! });
      }
      if (args[0] === 'case' && args[1] === 'ship') values.set('shipment', field(r.stdout, 'shipment')!);
      if (args[0] === 'case' && args[1] === 'evidence') values.set('request', field(r.stdout, 'evidence')!);
    }
    // The three modes from Sandu's counter, then the preview case at Anji's.
    expect(cases.map((c) => `${c.mode}@${c.node}`)).toEqual(['online@522732', 'proxy@522732', 'joint@522732', 'online@330523']);
    const clerkAt: Record<string, string> = { '522732': 'token of clerk-wang', '330523': 'token of clerk-zhang' };
    for (const c of cases) {
      const response = await fetch(new URL(`/v1/cases/${c.id}`, t.f.nodes.get(c.node)!.endpoint), { headers: { authorization: `Bearer ${values.get(clerkAt[c.node]!)}` } });
      const view = (await response.json()) as { case: { state: string; evidence: Array<{ preview?: string; data?: unknown }>; history: Array<{ action: string; actor: { node: string; role: string } }> } };
      expect({ mode: c.mode, state: view.case.state }).toEqual({ mode: c.mode, state: 'delivered' });
      // Each step was done by the role at the node the page says.
      const decide = view.case.history.filter((h) => h.action === 'decide').map((h) => `${h.actor.role}@${h.actor.node}`);
      expect(decide.sort()).toEqual(c.mode === 'joint' ? ['approver@320400', 'approver@330523'] : c.node === '330523' ? ['approver@320400'] : ['approver@330523']);
    }
    // The applicant's steps were theirs: applying at Sandu and at Anji, looking and refusing at Anji.
    expect(applicantSteps.map((c) => words(c).slice(2, 4).join(' '))).toEqual(['case apply', 'case apply', 'case show', 'case refuse-evidence']);
    for (const c of [cases[0]!, cases.at(-1)!]) {
      const response = await fetch(new URL(`/v1/cases/${c.id}`, t.f.nodes.get(c.node)!.endpoint), { headers: { authorization: `Bearer ${values.get(clerkAt[c.node]!)}` } });
      const first = ((await response.json()) as { case: { history: Array<{ action: string; actor: { node: string; id: string; role: string } }> } }).case.history[0]!;
      expect(first).toMatchObject({ action: 'apply', actor: { node: c.node, id: values.get('id number'), role: 'applicant' } });
      // Each node's audit names the citizen by their subject at the hub, never a machine client.
      const applied = (await t.auditEntries(c.node)).find((e) => e.kind === 'case.apply' && e.caseId === c.id);
      expect(applied.actor).toEqual({ subject: expect.stringMatching(/^p-/), node: c.node, role: 'applicant' });
    }
    // The preview case: the applicant refused the evidence; nobody holds its data, Changzhou never had it.
    const preview = cases.at(-1)!;
    const atChangzhou = await fetch(new URL(`/v1/cases/${preview.id}`, t.f.nodes.get('320400')!.endpoint), { headers: { authorization: `Bearer ${values.get('token of appr-zhou')}` } });
    const copy = ((await atChangzhou.json()) as { case: { evidence: Array<{ preview?: string; data?: unknown }>; history: Array<{ action: string; actor: { role: string } }> } }).case;
    expect(copy.evidence).toEqual([expect.objectContaining({ requestId: values.get('request'), preview: 'refused' })]);
    expect(copy.evidence[0]).not.toHaveProperty('data');
    expect(copy.history.find((h) => h.action === 'refuse-evidence')?.actor.role).toBe('applicant');
  }, 600_000);
});

/**
 * The README's `npx tongban` commands, run as shown against a running federation. A few are
 * reference syntax or set up other folders; each is listed here with where it is exercised, and
 * the list must match exactly, so a new README command is never skipped silently.
 */
const README_NOT_RUN_HERE: Array<[RegExp, string]> = [
  [/^npx tongban init --division 330523 /, 'reference syntax; test/cli.test.ts: tongban init'],
  [/^npx tongban serve --config nodes\//, 'reference syntax; the federation suite starts servers from their configs'],
  // "Joining a running federation": test/reliability/join.test.ts runs that block as it stands.
  [/^npx tongban init --division 110105 /, 'test/reliability/join.test.ts'],
  [/^npx tongban serve --config var\/demo\/110105/, 'test/reliability/join.test.ts'],
  [/^npx tongban directory approve 110105/, 'test/reliability/join.test.ts'],
  [/^npx tongban agreement sign --node 110105 /, 'test/reliability/join.test.ts'],
  [/^npx tongban agreement sign --node 522732 /, 'test/reliability/join.test.ts'],
  [/^npx tongban agreement submit --node 110105 /, 'test/reliability/join.test.ts'],
  [/^npx tongban exchange request --from 110105 /, 'test/reliability/join.test.ts'],
  [/^npx tongban agreement accept --node 110105 /, 'test/reliability/join.test.ts'],
  [/^npx tongban agreement accept --node 522732 /, 'test/reliability/join.test.ts'],
  [/^npx tongban agreement accept\|sign\|submit /, 'reference syntax; test/reliability/join.test.ts'],
  [/^npx tongban agreement draft\|counter/, 'reference syntax; test/negotiation-contract.ts runs each of these steps with the CLI'],
  [/^npx tongban agreement terminate </, 'reference syntax; test/agreement-lifecycle-contract.ts terminates through the CLI'],
  [/^npx tongban federation reset/, 'test/reliability/startup.test.ts (the --reset way out)'],
  [/^npx tongban keys rotate /, 'test/key-rotation-contract.ts (rotate, approve, switch)'],
  [/^npx tongban catalog add --config nodes\/anji/, 'test/cli.test.ts adds docs/examples/local-item.json to an initialised node'],
  [/^npx tongban federation config/, 'federation tests'],
  [/^npx tongban federation up/, 'federation tests'],
  [/^npx tongban exchange request --from <node>/, 'reference syntax; run concretely above it'],
  [/^npx tongban registry sample --node <code>/, 'reference syntax; run concretely above it'],
  [/^npx tongban audit verify \[/, 'reference syntax; --node runs here, --config in the federation suite'],
  // "Sign in at the terminal": a person in a browser finishes each sign-in; the test plays that browser.
  [/^npx tongban login$/, 'test/cli-login.test.ts (the browser enters the code and signs in)'],
  [/^npx tongban login --status/, 'test/cli-login.test.ts (after a sign-in)'],
  [/^npx tongban whoami --node 522732/, 'test/cli-login.test.ts (after a sign-in)'],
  [/^npx tongban tracker$/, 'test/cli-login.test.ts (after a citizen signed in)'],
  [/^npx tongban consent list$/, 'test/cli-consent.test.ts (after a citizen signed in; docs/consent.md runs grant, list, revoke)'],
  [/^npx tongban cert show$/, 'test/cli-cert.test.ts (the wallet of a citizen signed in; show <id>, bind, and the staff steps)'],
  [/^npx tongban logout/, 'test/cli-login.test.ts'],
];

describe('README commands', () => {
  let t: TestFederation;
  let cwd: string;
  beforeAll(async () => {
    t = await startTestFederation('sqlite', { portBase: await freePortRun(5), directory: { refreshSeconds: 0.5, snapshotTtlSeconds: 600 } });
    cwd = mkdtempSync(join(tmpdir(), 'tongban-readme-'));
    mkdirSync(join(cwd, 'var'));
    symlinkSync(t.f.dir, join(cwd, 'var', 'demo'));
  }, 120_000);
  afterAll(async () => {
    await t?.stop();
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  it('every `npx tongban` command of the README runs as shown (tokens in TONGBAN_TOKEN, per node)', async () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const all = shCommands(readme).filter((c) => c.startsWith('npx tongban '));
    const skipped = all.filter((c) => README_NOT_RUN_HERE.some(([pattern]) => pattern.test(c)));
    expect(skipped.length).toBe(README_NOT_RUN_HERE.length);
    const values = new Map<string, string>();
    const tokens = new Map<string, string>();
    let ran = 0;
    for (const command of all.filter((c) => !skipped.includes(c))) {
      const key = (name: string) => (name.startsWith('an ID number') || name === 'the same' || name === 'id' ? 'id number' : name.startsWith('shipment') ? 'shipment' : name);
      const args = words(fillPlaceholders(command, values, key)).slice(2);
      const node = args.includes('--node') ? args[args.indexOf('--node') + 1]! : '';
      const r = await run(cwd, args, tokens.get(node) ?? '');
      expect({ command, code: r.code, stderr: r.stderr }).toEqual({ command, code: 0, stderr: '' });
      ran++;
      if (args[0] === 'registry') {
        const person = /^(\d{17}[\dX])\s+(\S+)/m.exec(r.stdout)!;
        values.set('id number', person[1]!);
        values.set('name', person[2]!);
      }
      if (args[0] === 'account' && args[1] === 'add') tokens.set(node, field(r.stdout, 'token')!);
      if (args[0] === 'account' && args[1] === 'staff' && args[2] === 'add') expect(field(r.stdout, 'password')).toMatch(/^[A-Za-z0-9_-]{24}$/);
      if (args[0] === 'account' && args[1] === 'staff' && args[2] === 'list') expect(r.stdout).toMatch(/^zhao@330523\s+赵\s+clerk,approver\s+no\s/m);
      if (args[0] === 'account' && args[1] === 'staff' && args[2] === 'disable') expect(r.stdout).toMatch(/^disabled\s+yes$/m);
      if (args[0] === 'template' && args[1] === 'instantiate') values.set('negotiation', field(r.stdout, 'negotiation')!);
      if (args[0] === 'agreement' && args[1] === 'propose') expect(r.stdout).toMatch(/^state\s+proposed$/m);
      // --terms prints exactly the terms a counter-offer starts from (the partner has them once proposed).
      if (args[0] === 'agreement' && args[1] === 'show' && args.includes('--terms')) expect((JSON.parse(r.stdout) as { parties: string[] }).parties).toEqual(['522732', '310118']);
      if (args[0] === 'case' && args[1] === 'apply') values.set('case', field(r.stdout, 'case')!);
      if (args[0] === 'case' && args[1] === 'ship') values.set('shipment', field(r.stdout, 'shipment')!);
      if (args[0] === 'case' && args[1] === 'show') expect(r.stdout).toMatch(/^state\s+delivered$/m);
    }
    expect(ran).toBe(all.length - skipped.length);
  }, 600_000);
});
