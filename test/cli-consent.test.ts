import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedRequestHeaders } from '../src/exchange/index.ts';
import { DEMO_PASSWORD } from '../src/federation/index.ts';
import { freePortRun } from './free-ports.ts';
import { runTongban } from './support/cli.ts';
import { signedInCitizen, until, type SignedInCitizen } from './support/consent.ts';
import { startTestFederation, type Backend, type TestFederation } from './support/federation.ts';
import { deviceLogin, fillPlaceholders, shLines, words } from './support/docs.ts';
import { cliClient, signIn } from './support/identity.ts';
import { describePostgres } from './support/postgres.ts';

const SANDU = '522732';
const ANJI = '330523';
const SANDU_ANJI = 'AGR-522732-330523-001';
const STAFF = { login: 'clerk-consent@522732', name: '赵六', password: 'staff-password-consent', roles: ['clerk'] };

/**
 * `tongban consent` (issue 12, item 4 at the terminal): the real CLI as a child process, a real
 * federation on loopback ports. The citizen's hub access token comes from a real sign-in at the
 * hub (authorization code + PKCE with the CLI's client, the hub's form) and reaches the CLI in
 * TONGBAN_TOKEN; the docs' example signs in through the device flow, the test playing the browser.
 */
describe('[sqlite] tongban consent grant, list, revoke; exchange request and case evidence with --consent', () => consentCliSuite('sqlite'));
describePostgres('tongban consent grant, list, revoke; exchange request and case evidence with --consent', () => consentCliSuite('postgres'));

