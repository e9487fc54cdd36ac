import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePortRun } from './free-ports.ts';
import { runTongban } from './support/cli.ts';
import { startTestFederation, type Backend, type TestFederation } from './support/federation.ts';
import { signIn, SignInRefused } from './support/identity.ts';
import { Browser, signInAtNode } from './identity-rp-contract.ts';

const SANDU = '522732';
const ANJI = '330523';
const QINGPU = '310118';

/**
 * A node's operator manages the node's staff (issue 12 item 7): `POST/GET /v1/operator/staff`
 * and `…/{login}/disable` at the node, forwarded to the hub as requests signed by the node. A real
 * federation over HTTP: the people enrolled sign in at the hub for real; SQLite and PostgreSQL.
 */
export function staffContract(backend: Backend): void {
  let t: TestFederation;
  let hub: string;
  const endpoint = (division: string) => t.f.nodes.get(division)!.endpoint;
  const call = async (division: string, method: 'GET' | 'POST', path: string, options: { token?: string | null; body?: unknown } = {}) => {
    const token = options.token === undefined ? t.f.operatorToken(division) : options.token;
    const r = await fetch(new URL(path, endpoint(division)), {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
      ...(method === 'POST' ? { body: JSON.stringify(options.body ?? {}) } : {}),
    });
    return { status: r.status, type: r.headers.get('content-type') ?? '', json: (await r.json()) as any };
  };
  const callbackOf = (division: string) => `${endpoint(division)}/v1/auth/callback`;

  beforeAll(async () => {
    // Fixed ports: the CLI finds the nodes through their folders.
    t = await startTestFederation(backend, { portBase: await freePortRun(5), directory: { refreshSeconds: 0.5, snapshotTtlSeconds: 600 } });
    hub = t.f.hub.endpoint;
  }, 300_000);
  afterAll(async () => {
    await t?.stop();
  });

  let clerk = { login: '', password: '' };

  it("Anji's operator enrols a clerk through its node (password generated, shown once); the clerk signs in at the hub and acts at Anji; the list shows them", async () => {
    const added = await call(ANJI, 'POST', '/v1/operator/staff', { body: { login: 'zhao', name: '赵', roles: ['clerk'] } });
    expect(added.status).toBe(201);
    expect(added.json.staff).toMatchObject({ login: `zhao@${ANJI}`, kind: 'staff', name: '赵', node: ANJI, roles: ['clerk'], disabled: false });
    expect(added.json.generatedPassword).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(JSON.stringify(added.json)).not.toMatch(/scrypt|passwordHash|\$/);
    clerk = { login: `zhao@${ANJI}`, password: added.json.generatedPassword };
    // The hub holds them as Anji's staff member (the node is the request's signer), with that password.
    const atHub = await t.f.hub.runtime!.store.people.byLogin(clerk.login);
    expect(atHub).toMatchObject({ kind: 'staff', node: ANJI, roles: ['clerk'], disabled: false });
    expect(atHub!.passwordHash).not.toContain(clerk.password);
    // A full login of Anji and a password of the operator's: no password answered.
    const second = await call(ANJI, 'POST', '/v1/operator/staff', { body: { login: `Qian@${ANJI}`, name: '钱', password: 'qian-password-1', roles: ['approver', 'supervisor'] } });
    expect(second.status).toBe(201);
    expect(second.json.staff.login).toBe(`qian@${ANJI}`);
    expect(second.json).not.toHaveProperty('generatedPassword');
    // Once only.
    const again = await call(ANJI, 'POST', '/v1/operator/staff', { body: { login: 'zhao', name: '赵', roles: ['clerk'] } });
    expect([again.status, again.json.code, again.type]).toEqual([409, 'PERSON_LOGIN_TAKEN', 'application/problem+json; charset=utf-8']);
    // Invalid: a login that is no staff login, a password too short, an unknown role.
    for (const body of [{ login: 'Bad Login!', name: 'x', roles: ['clerk'] }, { login: 'sun', name: 'x', password: 'short', roles: ['clerk'] }, { login: 'sun', name: 'x', roles: ['applicant'] }]) {
      expect((await call(ANJI, 'POST', '/v1/operator/staff', { body })).json.code).toBe('VALIDATION_FAILED');
    }

    // The clerk signs in at the hub (through Anji's client) and acts at Anji.
    const signedIn = await signIn(hub, clerk.login, clerk.password, { clientId: ANJI, redirectUri: callbackOf(ANJI) });
    expect(signedIn.claims).toMatchObject({ tongban_kind: 'staff', tongban_node: ANJI, tongban_roles: ['clerk'], name: '赵' });
    const me = await call(ANJI, 'GET', '/v1/auth/me', { token: signedIn.accessToken });
    expect(me.json).toMatchObject({ kind: 'staff', node: ANJI, roles: ['clerk'], actsHere: true, subject: added.json.staff.id });
    expect((await call(ANJI, 'GET', '/v1/cases?limit=5', { token: signedIn.accessToken })).status).toBe(200);

    // The list: Anji's staff as the hub holds them, by login, paged; never a hash or an id.
    const list = await call(ANJI, 'GET', '/v1/operator/staff?limit=200');
    expect(list.status).toBe(200);
    expect(list.json.staff.filter((s: any) => ['zhao', 'qian'].includes(s.login.split('@')[0]))).toEqual([
      { login: `qian@${ANJI}`, name: '钱', roles: ['approver', 'supervisor'], disabled: false, createdAt: expect.any(String) },
      { login: `zhao@${ANJI}`, name: '赵', roles: ['clerk'], disabled: false, createdAt: expect.any(String) },
    ]);
    expect(list.json.staff.every((s: any) => s.login.endsWith(`@${ANJI}`))).toBe(true);
    expect(list.json.total).toBe(list.json.staff.length);
    const page = await call(ANJI, 'GET', '/v1/operator/staff?limit=1&offset=1');
    expect([page.json.staff.length, page.json.total, page.json.staff[0].login]).toEqual([1, list.json.total, list.json.staff[1].login]);
    // Sandu's list knows nothing of Anji's staff.
    const sandu = await call(SANDU, 'GET', '/v1/operator/staff');
    expect(sandu.json.staff.some((s: any) => s.login.endsWith(`@${ANJI}`))).toBe(false);
    // Audited at Anji without the login or the name.
    const entries = await t.auditEntries(ANJI);
    const enrolled = entries.filter((e) => e.kind === 'identity.staff.enrol');
    expect(enrolled.length).toBe(2);
    expect(JSON.stringify(enrolled)).not.toMatch(/zhao|qian|赵|钱/);
  }, 60_000);

  it("disabling at the node ends the person's open session there at once (401 at the next request) and the hub refuses a new sign-in", async () => {
    const browser = new Browser();
    const opened = await signInAtNode(browser, endpoint(ANJI), clerk.login, clerk.password);
    expect(opened.prompts).toBe(1);
    const withCookie = async () => (await browser.fetch(new URL('/v1/auth/me', endpoint(ANJI)))).status;
    expect(await withCookie()).toBe(200);
    // A second session (another browser) ends too.
    const other = new Browser();
    await signInAtNode(other, endpoint(ANJI), clerk.login, clerk.password);

    const disabled = await call(ANJI, 'POST', '/v1/operator/staff/zhao/disable');
    expect(disabled.status).toBe(200);
    expect(disabled.json).toMatchObject({ staff: { login: clerk.login, disabled: true }, sessionsEnded: 2 });
    expect(await withCookie()).toBe(401);
    expect((await other.fetch(new URL('/v1/auth/me', endpoint(ANJI)))).status).toBe(401);
    // The hub refuses them: the form again, 401.
    const refused = await signIn(hub, clerk.login, clerk.password, { clientId: ANJI, redirectUri: callbackOf(ANJI) }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(SignInRefused);
    expect((refused as SignInRefused).status).toBe(401);
    // The list says so; disabling again changes nothing and ends nothing.
    const list = await call(ANJI, 'GET', '/v1/operator/staff');
    expect(list.json.staff.find((s: any) => s.login === clerk.login)).toMatchObject({ disabled: true });
    expect((await call(ANJI, 'POST', `/v1/operator/staff/${encodeURIComponent(clerk.login)}/disable`)).json).toMatchObject({ staff: { disabled: true }, sessionsEnded: 0 });
    // No such staff member at Anji.
    const missing = await call(ANJI, 'POST', '/v1/operator/staff/nobody/disable');
    expect([missing.status, missing.json.code]).toEqual([404, 'PERSON_NOT_FOUND']);
    expect((await t.auditEntries(ANJI)).filter((e) => e.kind === 'identity.staff.disable').map((e) => e.detail.sessionsEnded)).toEqual([2, 0]);
  }, 60_000);

  it("Anji's operator can neither enrol nor disable Sandu's staff (another division's login: 403), and only the operator token is let in", async () => {
    expect((await call(SANDU, 'POST', '/v1/operator/staff', { body: { login: 'sun', name: '孙', password: 'sun-password-1', roles: ['clerk'] } })).status).toBe(201);
    const enrol = await call(ANJI, 'POST', '/v1/operator/staff', { body: { login: `li@${SANDU}`, name: '李', password: 'li-password-12', roles: ['operator'] } });
    expect([enrol.status, enrol.json.code]).toEqual([403, 'IDENTITY_NODE_MISMATCH']);
    expect(await t.f.hub.runtime!.store.people.byLogin(`li@${SANDU}`)).toBeUndefined();
    for (const login of [`sun@${SANDU}`, encodeURIComponent(`sun@${SANDU}`)]) {
      const disable = await call(ANJI, 'POST', `/v1/operator/staff/${login}/disable`);
      expect([disable.status, disable.json.code]).toEqual([403, 'IDENTITY_NODE_MISMATCH']);
    }
    expect(await t.f.hub.runtime!.store.people.byLogin(`sun@${SANDU}`)).toMatchObject({ disabled: false, node: SANDU });

    // Without the node's operator token: nobody (401) — no token, Sandu's token at Anji, a staff member's own token.
    const sun = await signIn(hub, `sun@${SANDU}`, 'sun-password-1', { clientId: SANDU, redirectUri: callbackOf(SANDU) });
    for (const token of [null, t.f.operatorToken(SANDU), sun.accessToken]) {
      expect((await call(ANJI, 'GET', '/v1/operator/staff', { token })).status).toBe(401);
      expect((await call(ANJI, 'POST', '/v1/operator/staff', { token, body: { login: 'x', name: 'x', roles: ['clerk'] } })).status).toBe(401);
      expect((await call(ANJI, 'POST', '/v1/operator/staff/zhao/disable', { token })).status).toBe(401);
    }
    // The hub's own staff are enrolled otherwise: it serves no such route.
    const atHub = await fetch(new URL('/v1/operator/staff', hub), { headers: { authorization: `Bearer ${t.f.operatorToken('100000')}` } });
    expect(atHub.status).toBe(404);
    // The hub's list answers the signer's own staff only: Sandu's list signed by Sandu.
    expect((await call(SANDU, 'GET', '/v1/operator/staff')).json.staff.map((s: any) => s.login)).toContain(`sun@${SANDU}`);
  }, 60_000);

  it('tongban account staff grant|grants|revoke-grant: the node-local grant of the administering roles, a passphrase from stdin or generated once, refusals exit 1', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'tongban-grant-'));
    const tongban = (args: string[], input?: string) => runTongban([...args, '--federation', t.f.dir], { cwd, env: { TONGBAN_TOKEN: '' }, ...(input === undefined ? {} : { input }) });
    // Enrolled through the node with dataAdmin: granted here at once, a node passphrase printed once beside the password.
    const added = await tongban(['account', 'staff', 'add', '--node', ANJI, '--login', 'jiang', '--name', '蒋', '--role', 'dataAdmin']);
    expect([added.code, added.stderr]).toEqual([0, '']);
    expect(added.stdout).toMatch(/^node passphrase\s+[\w-]{20,}$/m);
    const granted = await tongban(['account', 'staff', 'grant', 'jiang', '--node', ANJI, '--role', 'dataAdmin', '--role', 'operator', '--passphrase-stdin', '--json'], 'jiang-node-passphrase\n');
    expect([granted.code, granted.stderr]).toEqual([0, '']);
    const json = JSON.parse(granted.stdout);
    expect(json).toMatchObject({ grant: { login: `jiang@${ANJI}`, roles: ['dataAdmin', 'operator'], locked: false, revokedAt: null } });
    expect(json).not.toHaveProperty('generatedPassphrase');
    const table = await tongban(['account', 'staff', 'grants', '--node', ANJI]);
    expect(table.stdout).toMatch(/^LOGIN\s+ROLES\s+GRANTED\s+REVOKED\s+LOCKED$/m);
    expect(table.stdout).toMatch(new RegExp(`^jiang@${ANJI}\\s+dataAdmin,operator\\s+\\S+\\s+no$`, 'm'));
    const revoked = await tongban(['account', 'staff', 'revoke-grant', 'jiang', '--node', ANJI]);
    expect([revoked.code, revoked.stdout]).toEqual([0, expect.stringMatching(new RegExp(`^revoked\\s+jiang@${ANJI} at ${ANJI} `, 'm'))]);
    expect(JSON.parse((await tongban(['account', 'staff', 'grants', '--node', ANJI, '--json'])).stdout).find((g: { login: string }) => g.login === `jiang@${ANJI}`).revokedAt).toEqual(expect.any(String));
    // Refusals: another division, a short passphrase, nobody to revoke.
    const foreign = await tongban(['account', 'staff', 'grant', `sun@${SANDU}`, '--node', ANJI, '--role', 'dataAdmin']);
    expect([foreign.code, foreign.stderr]).toEqual([1, expect.stringMatching(/^tongban: refused \(IDENTITY_NODE_MISMATCH\): /)]);
    const short = await tongban(['account', 'staff', 'grant', 'jiang', '--node', ANJI, '--role', 'dataAdmin', '--passphrase-stdin'], 'short\n');
    expect([short.code, short.stderr]).toEqual([1, expect.stringMatching(/^tongban: refused \(VALIDATION_FAILED\): /)]);
    const nobody = await tongban(['account', 'staff', 'revoke-grant', 'nobody', '--node', ANJI]);
    expect([nobody.code, nobody.stderr]).toEqual([1, expect.stringMatching(/^tongban: refused \(PERSON_NOT_FOUND\): /)]);
  }, 120_000);

  it('tongban account staff add|list|disable: tables by default, --json, a password from stdin or generated and printed once, refusals exit 1', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'tongban-staff-'));
    const tongban = (args: string[], input?: string) => runTongban([...args, '--federation', t.f.dir], { cwd, env: { TONGBAN_TOKEN: '' }, ...(input === undefined ? {} : { input }) });
    // Generated: printed once, and it works at the hub.
    const added = await tongban(['account', 'staff', 'add', '--node', ANJI, '--login', 'feng', '--name', '冯', '--role', 'clerk', '--role', 'approver']);
    expect([added.code, added.stderr]).toEqual([0, '']);
    expect(added.stdout).toMatch(new RegExp(`^staff\\s+feng@${ANJI} \\(clerk, approver\\) at ${ANJI} `, 'm'));
    const password = /^password\s+(\S+)$/m.exec(added.stdout)![1]!;
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(added.stdout).toMatch(/shown once/);
    expect((await signIn(hub, `feng@${ANJI}`, password, { clientId: ANJI, redirectUri: callbackOf(ANJI) })).claims).toMatchObject({ tongban_roles: ['clerk', 'approver'] });
    // From standard input (one trailing line ending dropped), --json: no password answered.
    const piped = await tongban(['account', 'staff', 'add', '--node', ANJI, '--login', `chu@${ANJI}`, '--name', '褚', '--role', 'supervisor', '--password-stdin', '--json'], 'chu-password-from-stdin\n');
    expect(piped.code).toBe(0);
    const json = JSON.parse(piped.stdout);
    expect(json.staff).toMatchObject({ login: `chu@${ANJI}`, roles: ['supervisor'], disabled: false });
    expect(json).not.toHaveProperty('generatedPassword');
    await signIn(hub, `chu@${ANJI}`, 'chu-password-from-stdin', { clientId: ANJI, redirectUri: callbackOf(ANJI) });
    // The list: a table, and --json with the route's shape.
    const table = await tongban(['account', 'staff', 'list', '--node', ANJI]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^LOGIN\s+NAME\s+ROLES\s+DISABLED\s+CREATED$/m);
    expect(table.stdout).toMatch(new RegExp(`^feng@${ANJI}\\s+冯\\s+clerk,approver\\s+no\\s`, 'm'));
    expect(table.stdout).toMatch(new RegExp(`^zhao@${ANJI}\\s+赵\\s+clerk\\s+yes\\s`, 'm'));
    const listed = JSON.parse((await tongban(['account', 'staff', 'list', '--node', ANJI, '--json', '--limit', '2'])).stdout);
    expect(listed.staff.length).toBe(2);
    expect(listed.total).toBeGreaterThan(2);
    // Disable, with its open session at Anji.
    const browser = new Browser();
    await signInAtNode(browser, endpoint(ANJI), `feng@${ANJI}`, password);
    const disabled = await tongban(['account', 'staff', 'disable', 'feng', '--node', ANJI]);
    expect([disabled.code, disabled.stderr]).toEqual([0, '']);
    expect(disabled.stdout).toMatch(/^disabled\s+yes$/m);
    expect(disabled.stdout).toMatch(/^sessions ended\s+1$/m);
    expect((await browser.fetch(new URL('/v1/auth/me', endpoint(ANJI)))).status).toBe(401);
    // Refusals: exit 1 with the code.
    const foreign = await tongban(['account', 'staff', 'disable', `sun@${SANDU}`, '--node', ANJI]);
    expect([foreign.code, foreign.stdout]).toEqual([1, '']);
    expect(foreign.stderr).toMatch(/^tongban: refused \(IDENTITY_NODE_MISMATCH\): /);
    const taken = await tongban(['account', 'staff', 'add', '--node', ANJI, '--login', 'feng', '--name', '冯', '--role', 'clerk']);
    expect([taken.code, taken.stderr]).toEqual([1, expect.stringMatching(/^tongban: refused \(PERSON_LOGIN_TAKEN\): /)]);
    const short = await tongban(['account', 'staff', 'add', '--node', ANJI, '--login', 'wei', '--name', '卫', '--role', 'clerk', '--password-stdin'], 'short\n');
    expect([short.code, short.stderr]).toEqual([1, expect.stringMatching(/^tongban: refused \(VALIDATION_FAILED\): /)]);
    const missing = await tongban(['account', 'staff', 'disable', 'nobody', '--node', ANJI]);
    expect([missing.code, missing.stderr]).toEqual([1, expect.stringMatching(/^tongban: refused \(PERSON_NOT_FOUND\): /)]);
    // The machine-client commands are unchanged beside them.
    const machine = await tongban(['account', 'add', '--node', ANJI, '--id', 'staff-kiosk', '--role', 'clerk', '--name', '窗口']);
    expect(machine.stdout).toMatch(/^token\s+\S{20,}$/m);
  }, 120_000);

  it('a node the hub no longer accepts is told HUB_REFUSED (502); a hub that does not answer is HUB_UNREACHABLE (503); nothing changes at the node', async () => {
    const suspended = await fetch(new URL(`/v1/directory/nodes/${QINGPU}/suspend`, hub), { method: 'POST', headers: { authorization: `Bearer ${t.f.adminToken()}`, 'content-type': 'application/json' }, body: '{}' });
    expect(suspended.status).toBe(200);
    const refused = await call(QINGPU, 'POST', '/v1/operator/staff', { body: { login: 'zhou', name: '周', roles: ['clerk'] } });
    expect([refused.status, refused.json.code, refused.type]).toEqual([502, 'HUB_REFUSED', 'application/problem+json; charset=utf-8']);
    expect(refused.json.detail).toMatch(/NODE_NOT_APPROVED|NODE_UNKNOWN/);
    expect(await t.f.hub.runtime!.store.people.byLogin(`zhou@${QINGPU}`)).toBeUndefined();

    await call(ANJI, 'POST', '/v1/operator/staff', { body: { login: 'wu', name: '吴', password: 'wu-password-12', roles: ['clerk'] } });
    const wuBrowser = new Browser();
    await signInAtNode(wuBrowser, endpoint(ANJI), `wu@${ANJI}`, 'wu-password-12');
    await t.f.hub.stop();
    for (const [method, path] of [
      ['POST', '/v1/operator/staff'],
      ['GET', '/v1/operator/staff'],
      ['POST', '/v1/operator/staff/wu/disable'],
    ] as const) {
      const answer = await call(ANJI, method, path, { body: { login: 'zheng', name: '郑', roles: ['clerk'] } });
      expect([answer.status, answer.json.code, answer.type], `${method} ${path}`).toEqual([503, 'HUB_UNREACHABLE', 'application/problem+json; charset=utf-8']);
    }
    // The hub was not told: wu's session at Anji stays (the operator retries once the hub answers).
    expect((await wuBrowser.fetch(new URL('/v1/auth/me', endpoint(ANJI)))).status).toBe(200);
  }, 60_000);
}
