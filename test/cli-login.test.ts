import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import * as oidc from 'openid-client';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedRequestHeaders } from '../src/exchange/index.ts';
import { freePortRun } from './free-ports.ts';
import { runTongban, startTongban, type RunningTongban } from './support/cli.ts';
import { startTestFederation, type Backend, type TestFederation } from './support/federation.ts';
import { describePostgres } from './support/postgres.ts';
import { approveDevice } from './support/identity.ts';

const SANDU = '522732';
const ANJI = '330523';
const STAFF = { login: 'clerk-cli@522732', name: '王五', password: 'staff-password-cli', roles: ['clerk', 'approver'] };

interface DeviceStart {
  verificationUri: string;
  verificationUriComplete?: string;
  userCode: string;
  expiresIn: number;
}

/** A hidden or filled field of the page's form. */
const field = (page: string, name: string) => new RegExp(`name="${name}"[^>]*?value="([^"]*)"`).exec(page)?.[1];

/**
 * `tongban login` at the terminal (issue 12, item 7): the real CLI as a child process runs the
 * OAuth device flow against the hub of a real federation (servers on loopback; SQLite, and
 * PostgreSQL when TONGBAN_TEST_DATABASE_URL is set), and the
 * test plays the person's browser on the hub's pages — code entry, confirmation, sign-in form.
 */
describe('[sqlite] tongban login (device flow), whoami, tracker with the stored sign-in, logout', () => loginSuite('sqlite'));
// The provider's device codes, grants and refresh tokens in PostgreSQL (the adapter's look-up by user code, consumption, revocation).
describePostgres('tongban login (device flow), whoami, tracker with the stored sign-in, logout', () => loginSuite('postgres'));

