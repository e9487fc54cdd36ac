import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_PASSWORD } from '../src/federation/index.ts';
import { freePortRun } from './free-ports.ts';
import { runTongban, type CliResult } from './support/cli.ts';
import { until } from './support/consent.ts';
import { startTestFederation, type TestFederation } from './support/federation.ts';
import { deviceLogin, field, fillPlaceholders, shLines, words } from './support/docs.ts';

const DOC = readFileSync(new URL('../docs/certificates.md', import.meta.url), 'utf8');
const ANJI = '330523';
const CHANGZHOU = '320400';

/**
 * docs/certificates.md's worked example cannot rot: every command of its ```sh block runs, in
 * order, as written, against a running federation — placeholders filled from earlier outputs as the
 * page says, refusals (`# exit 1: refused (CODE)`) asserted, "a minute later" waited for.
 */
describe('docs/certificates.md worked example', () => {
  let t: TestFederation;
  let cwd: string;
  beforeAll(async () => {
    // Fixed ports, so the CLI finds each node where its config says; the demo's people, so the
    // holder signs in at the hub; a status list relied on for 1 s, so "a minute later" is a second.
    t = await startTestFederation('sqlite', { portBase: await freePortRun(5), demoPeople: { password: DEMO_PASSWORD }, certificates: { statusMaxAgeSeconds: 1 } });
    // The page's commands use the default folder, var/demo: here it is the running test federation.
    cwd = mkdtempSync(join(tmpdir(), 'tongban-cert-docs-'));
    mkdirSync(join(cwd, 'var'));
    symlinkSync(t.f.dir, join(cwd, 'var', 'demo'));
  }, 300_000);
  afterAll(async () => {
    await t?.stop();
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  it('is the page’s first section', () => {
    expect(DOC.split(/^## /m)[1]!.startsWith('A worked example at the terminal\n')).toBe(true);
    expect([...DOC.matchAll(/```sh\n/g)]).toHaveLength(1);
  });

  it('every command runs as the page says', async () => {
    // The person at the terminal: their own token folder, no token in the environment.
    const env = { TONGBAN_HOME: join(cwd, 'home', 'tongban'), TONGBAN_TOKEN: '' };
    const lines = shLines(DOC);
    expect(lines.map((l) => words(l.command).slice(2, 4).join(' '))).toEqual([
      'registry sample',
      'account add',
      'account add',
      'account add',
      'case apply',
      'case accept',
      'case wait',
      'case start-review',
      'case decide',
      'case conclude',
      'cert issue',
      'login',
      'cert show',
      'cert show',
      'cert present',
      'cert verify',
      'cert suspend',
      'cert verify',
      'cert reinstate',
      'cert verify',
      'cert revoke',
      'cert verify',
      'tracker',
    ]);
    const values = new Map<string, string>();
    let signedIn = false;
    for (const { command, comment } of lines) {
      expect(command.startsWith('npx tongban '), command).toBe(true);
      const args = words(fillPlaceholders(command, values)).slice(2);
      // Staff give the token `account add` printed; the holder's commands (cert show, present) use the sign-in.
      const citizen = (args[0] === 'cert' && ['show', 'present'].includes(args[1]!)) || args[0] === 'tracker';
      expect({ command, token: args.includes('--token') }).toEqual({ command, token: !citizen && !['registry', 'account', 'login'].includes(args[0]!) });
      if (citizen) expect(signedIn, `${command}: the holder signed in first`).toBe(true);
      const refused = /exit 1: refused \((\w+)\)/.exec(comment);
      const outcome = (r: CliResult) => (refused ? r.code === 1 && r.stderr.includes(`refused (${refused[1]})`) : r.code === 0);
      let r: CliResult;
      if (args[0] === 'login') {
        // The holder opens the page, enters the code and signs in with their ID number and the demo password.
        r = await deviceLogin(args, { cwd, env }, values.get('id number')!, DEMO_PASSWORD);
        expect(r.stdout).toMatch(/^kind\s+citizen/m);
        signedIn = true;
      } else if (/a minute later|a moment after/.test(comment)) {
        // Once Changzhou's copy of the status list is old enough (here: a second), or the hub's index has the certificate.
        const wanted = (attempt: CliResult) => outcome(attempt) && (args[1] !== 'show' || attempt.stdout.includes(values.get('certificate')!));
        r = await until(async () => {
          const attempt = await runTongban(args, { cwd, env });
          return wanted(attempt) ? attempt : undefined;
        }, 20_000, `${command} → ${comment}`);
      } else {
        r = await runTongban(args, { cwd, env });
      }
      if (refused) {
        expect({ command, code: r.code }).toEqual({ command, code: 1 });
        expect(r.stderr).toContain(`refused (${refused[1]})`);
      } else {
        // `present --out` says on stderr where it wrote the presentation; nothing else writes there.
        const stderr = args[1] === 'present' ? r.stderr.replace(/^tongban: wrote the presentation .*\n/, '') : r.stderr;
        expect({ command, code: r.code, stderr }).toEqual({ command, code: 0, stderr: '' });
      }

      // The outputs the page names, read the way it says; and what each comment claims.
      if (args[0] === 'registry') {
        const people = [...r.stdout.matchAll(/^(\d{17}[\dX])\s+(\S+)/gm)];
        expect(people).toHaveLength(2);
        values.set('id number', people[0]![1]!);
        values.set('name', people[0]![2]!);
        values.set("spouse's id number", people[1]![1]!);
        values.set("spouse's name", people[1]![2]!);
        // As the page says, the demo enrolled the holder as a citizen.
        expect(t.f.people).toContainEqual(expect.objectContaining({ kind: 'citizen', login: people[0]![1] }));
      }
      if (args[0] === 'account') values.set(`token of ${args[args.indexOf('--id') + 1]}`, field(r.stdout, 'token')!);
      if (args[0] === 'case' && args[1] === 'apply') values.set('case', field(r.stdout, 'case')!);
      if (args[0] === 'case' && args[1] === 'conclude') {
        expect(r.stdout).toMatch(/^state\s+concluded$/m);
        // The conclude's answer names the certificate it issued.
        expect(r.stdout).toMatch(/^certificate\s+1\.2\.156\.3005\.2\.\S+$/m);
        values.set('certificate', field(r.stdout, 'certificate')!);
      }
      if (args[0] === 'cert' && args[1] === 'issue') {
        expect(field(r.stdout, 'certificate')).toBe(values.get('certificate'));
        expect(r.stdout).toMatch(/^type\s+结婚证 \(urn:tongban:certificate:marriage\)$/m);
        expect(r.stdout).toContain('nothing new was issued');
        // Staff see no personal field.
        expect(r.stdout).not.toContain(values.get("spouse's id number"));
      }
      if (args[0] === 'cert' && args[1] === 'show' && args.length === 2) {
        // With its status, asked of Anji.
        expect(r.stdout).toMatch(new RegExp(`^${values.get('certificate')!.replaceAll('.', '\\.')}\\s+结婚证\\s+${ANJI} .*\\s+valid$`, 'm'));
      }
      if (args[0] === 'cert' && args[1] === 'show' && args.length > 2) {
        expect(r.stdout).toMatch(/^status\s+valid$/m);
        for (const [name, value] of [
          ['holderName', values.get('name')],
          ['holderIdNumber', values.get('id number')],
          ['spouseName', values.get("spouse's name")],
          ['spouseIdNumber', values.get("spouse's id number")],
          ['registrationDate', '2025-10-01'],
        ]) {
          expect(r.stdout).toMatch(new RegExp(`^${name}\\s+${value}$`, 'm'));
        }
      }
      if (args[0] === 'cert' && args[1] === 'present') {
        const presentation = readFileSync(join(cwd, args[args.indexOf('--out') + 1]!), 'utf8');
        // Withheld: the spouse's number is in no part of what the holder hands over.
        const decoded = presentation.trim().split(/[~.]/).map((part) => Buffer.from(part, 'base64url').toString('utf8')).join('\n');
        expect(decoded).toContain(values.get("spouse's name"));
        expect(decoded).not.toContain(values.get("spouse's id number"));
      }
      if (args[0] === 'cert' && args[1] === 'verify' && !refused) {
        expect(r.stdout).toMatch(/^status\s+valid$/m);
        expect(r.stdout).toMatch(/^withheld\s+spouseIdNumber$/m);
        expect(r.stdout).toMatch(new RegExp(`^holderIdNumber\\s+${values.get('id number')}$`, 'm'));
      }
      if (args[0] === 'tracker') {
        // Changzhou's verifications, as the holder sees them: the reason, the fields shown, each outcome.
        for (const outcome of ['allowed', 'refused \\(CERTIFICATE_SUSPENDED\\)', 'refused \\(CERTIFICATE_REVOKED\\)']) {
          expect(r.stdout).toMatch(new RegExp(`^\\S+ \\S+\\s+${CHANGZHOU}\\s+clerk\\s+certificate\\.verify urn:tongban:certificate:marriage \\(holderName, holderIdNumber, spouseName, registrationDate\\)\\s+夫妻投靠户口迁移\\s+-\\s+${outcome}$`, 'm'));
        }
      }
      for (const [action, status] of [['suspend', 'suspended'], ['reinstate', 'valid'], ['revoke', 'revoked']] as const) {
        if (args[0] === 'cert' && args[1] === action) expect(r.stdout).toMatch(new RegExp(`^status\\s+${status}\\b`, 'm'));
      }
    }

    // Changzhou's audit log: each attempt by its clerk, for the reason given; field names, never a value.
    const verifications = (await t.auditEntries(CHANGZHOU)).filter((e: { kind: string }) => e.kind === 'certificate.verify');
    expect(verifications.map((e: { outcome: string }) => e.outcome)).toEqual(expect.arrayContaining(['allowed', 'refused']));
    for (const entry of verifications) {
      expect(entry).toMatchObject({ purpose: '夫妻投靠户口迁移', actor: { node: CHANGZHOU, role: 'clerk' } });
      expect(JSON.stringify(entry)).not.toContain(values.get("spouse's id number"));
    }
  }, 300_000);
});