function consentCliSuite(backend: Backend): void {
  let t: TestFederation;
  let cwd: string;
  let citizen: SignedInCitizen;
  let hub: string;
  const home = () => join(cwd, 'home', 'tongban');
  /** The CLI as the citizen: their token in TONGBAN_TOKEN (or none), an empty token folder. */
  const cli = async (args: string[], token?: string) => runTongban(args, { cwd, env: { TONGBAN_HOME: home(), TONGBAN_TOKEN: token ?? (await citizen.token()) } });
  const json = async (args: string[], token?: string) => {
    const r = await cli([...args, '--json'], token);
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    return JSON.parse(r.stdout);
  };
  const listed = async (id: string) => ((await json(['consent', 'list'])).consents as any[]).find((c) => c.id === id);
  const exchange = (consent: string | undefined, fields: string | undefined) =>
    cli(['exchange', 'request', '--from', ANJI, '--to', SANDU, '--service', 'marriage.status', '--subject', citizen.idNumber, '--purpose', '婚姻登记', ...(fields ? ['--fields', fields] : []), ...(consent ? ['--consent', consent] : []), '--json']);

  beforeAll(async () => {
    t = await startTestFederation(backend, { portBase: await freePortRun(5) });
    hub = t.f.hub.endpoint;
    // The commands' default folder, var/demo: here the running test federation.
    cwd = mkdtempSync(join(tmpdir(), 'tongban-consent-'));
    mkdirSync(join(cwd, 'var'));
    symlinkSync(t.f.dir, join(cwd, 'var', 'demo'));
    const db = new BetterSqlite3(t.f.registryPath(SANDU), { readonly: true });
    const married = db.prepare("SELECT id_number AS idNumber, name FROM marriage WHERE marital_status = '20' LIMIT 1").get() as { idNumber: string; name: string };
    db.close();
    citizen = await signedInCitizen(t, married);
  }, 300_000);
  afterAll(async () => {
    await t?.stop();
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  it('grant (single use) → list shows it → exchange with --consent served → second use CONSENT_USED, list shows used → revoke → revoked', async () => {
    const granted = await json(['consent', 'grant', '--requester', ANJI, '--provider', SANDU, '--agreement', SANDU_ANJI, '--item', 'N037', '--purpose', '婚姻登记', '--fields', 'maritalStatus,spouseName', '--single']);
    expect(granted).toMatchObject({ status: 'active', use: 'single', useCount: 0, requester: ANJI, provider: SANDU, agreementId: SANDU_ANJI, itemCode: 'N037', service: 'marriage.status', fields: ['maritalStatus', 'spouseName'] });
    // Valid 7 days by default.
    expect(Math.abs(Date.parse(granted.expiresAt) - (Date.now() + 7 * 86_400_000))).toBeLessThan(120_000);
    expect(await listed(granted.id)).toMatchObject({ status: 'active', useCount: 0 });
    // The table, as a person reads it.
    const table = await cli(['consent', 'list']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^ID\s+STATUS\s+USES\s+REQUESTER\s+PROVIDER/);
    expect(table.stdout).toMatch(new RegExp(`^${granted.id}\\s+active\\s+0\\s+${ANJI}\\s+${SANDU}\\s+${SANDU_ANJI}\\s+N037\\s+婚姻登记\\s+maritalStatus,spouseName\\s+single`, 'm'));

    const served = await exchange(granted.id, 'maritalStatus');
    expect(served.code, served.stderr).toBe(0);
    expect(JSON.parse(served.stdout)).toMatchObject({ ok: true, via: 'bridge', data: { maritalStatus: '20' } });
    const again = await exchange(granted.id, 'maritalStatus');
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout)).toMatchObject({ ok: false, code: 'CONSENT_USED' });
    expect(again.stderr).toMatch(/refused \(CONSENT_USED\)/);
    // The provider's count reaches the hub through its outbox: then the list says "used".
    await until(async () => (await listed(granted.id))?.status === 'used', 20_000, 'the consent listed as used');
    expect(await listed(granted.id)).toMatchObject({ status: 'used', useCount: 1, lastUsedAt: expect.any(String) });
    expect((await cli(['consent', 'list'])).stdout).toMatch(new RegExp(`^${granted.id}\\s+used\\s+1\\s`, 'm'));

    const revoked = await cli(['consent', 'revoke', granted.id]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toMatch(/^status\s+revoked$/m);
    expect(revoked.stdout).toMatch(/^revoked at\s+\d{4}-/m);
    expect(await listed(granted.id)).toMatchObject({ status: 'revoked', useCount: 1, revokedAt: expect.any(String) });
    // Anyone else's consent, or none: CONSENT_NOT_FOUND (exit 1).
    const unknown = await cli(['consent', 'revoke', randomUUID()]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/refused \(CONSENT_NOT_FOUND\)/);
  }, 120_000);

  it('--until a date: until-expiry, the end of that day in Beijing time; fields left out of a request mean every granted field, so a narrower consent is CONSENT_INVALID', async () => {
    const day = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10);
    const granted = await json(['consent', 'grant', '--requester', ANJI, '--provider', SANDU, '--agreement', SANDU_ANJI, '--item', 'N037', '--purpose', '婚姻登记', '--fields', 'maritalStatus', '--until', day]);
    expect(granted).toMatchObject({ use: 'until-expiry', status: 'active', expiresAt: new Date(`${day}T23:59:59+08:00`).toISOString() });
    const all = await exchange(granted.id, undefined);
    expect(all.code).toBe(1);
    expect(JSON.parse(all.stdout)).toMatchObject({ ok: false, code: 'CONSENT_INVALID' });
    // The artefact instead of the id, the consented field named: served, twice (until a date), still active.
    for (let i = 0; i < 2; i++) {
      const r = await exchange(granted.artefact, 'maritalStatus');
      expect(r.code, r.stderr).toBe(0);
    }
    await until(async () => (await listed(granted.id))?.useCount === 2, 20_000, 'two uses at the hub');
    expect((await listed(granted.id)).status).toBe('active');
    // Neither --until nor --single: usage (exit 2), nothing sent.
    const vague = await cli(['consent', 'grant', '--requester', ANJI, '--provider', SANDU, '--agreement', SANDU_ANJI, '--item', 'N037', '--purpose', '婚姻登记', '--fields', 'maritalStatus']);
    expect(vague.code).toBe(2);
    expect(vague.stderr).toMatch(/--until <date>.*--single/);
    // The hub's own refusal of the terms: exit 1 with its code.
    const purpose = await cli(['consent', 'grant', '--requester', ANJI, '--provider', SANDU, '--agreement', SANDU_ANJI, '--item', 'N037', '--purpose', '户籍类证明开具', '--fields', 'maritalStatus', '--single']);
    expect(purpose.code).toBe(1);
    expect(purpose.stderr).toMatch(/refused \(PURPOSE_NOT_ALLOWED\)/);
  }, 120_000);

  it('case evidence --consent: the clerk of Anji attaches the applicant’s consent id', async () => {
    const applied = await fetch(new URL('/v1/cases', t.f.nodes.get(ANJI)!.endpoint), {
      method: 'POST',
      headers: { authorization: `Bearer ${await citizen.token()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ itemCode: 'N037', mode: 'online', competentNodes: [ANJI], applicant: { idNumber: citizen.idNumber, name: citizen.name } }),
    });
    expect(applied.status).toBe(201);
    const caseId = ((await applied.json()) as { case: { id: string } }).case.id;
    const clerk = (await t.operator(ANJI, '/v1/operator/accounts', { id: `clerk-${randomUUID().slice(0, 8)}`, role: 'clerk', name: '窗口' })).json.token as string;
    const evidence = (consent?: string) =>
      runTongban(['case', 'evidence', caseId, '--node', ANJI, '--provider', SANDU, '--service', 'marriage.status', '--purpose', '婚姻登记', '--fields', 'maritalStatus', ...(consent ? ['--consent', consent] : []), '--token', clerk], { cwd, env: { TONGBAN_HOME: home(), TONGBAN_TOKEN: '' } });
    const without = await evidence();
    expect(without.code).toBe(1);
    expect(without.stderr).toMatch(/refused \(CONSENT_REQUIRED\)/);
    const granted = await json(['consent', 'grant', '--requester', ANJI, '--provider', SANDU, '--agreement', SANDU_ANJI, '--item', 'N037', '--purpose', '婚姻登记', '--fields', 'maritalStatus', '--single']);
    const fetched = await evidence(granted.id);
    expect(fetched.code, fetched.stderr).toBe(0);
    expect(fetched.stdout).toMatch(/^maritalStatus\s+20$/m);
    const twice = await evidence(granted.id);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/refused \(CONSENT_USED\)/);
  }, 120_000);

  it('staff are refused (exit 1); no sign-in is UNAUTHORIZED (exit 1); a token of another hub is never sent (exit 2)', async () => {
    // A clerk of Sandu, enrolled by Sandu, signed in with the CLI's client: a hub access token for the federation.
    const url = new URL('/v1/identity/staff', hub).toString();
    const body = JSON.stringify(STAFF);
    const enrolled = await fetch(url, { method: 'POST', headers: await signedRequestHeaders(t.key(SANDU), url, body, new Date()), body });
    expect(enrolled.status).toBe(201);
    const staff = (await signIn(hub, STAFF.login, STAFF.password, cliClient())).accessToken;
    for (const args of [['consent', 'list'], ['consent', 'grant', '--requester', ANJI, '--provider', SANDU, '--agreement', SANDU_ANJI, '--item', 'N037', '--purpose', '婚姻登记', '--fields', 'maritalStatus', '--single']]) {
      const r = await cli(args, staff);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/refused \(STAFF_OF_ANOTHER_NODE\)/);
    }
    // The hub's audit log records no consent for the clerk.
    expect((await t.auditEntries('100000')).filter((e) => e.kind === 'consent.grant' && e.actor?.role !== 'citizen')).toEqual([]);
    const none = await cli(['consent', 'list'], '');
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/refused \(UNAUTHORIZED\): Not signed in at the hub .*tongban login/);
    // A JWT issued by another hub: refused before anything is sent.
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const foreign = `${b64({ alg: 'EdDSA' })}.${b64({ iss: 'http://127.0.0.1:1/oidc', sub: 'x' })}.${b64('sig')}`;
    const elsewhere = await cli(['consent', 'list'], foreign);
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toMatch(/not by the hub at .*: it is not sent there/);
  }, 120_000);
}

/**
 * docs/consent.md cannot rot: its worked example runs as written, in order, against a federation
 * with the demo's people (as `npm start` enrols them), the citizen signing in with `tongban login`
 * (the device flow; the test plays their browser). A command whose comment says "exit 1" must be
 * refused with the code it names.
 */
describe('docs/consent.md worked example', () => {
  const DOC = readFileSync(new URL('../docs/consent.md', import.meta.url), 'utf8');
  let t: TestFederation;
  let cwd: string;
  beforeAll(async () => {
    t = await startTestFederation('sqlite', { portBase: await freePortRun(5), demoPeople: { password: DEMO_PASSWORD } });
    cwd = mkdtempSync(join(tmpdir(), 'tongban-consent-docs-'));
    mkdirSync(join(cwd, 'var'));
    symlinkSync(t.f.dir, join(cwd, 'var', 'demo'));
  }, 300_000);
  afterAll(async () => {
    await t?.stop();
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  it('every command runs as the page says', async () => {
    const env = { TONGBAN_HOME: join(cwd, 'home', 'tongban'), TONGBAN_TOKEN: '' };
    const lines = shLines(DOC);
    expect(lines.map((l) => l.command.split(' ').slice(2, 4).join(' '))).toEqual([
      'registry sample',
      'login',
      'consent grant',
      'consent list',
      'exchange request',
      'exchange request',
      'consent list',
      'consent revoke',
    ]);
    const values = new Map<string, string>();
    let lists = 0;
    for (const { command, comment } of lines) {
      expect(command.startsWith('npx tongban '), command).toBe(true);
      const args = words(fillPlaceholders(command, values)).slice(2);
      let r;
      if (args[0] === 'login') {
        // The person opens the page, enters the code and signs in as the demo citizen (ID number, demo password).
        r = await deviceLogin(args, { cwd, env }, values.get('id number')!, DEMO_PASSWORD);
        expect(r.stdout).toMatch(/^kind\s+citizen/m);
      } else if (args[0] === 'consent' && args[1] === 'list' && lists++ > 0) {
        // "A moment later": the provider's count reaches the hub through its outbox.
        r = await until(async () => {
          const attempt = await runTongban(args, { cwd, env });
          return attempt.stdout.includes(` used `) ? attempt : undefined;
        }, 20_000, 'the consent listed as used');
      } else {
        r = await runTongban(args, { cwd, env });
      }
      const refused = /exit 1: refused \((\w+)\)/.exec(comment);
      if (refused) {
        expect({ command, code: r.code }).toEqual({ command, code: 1 });
        expect(r.stderr).toContain(`refused (${refused[1]})`);
      } else {
        expect({ command, code: r.code, stderr: r.stderr }).toEqual({ command, code: 0, stderr: '' });
      }
      if (args[0] === 'registry') {
        const person = /^(\d{17}[\dX])\s+(\S+)/m.exec(r.stdout)!;
        values.set('id number', person[1]!);
        // As the page says, the demo enrolled them as a citizen.
        expect(t.f.people).toContainEqual(expect.objectContaining({ kind: 'citizen', login: person[1] }));
      }
      if (args[0] === 'consent' && args[1] === 'grant') values.set('consent', /^consent\s+(\S+)/m.exec(r.stdout)![1]!);
      if (args[0] === 'consent' && args[1] === 'list') {
        const status = lists === 1 ? 'active\\s+0' : 'used\\s+1';
        expect(r.stdout).toMatch(new RegExp(`^${values.get('consent')}\\s+${status}\\s`, 'm'));
      }
      if (args[0] === 'exchange' && !refused) expect(r.stdout).toMatch(/^maritalStatus\s+婚姻状况\s+\d{2} \S+$/m);
      if (args[0] === 'consent' && args[1] === 'revoke') expect(r.stdout).toMatch(/^status\s+revoked$/m);
    }
  }, 300_000);
});
