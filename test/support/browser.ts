import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { DEMO_PASSWORD } from '../../src/federation/index.ts';

/**
 * The console's browser tests: Debian's chromium driven by playwright-core (`npx playwright
 * install` cannot work here), a fresh profile per scenario, console errors and failed requests
 * recorded, screenshots kept under test-results/console/.
 */
export const SHOTS = fileURLToPath(new URL('../../test-results/console/', import.meta.url));
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];

function chromiumPath(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}
export const executablePath = chromiumPath();
/**
 * Without chromium the browser tests cannot run: skipped on a developer's machine (said so), a
 * failure under CI, where .ci/run installs it.
 */
export function browserMissing(file: string): boolean {
  const missing = !executablePath && !process.env.CI;
  if (missing) console.warn(`${file}: chromium is not installed (\`apt-get install -y chromium\`): the browser tests are SKIPPED.`);
  return missing;
}

export async function launchBrowser(): Promise<Browser> {
  expect(executablePath, 'chromium is required under CI (.ci/run installs it with apt)').toBeDefined();
  mkdirSync(SHOTS, { recursive: true });
  return chromium.launch({ executablePath: executablePath!, args: CHROMIUM_ARGS });
}

export interface OpenPage {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Errors and warnings in the browser's console, and uncaught page errors. */
  readonly errors: string[];
  /** Requests that failed, and answers of 400 or more ("GET /path 404"). */
  readonly failed: string[];
}

/** A fresh browser profile (no cookies: no hub session either), recording console errors and failed requests. */
export async function openPage(browser: Browser, width: number, height: number): Promise<OpenPage> {
  const context = await browser.newContext({ viewport: { width, height }, locale: 'zh-CN' });
  // Every wait (a click, a heading, a case arriving from another node): on a machine running the
  // whole suite, what takes a second alone can take many; a minute is still a failure worth seeing.
  context.setDefaultTimeout(60_000);
  const page = await context.newPage();
  const errors: string[] = [];
  const failed: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()} (${m.location().url}:${m.location().lineNumber}:${m.location().columnNumber})`);
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => {
    // A request the page itself cut off by going elsewhere (an event stream, a list still loading
    // when the test navigates) is not a failure: the browser reports it as aborted.
    if (r.failure()?.errorText !== 'net::ERR_ABORTED') failed.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) failed.push(`${r.request().method()} ${new URL(r.url()).pathname} ${r.status()}`);
  });
  return { context, page, errors, failed };
}

/** From the console's sign-in button at `node` through the hub's own login page, back to the console. */
export async function signIn(page: Page, node: string, hub: string, login: string, password = DEMO_PASSWORD): Promise<void> {
  await page.goto(new URL('/console/', node).href);
  await page.getByRole('link', { name: '登录' }).click();
  await page.waitForURL((url) => url.origin === new URL(hub).origin);
  await page.getByLabel(/登录名/).fill(login);
  await page.getByLabel(/密码/).fill(password);
  await page.getByRole('button', { name: /登录/ }).click();
  await page.waitForURL((url) => url.origin === new URL(node).origin && url.pathname === '/console/');
}

/** A screenshot once nothing is loading any more. */
export async function shot(page: Page, name: string): Promise<void> {
  await expect.poll(() => page.locator('.ant-spin-spinning').count()).toBe(0);
  await page.screenshot({ path: join(SHOTS, name), fullPage: true });
}

/** Every input, select and button on the page has a name: a label, its text, an aria-label (its own or an icon's) or a title around it. */
export async function unlabelled(page: Page): Promise<string[]> {
  // A string: it runs in the page (the test is type-checked without the DOM's types).
  return page.evaluate<string[]>(`[...document.querySelectorAll('input:not([type=hidden]), select, textarea, button, [role=combobox]')]
    .filter((el) => !(el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || el.labels?.length || el.textContent?.trim() || el.querySelector('[aria-label]') || el.closest('[title]')))
    .map((el) => el.outerHTML.slice(0, 120))`);
}

/** Nothing wider than the viewport: the page does not scroll sideways (tables scroll inside themselves). */
export async function pageWidth(page: Page): Promise<number> {
  return page.evaluate<number>('document.documentElement.scrollWidth');
}