function loginSuite(backend: Backend): void {
  let t: TestFederation;
  let hub: string;
  let cwd: string;
  let citizen: string;
  let citizenPassword: string;
  /** Each person's token folder (TONGBAN_HOME). */
  const homes = { staff: '', citizen: '', denied: '', none: '' };
  const env = (home: string) => ({ TONGBAN_HOME: home, TONGBAN_TOKEN: '' });
  const tokenFile = (home: string) => join(home, 'tokens.json');
  const stored = (home: string) => (JSON.parse(readFileSync(tokenFile(home), 'utf8')) as { hubs: Record<string, any> }).hubs[hub];

  /** Starts `tongban login --json` and reads its first line: where the person goes, and the code. */
  async function startLogin(home: string, args: string[] = ['--hub', hub]): Promise<{ cli: RunningTongban; start: DeviceStart }> {
    const cli = startTongban(['login', ...args, '--json'], { cwd, env: env(home) });
    const start = JSON.parse(await cli.line((l) => l.startsWith('{'))) as DeviceStart;
    return { cli, start };
  }

  /**
   * The person at the browser: opens `url`, enters the code when the page asks for it, confirms
   * (or cancels) on the confirmation page, and signs in. Answers the last page — a refusal too.
   * Every page is plain: no scripts, never framed.
   */
  async function approve(url: string, code: string, login: string, password: string, options: { cancel?: boolean } = {}): Promise<{ status: number; page: string; pages: string[] }> {
    return approveDevice(url, code, login, password, {
      ...options,
      refusal: 'answer',
      onPage: (response, page) => {
        expect(page).not.toMatch(/<script|onfocus=|onload=/i);
        expect(response.headers.get('x-frame-options')).toBe('DENY');
      },
    });
  }

  beforeAll(async () => {
    // Fixed ports (free ones found now): the CLI finds each node where its config says.
    t = await startTestFederation(backend, { portBase: await freePortRun(5) });
    hub = t.f.hub.endpoint;
    // The README's commands use the default folder, var/demo: here it is the running test federation.
    cwd = mkdtempSync(join(tmpdir(), 'tongban-login-'));
    mkdirSync(join(cwd, 'var'));
    symlinkSync(t.f.dir, join(cwd, 'var', 'demo'));
    for (const name of Object.keys(homes) as Array<keyof typeof homes>) homes[name] = join(cwd, `home-${name}`, 'tongban');
    // A staff member of Sandu, enrolled by Sandu (signed with its key), and a citizen of Sandu's registry.
    const url = new URL('/v1/identity/staff', hub).toString();
    const body = JSON.stringify(STAFF);
    const enrolled = await fetch(url, { method: 'POST', headers: await signedRequestHeaders(t.key(SANDU), url, body, new Date()), body });
    expect(enrolled.status).toBe(201);
    const db = new BetterSqlite3(t.f.registryPath(SANDU), { readonly: true });
    citizen = (db.prepare('SELECT id_number AS idNumber FROM household LIMIT 1').get() as { idNumber: string }).idNumber;
    db.close();
    citizenPassword = `pw-${citizen}-secret`;
    const citizenEnrolled = await fetch(new URL('/v1/identity/citizens', hub), {
      method: 'POST',
      headers: { authorization: `Bearer ${t.f.adminToken()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ idNumber: citizen, name: '韦小梅', password: citizenPassword }),
    });
    expect(citizenEnrolled.status).toBe(201);
  }, 300_000);
  afterAll(async () => {
    await t?.stop();
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  it('a clerk signs in at the terminal: code page, confirmation, sign-in form; the tokens are kept in a 0600 file', async () => {
    // As the README says it: the hub of var/demo.
    const { cli, start } = await startLogin(homes.staff, []);
    expect(start.verificationUri).toBe(`${hub}/oidc/device`);
    expect(start.userCode).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
    expect(start.expiresIn).toBeGreaterThan(60);
    // A wrong code first: the page says so and asks again.
    const wrong = await approve(start.verificationUri, 'BCDF-GHJK', STAFF.login, STAFF.password);
    expect(wrong.page).toContain('代码无效、已使用或已过期');
    const finished = await approve(start.verificationUri, start.userCode, STAFF.login, STAFF.password);
    expect(finished.status).toBe(200);
    expect(finished.page).toContain('已登录 · Signed in');
    expect(finished.pages.some((p) => p.includes('name="password"'))).toBe(true);
    const result = await cli.done;
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    const signedIn = JSON.parse(lines[1]!);
    expect(signedIn).toMatchObject({ hub, person: { kind: 'staff', name: STAFF.name, node: SANDU, roles: ['clerk', 'approver'] }, refreshable: true, tokenFile: tokenFile(homes.staff) });
    // The file: 0600 in a 0700 folder, keyed by the hub; the access token is the hub's JWT for the federation.
    expect(statSync(tokenFile(homes.staff)).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(tokenFile(homes.staff))).mode & 0o777).toBe(0o700);
    const login = stored(homes.staff);
    expect(login.refreshToken).toBeTruthy();
    const claims = decodeJwt(login.accessToken);
    expect(claims).toMatchObject({ iss: `${hub}/oidc`, aud: 'urn:tongban:federation', tongban_kind: 'staff', tongban_node: SANDU, client_id: 'tongban-cli' });
    expect(Date.parse(login.expiresAt)).toBeGreaterThan(Date.now() + 5 * 60_000);
  }, 90_000);

  it('whoami: the clerk acts at their own node; another node refuses them (STAFF_OF_ANOTHER_NODE), by code or URL', async () => {
    const own = await runTongban(['whoami', '--node', SANDU], { cwd, env: env(homes.staff) });
    expect(own.code, own.stderr).toBe(0);
    expect(own.stdout).toMatch(/^name\s+王五$/m);
    expect(own.stdout).toMatch(/^roles\s+clerk, approver$/m);
    expect(own.stdout).toMatch(new RegExp(`^at\\s+${SANDU} `, 'm'));
    expect(own.stdout).toMatch(/^acts here\s+yes$/m);
    expect(own.stdout).toMatch(/^via\s+access-token$/m);
    const json = await runTongban(['whoami', '--node', t.f.nodes.get(SANDU)!.endpoint, '--json'], { cwd, env: env(homes.staff) });
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ kind: 'staff', node: SANDU, actsHere: true });
    // The case commands use the sign-in too: the clerk lists the cases of their node.
    const cases = await runTongban(['case', 'list', '--node', SANDU, '--federation', t.f.dir, '--json'], { cwd, env: env(homes.staff) });
    expect(cases.code, cases.stderr).toBe(0);
    expect(Array.isArray(JSON.parse(cases.stdout))).toBe(true);
    const elsewhere = await runTongban(['case', 'list', '--node', ANJI, '--federation', t.f.dir], { cwd, env: env(homes.staff) });
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toMatch(/refused \(STAFF_OF_ANOTHER_NODE\)/);
    for (const node of [ANJI, t.f.nodes.get(ANJI)!.endpoint]) {
      const other = await runTongban(['whoami', '--node', node, '--federation', t.f.dir], { cwd, env: env(homes.staff) });
      expect(other.code).toBe(1);
      expect(other.stderr).toMatch(/^tongban: refused \(STAFF_OF_ANOTHER_NODE\): .*522732/);
    }
  });

  it('login --status renews an expired access token with the refresh token (rotated), and says who until when', async () => {
    const before = stored(homes.staff);
    const content = JSON.parse(readFileSync(tokenFile(homes.staff), 'utf8'));
    content.hubs[hub].expiresAt = new Date(Date.now() - 60_000).toISOString();
    writeFileSync(tokenFile(homes.staff), JSON.stringify(content));
    const status = await runTongban(['login', '--status', '--hub', hub, '--json'], { cwd, env: env(homes.staff) });
    expect(status.code, status.stderr).toBe(0);
    const json = JSON.parse(status.stdout);
    expect(json).toMatchObject({ hub, renewed: true, person: { name: STAFF.name, node: SANDU } });
    expect(Date.parse(json.expiresAt)).toBeGreaterThan(Date.now() + 5 * 60_000);
    const after = stored(homes.staff);
    expect(after.accessToken).not.toBe(before.accessToken);
    expect(after.refreshToken).not.toBe(before.refreshToken);
    expect(after.refreshedAt).toBeDefined();
    expect(statSync(tokenFile(homes.staff)).mode & 0o777).toBe(0o600);
    // Still valid: no renewal, and the table says who (as the README runs it: the hub of var/demo).
    const again = await runTongban(['login', '--status'], { cwd, env: env(homes.staff) });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^name\s+王五$/m);
    expect(again.stdout).toMatch(/^node\s+522732$/m);
    expect(again.stdout).not.toMatch(/^renewed/m);
    expect(stored(homes.staff).accessToken).toBe(after.accessToken);
    // The renewed token works at the clerk's node.
    const own = await runTongban(['whoami', '--node', SANDU, '--federation', t.f.dir], { cwd, env: env(homes.staff) });
    expect(own.code, own.stderr).toBe(0);
  });

  it('a citizen signs in through the page with the code filled in, and tongban tracker uses the stored sign-in', async () => {
    // Something to see: Anji asks Sandu for the citizen's household record.
    const asked = await t.operator(ANJI, '/v1/operator/exchange', { provider: SANDU, service: 'household.residence-proof', subject: { type: 'idNumber', value: citizen }, purpose: '户籍类证明开具' });
    expect(asked.status, JSON.stringify(asked.json)).toBe(200);
    // The hub of a node, by its division code.
    const { cli, start } = await startLogin(homes.citizen, ['--node', SANDU]);
    expect(start.verificationUriComplete).toBe(`${hub}/oidc/device?user_code=${encodeURIComponent(start.userCode)}`);
    const finished = await approve(start.verificationUriComplete!, start.userCode, citizen, citizenPassword);
    // The first page showed the code filled in (a plain form, submitted by the person).
    expect(field(finished.pages[0]!, 'user_code')).toBe(start.userCode);
    expect(finished.page).toContain('已登录 · Signed in');
    const result = await cli.done;
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout.trim().split('\n')[1]!).person).toMatchObject({ kind: 'citizen', name: '韦小梅', roles: [] });
    // The ID number is not kept in the summary (the access token carries it for the nodes).
    expect(JSON.stringify(stored(homes.citizen).person)).not.toContain(citizen);

    const tracker = await runTongban(['tracker', '--hub', hub, '--json', '--limit', '200'], { cwd, env: env(homes.citizen) });
    expect(tracker.code, tracker.stderr).toBe(0);
    const answer = JSON.parse(tracker.stdout);
    expect(answer.entries.some((e: any) => e.requestId === asked.json.requestId && e.node === ANJI)).toBe(true);
    expect(answer.sources.every((s: any) => s.status === 'ok')).toBe(true);
    // After expiry, tracker renews the token itself.
    const content = JSON.parse(readFileSync(tokenFile(homes.citizen), 'utf8'));
    content.hubs[hub].expiresAt = new Date(Date.now() - 1000).toISOString();
    writeFileSync(tokenFile(homes.citizen), JSON.stringify(content), { mode: 0o600 });
    const renewed = await runTongban(['tracker'], { cwd, env: env(homes.citizen) });
    expect(renewed.code, renewed.stderr).toBe(0);
    expect(renewed.stdout).toMatch(/^WHEN\s+NODE\s+WHO\s+WHAT/);
    expect(Date.parse(stored(homes.citizen).expiresAt)).toBeGreaterThan(Date.now());
    // A citizen acts at any node.
    const me = await runTongban(['whoami', '--node', ANJI, '--federation', t.f.dir], { cwd, env: env(homes.citizen) });
    expect(me.code, me.stderr).toBe(0);
    expect(me.stdout).toMatch(/^kind\s+citizen$/m);
    expect(me.stdout).not.toContain(citizen);
  }, 90_000);

  it('tracker without a sign-in or a token says how to sign in (exit 1)', async () => {
    const r = await runTongban(['tracker', '--hub', hub], { cwd, env: env(homes.none) });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/refused \(UNAUTHORIZED\): Not signed in at the hub .*tongban login/);
  });

  it('logout revokes the refresh token at the hub and deletes the tokens', async () => {
    const { refreshToken } = stored(homes.citizen);
    const out = await runTongban(['logout'], { cwd, env: env(homes.citizen) });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/Signed out of .*The hub revoked the refresh token;/s);
    expect(existsSync(tokenFile(homes.citizen))).toBe(false);
    // The hub no longer renews with it.
    const config = await oidc.discovery(new URL(`${hub}/oidc`), 'tongban-cli', { id_token_signed_response_alg: 'EdDSA' }, oidc.None(), { execute: [oidc.allowInsecureRequests] });
    const refused = await oidc.refreshTokenGrant(config, refreshToken).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(oidc.ResponseBodyError);
    expect((refused as oidc.ResponseBodyError).error).toBe('invalid_grant');
    const status = await runTongban(['login', '--status', '--hub', hub], { cwd, env: env(homes.citizen) });
    expect(status.code).toBe(1);
    expect(status.stderr).toMatch(/refused \(UNAUTHORIZED\): Not signed in/);
    const again = await runTongban(['logout', '--hub', hub], { cwd, env: env(homes.citizen) });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/Not signed in/);
  });

  it('a sign-in cancelled on the confirmation page ends the command with exit 1 and says it was denied; nothing is stored', async () => {
    // The hub of a node, by the node's folder.
    const { cli, start } = await startLogin(homes.denied, ['--node', dirname(t.f.nodes.get(ANJI)!.configPath)]);
    const last = await approve(start.verificationUri, start.userCode, STAFF.login, STAFF.password, { cancel: true });
    expect(last.page).toContain('登录已取消');
    const result = await cli.done;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^tongban: refused \(LOGIN_FAILED\): 登录被拒绝 · The sign-in was denied at the hub/);
    expect(existsSync(tokenFile(homes.denied))).toBe(false);
    // The code cannot be used again.
    const reused = await approve(start.verificationUri, start.userCode, STAFF.login, STAFF.password);
    expect(reused.page).toContain('代码无效、已使用或已过期');
  }, 90_000);
}
