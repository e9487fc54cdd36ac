import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_PASSWORD } from '../src/federation/index.ts';
import { initNode, openNode } from '../src/node/index.ts';
import { buildServer } from '../src/server/index.ts';
import { DEFAULT_CONSOLE_DIR } from '../src/server/console.ts';
import { browserMissing, launchBrowser, openPage, pageWidth, shot, signIn as signInAt, unlabelled } from './support/browser.ts';
import { generateSigningKey, startTestFederation, type TestFederation } from './support/federation.ts';

/**
 * The web console (issue 14, first slice): served by the nodes at /console/, signed in through
 * the hub's real login page in Debian's chromium (playwright-core), against a real federation.
 */
const SANDU = '522732';
const ANJI = '330523';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const STATE_LABELS: Record<string, string> = { applied: '已申办', accepted: '已受理', in_review: '审查中' };
const missing = browserMissing('test/console.test.ts');

describe('the console build and how a node serves it', () => {
  it('the committed API types are what `npm run console:api` generates from the node’s OpenAPI document', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tongban-console-api-'));
    try {
      execFileSync('npm', ['run', 'console:api', '--', '--out', join(dir, 'schema.d.ts')], { cwd: ROOT, stdio: 'pipe' });
      expect(readFileSync(join(dir, 'schema.d.ts'), 'utf8')).toBe(readFileSync(join(ROOT, 'console/src/api/schema.d.ts'), 'utf8'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('a node without the build starts, and answers 404 problem+json at /console/', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tongban-console-'));
    try {
      const hubKey = await generateSigningKey('Ed25519', '100000');
      const { configPath } = await initNode({ dir: join(dir, 'node'), division: SANDU, role: 'node', port: 0, hub: { url: 'http://127.0.0.1:1', kid: hubKey.kid, jwk: hubKey.publicJwk } });
      const runtime = await openNode(configPath, { env: {}, log: () => {} });
      const app = await buildServer({ runtime, logLevel: 'silent', consoleDir: join(dir, 'no-console') });
      try {
        for (const url of ['/console/', '/console/cases/C-522732-ABCDEF', '/console/assets/index.js']) {
          const answer = await app.inject({ method: 'GET', url });
          expect(answer.statusCode, url).toBe(404);
          expect(answer.headers['content-type'], url).toMatch(/^application\/problem\+json/);
          expect(answer.json()).toMatchObject({ status: 404, code: 'NOT_FOUND' });
        }
        expect((await app.inject({ method: 'GET', url: '/console/' })).json().detail).toMatch(/not built/);
        expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
      } finally {
        await app.close();
        await runtime.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(missing)('the web console in a browser', () => {
  let t: TestFederation;
  let browser: Browser;
  let sandu: string;
  const cases: Record<'a' | 'b', string> = { a: '', b: '' };
  let citizens: Array<{ login: string; name: string }> = [];
  let caseState = '';

  beforeAll(async () => {
    t = await startTestFederation('sqlite', { demoPeople: { password: DEMO_PASSWORD } });
    sandu = t.f.nodes.get(SANDU)!.endpoint;
    // Two citizens of Sandu's registry; the clerk's counter opens a proxy case for each.
    citizens = t.f.people.filter((p) => p.kind === 'citizen').slice(0, 2);
    const clerk = (await t.operator(SANDU, '/v1/operator/accounts', { id: 'console-counter', role: 'clerk', name: 'counter' })).json.token as string;
    for (const [key, person] of [
      ['a', citizens[0]!],
      ['b', citizens[1]!],
    ] as const) {
      const response = await fetch(new URL('/v1/cases', sandu), {
        method: 'POST',
        headers: { authorization: `Bearer ${clerk}`, 'content-type': 'application/json' },
        body: JSON.stringify({ itemCode: 'N010', mode: 'proxy', competentNodes: [ANJI], applicant: { idNumber: person.login, name: person.name } }),
      });
      expect(response.status).toBe(201);
      const opened = (await response.json()) as { case: { id: string; state: string } };
      cases[key] = opened.case.id;
      caseState = opened.case.state;
    }
    browser = await launchBrowser();
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  const open = (width: number, height: number) => openPage(browser, width, height);
  const signIn = (page: Page, login: string) => signInAt(page, sandu, t.f.hub.endpoint, login);

  it('serves the page with a nonce CSP, no caching of the page, and immutable hashed assets', async () => {
    const page = await fetch(new URL('/console/cases/anything', sandu));
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy')!;
    const nonce = /'nonce-([^']+)'/.exec(csp)![1]!;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self';");
    expect(csp).not.toContain('unsafe');
    expect(page.headers.get('cache-control')).toBe('no-store');
    const html = await page.text();
    expect(html).toContain(`<meta name="csp-nonce" content="${nonce}">`);
    expect(html).toContain('<meta name="tongban-session" content="0">');
    const asset = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const script = await fetch(new URL(asset, sandu));
    expect(script.status).toBe(200);
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    const missing = await fetch(new URL('/console/assets/missing.js', sandu));
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    // The hub serves the console too (issue 14: its published governance dashboards, no sign-in), with the same CSP.
    const hubPage = await fetch(new URL('/console/', t.f.hub.endpoint));
    expect(hubPage.status).toBe(200);
    expect(hubPage.headers.get('content-security-policy')).not.toContain('unsafe');
    expect(await hubPage.text()).toContain('<meta name="tongban-role" content="hub">');
    expect(readdirSync(join(DEFAULT_CONSOLE_DIR, 'assets')).some((f) => asset.endsWith(f))).toBe(true);
  });

  it('a clerk signs in at the hub, finds the case, opens it by keyboard; English switches the labels', async () => {
    const { context, page, errors, failed } = await open(1280, 800);
    try {
      await signIn(page, `clerk@${SANDU}`);
      await expect.poll(() => page.getByRole('heading', { name: '案件列表' }).isVisible()).toBe(true);
      await expect.poll(() => page.getByTestId('person').textContent()).toContain('窗口人员');
      const link = page.getByRole('link', { name: cases.a });
      await link.waitFor();
      expect(await page.getByRole('link', { name: cases.b }).isVisible()).toBe(true);
      expect(await page.locator('[data-light]').first().getAttribute('data-light')).toMatch(/^(green|yellow|red|none)$/);
      expect(await unlabelled(page)).toEqual([]);
      await shot(page, 'clerk-cases-1280.png');

      // The state filter, by its label: delivered cases (none of ours), then the state ours are in.
      const filter = async (label: string) => {
        await page.getByLabel('案件状态').click();
        await page.locator('.ant-select-item-option', { hasText: label }).click();
      };
      await filter('已送达');
      await expect.poll(() => page.getByRole('link', { name: cases.a }).count()).toBe(0);
      await filter(STATE_LABELS[caseState]!);
      await link.waitFor();
      await filter('全部状态');
      await link.waitFor();

      // Keyboard: Tab reaches the case's link, Enter opens it.
      await page.locator('body').click({ position: { x: 5, y: 300 } });
      let focused = '';
      for (let i = 0; i < 40 && focused !== cases.a; i++) {
        await page.keyboard.press('Tab');
        focused = await page.evaluate<string>("document.activeElement?.textContent ?? ''");
      }
      expect(focused).toBe(cases.a);
      await page.keyboard.press('Enter');
      await page.waitForURL((url) => url.pathname === `/console/cases/${cases.a}`);
      await page.getByRole('heading', { name: '办理记录' }).waitFor();
      for (const heading of ['申请材料', '共享数据']) expect(await page.getByRole('heading', { name: heading }).isVisible()).toBe(true);
      expect(await page.getByText(citizens[0]!.name).first().isVisible()).toBe(true);
      await shot(page, 'clerk-case-1280.png');

      await page.getByRole('button', { name: /Switch to English/ }).click();
      await page.getByRole('heading', { name: 'History' }).waitFor();
      for (const heading of ['Materials', 'Evidence']) expect(await page.getByRole('heading', { name: heading }).isVisible()).toBe(true);
      expect(await page.getByRole('button', { name: 'Sign out' }).isVisible()).toBe(true);
      expect(await page.evaluate<string>('document.documentElement.lang')).toBe('en');
      await shot(page, 'clerk-case-en-1280.png');
      await page.getByRole('link', { name: /Back to the list/ }).click();
      await page.getByRole('heading', { name: 'Cases' }).waitFor();
      // Back to Chinese, then sign out: the sign-in button again.
      await page.getByRole('button', { name: /Switch to Chinese/ }).click();
      await page.getByRole('button', { name: '退出登录' }).click();
      await page.getByRole('link', { name: '登录' }).waitFor();
      expect(errors).toEqual([]);
      expect(failed).toEqual([]);
    } finally {
      await context.close();
    }
  }, 120_000);

  it('a citizen sees their own case only, at phone width too; another citizen’s case is not shown', async () => {
    const { context, page, errors, failed } = await open(390, 844);
    try {
      await signIn(page, citizens[0]!.login);
      await page.getByRole('heading', { name: '我的办件' }).waitFor();
      await page.getByRole('link', { name: cases.a }).waitFor();
      expect(await page.getByRole('link', { name: cases.b }).count()).toBe(0);
      expect(await page.getByText(citizens[1]!.name).count()).toBe(0);
      expect(await unlabelled(page)).toEqual([]);
      // Nothing wider than the phone: the table scrolls inside itself.
      expect(await pageWidth(page)).toBeLessThanOrEqual(390);
      await shot(page, 'citizen-cases-390.png');
      await page.getByRole('link', { name: cases.a }).click();
      await page.getByRole('heading', { name: '办理记录' }).waitFor();
      expect(await pageWidth(page)).toBeLessThanOrEqual(390);
      await shot(page, 'citizen-case-390.png');
      expect(errors).toEqual([]);
      expect(failed).toEqual([]);

      // The other citizen's case by its address: the node refuses it (404), the page says so and shows nothing of it.
      await page.goto(new URL(`/console/cases/${cases.b}`, sandu).href);
      await page.getByText('没有找到该案件，或您无权查看。').waitFor();
      expect(await page.getByText(citizens[1]!.name).count()).toBe(0);
      expect(failed).toEqual([`GET /v1/cases/${cases.b} 404`]);
    } finally {
      await context.close();
    }
  }, 120_000);

  it('staff of another node get a clear message and no internal view', async () => {
    const { context, page, errors, failed } = await open(1280, 800);
    try {
      await signIn(page, `clerk@${ANJI}`);
      await page.getByText(`您是 ${ANJI} 节点的工作人员`).waitFor();
      expect(await page.getByRole('heading', { name: '案件列表' }).count()).toBe(0);
      expect(await page.getByRole('link', { name: cases.a }).count()).toBe(0);
      await shot(page, 'foreign-staff-1280.png');
      expect(errors).toEqual([]);
      expect(failed).toEqual([]);
    } finally {
      await context.close();
    }
  }, 120_000);
});
