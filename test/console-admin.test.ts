import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_PASSPHRASE, DEMO_PASSWORD } from '../src/federation/index.ts';
import { browserMissing, launchBrowser, openPage, pageWidth, shot, signIn as signInAt, unlabelled } from './support/browser.ts';
import { startTestFederation, type TestFederation } from './support/federation.ts';

/**
 * The data administrator's console (issue 14, part 3) in Debian's chromium against a real
 * federation: Sandu's data administrator drafts an agreement from a template with Anji and changes
 * it; Anji's data administrator (another browser, at Anji's node) sees the diff and counters;
 * Sandu sees that diff and accepts; both sign; it is registered and in force at both; Sandu
 * suspends it and Anji sees who did. A clerk has no admin menu and is refused by direct URL; Anji's
 * data administrator can do nothing at Sandu.
 */
const SANDU = '522732';
const ANJI = '330523';
const AGREEMENT = 'AGR-522732-330523-UI1';
const HOUSEHOLD = 'household.residence-proof';
const missing = browserMissing('test/console-admin.test.ts');

describe.skipIf(missing)('the data administrator’s console', () => {
  let t: TestFederation;
  let browser: Browser;
  let sandu: string;
  let anji: string;

  beforeAll(async () => {
    t = await startTestFederation('sqlite', { demoPeople: { password: DEMO_PASSWORD } });
    sandu = t.f.nodes.get(SANDU)!.endpoint;
    anji = t.f.nodes.get(ANJI)!.endpoint;
    browser = await launchBrowser();
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  const open = (width: number, height: number) => openPage(browser, width, height);
  const signIn = (page: Page, node: string, login: string) => signInAt(page, node, t.f.hub.endpoint, login);
  /** The text of the diff table's rows: kind, term, was, is. */
  const diffRows = (page: Page, testId: string) => page.getByTestId(testId).locator('tbody tr.ant-table-row').allInnerTexts();

  it('two data administrators negotiate an agreement from a template with diffs, sign it, see it in force; one suspends it', async () => {
    const a = await open(1280, 800);
    const b = await open(1280, 800);
    try {
      // Sandu: the menu entry, the agreements in force (the demo's), each section.
      await signIn(a.page, sandu, `dataadmin@${SANDU}`);
      await a.page.getByRole('link', { name: '数据管理' }).click();
      await a.page.waitForURL((url) => url.pathname === '/console/admin/agreements');
      await a.page.getByRole('heading', { name: '本节点的合作协议' }).waitFor();
      await a.page.getByRole('link', { name: 'AGR-522732-330523-001' }).waitFor();
      expect(await unlabelled(a.page)).toEqual([]);
      await shot(a.page, 'admin-agreements-1280.png');
      await a.page.getByRole('link', { name: '数据服务' }).click();
      await a.page.getByRole('heading', { name: /户籍证明/ }).waitFor();
      expect(await a.page.getByRole('link', { name: 'AGR-522732-330523-001' }).count()).toBeGreaterThan(0);
      await shot(a.page, 'admin-services-1280.png');
      await a.page.getByRole('link', { name: '合作节点' }).click();
      await a.page.getByTestId(`partner-${ANJI}`).waitFor();
      expect(await a.page.getByTestId(`partner-${ANJI}`).getByText('AGR-522732-330523-001').count()).toBe(1);
      expect(await unlabelled(a.page)).toEqual([]);
      await shot(a.page, 'admin-partners-1280.png');
      await a.page.getByRole('link', { name: '本节点接入' }).click();
      await a.page.getByTestId('enrolment-status').waitFor();
      await a.page.getByText('与本节点当前密钥一致').waitFor();
      expect(await a.page.getByTestId('rotation').textContent()).toBe('本节点尚未轮换密钥');
      await shot(a.page, 'admin-enrolment-1280.png');

      // A draft from the national baseline with Anji.
      await a.page.getByRole('link', { name: '协议模板' }).click();
      await a.page.getByRole('heading', { name: '协议模板库' }).waitFor();
      await a.page.getByLabel('合作节点').click();
      await a.page.locator('.ant-select-item-option', { hasText: `(${ANJI})` }).click();
      await a.page.keyboard.press('Escape');
      await a.page.getByLabel('协议编号').fill(AGREEMENT);
      await a.page.getByLabel('本节点安全责任联系人').fill('三都县数据局');
      expect(await unlabelled(a.page)).toEqual([]);
      await shot(a.page, 'admin-templates-1280.png');
      await a.page.getByRole('button', { name: '起草', exact: true }).click();
      await a.page.waitForURL((url) => url.pathname.startsWith('/console/admin/negotiations/NEG-'));
      const negotiation = decodeURIComponent(new URL(a.page.url()).pathname.split('/').at(-1)!);
      await a.page.locator('[data-state="draft"]').first().waitFor();

      // Changed before it is proposed: a shorter time limit, consent required, one field less.
      await a.page.getByRole('button', { name: '修改条款' }).click();
      await a.page.getByLabel('事项 N034 的承诺时限（工作日）').fill('10');
      await a.page.getByRole('switch', { name: `事项 N034 中 ${SANDU} 的 ${HOUSEHOLD} 需本人授权` }).click();
      const fields = a.page.locator('.ant-select').filter({ has: a.page.getByLabel(`事项 N034 中 ${SANDU} 的 ${HOUSEHOLD} 数据项`) });
      await fields.locator('[title="householdAddress"]').locator('.ant-select-selection-item-remove, [class*="remove"]').first().click();
      expect(await unlabelled(a.page)).toEqual([]);
      await a.page.getByRole('button', { name: '保存草稿' }).click();
      await expect.poll(() => diffRows(a.page, 'template-diff')).toHaveLength(3);
      const fromTemplate = (await diffRows(a.page, 'template-diff')).join('\n');
      expect(fromTemplate).toMatch(/修改\s+items\[N034\]\.timeLimitDays\s+\d+\s+10/);
      expect(fromTemplate).toMatch(new RegExp(`修改\\s+items\\[N034\\]\\.grants\\[${SANDU}:${HOUSEHOLD}\\]\\.consentRequired\\s+false\\s+true`));
      expect(fromTemplate).toMatch(new RegExp(`删除\\s+items\\[N034\\]\\.grants\\[${SANDU}:${HOUSEHOLD}\\]\\.fields\\s+householdAddress`));
      await shot(a.page, 'admin-draft-1280.png');
      await a.page.getByRole('button', { name: '提议给各方' }).click();
      await a.page.locator('[data-state="proposed"]').first().waitFor();

      // Anji's data administrator, at Anji's node, sees the proposal and what changed from the template.
      await signIn(b.page, anji, `dataadmin@${ANJI}`);
      await b.page.getByRole('link', { name: '数据管理' }).click();
      await b.page.getByRole('link', { name: negotiation }).click({ timeout: 60_000 });
      await b.page.getByTestId('template-diff').waitFor();
      expect((await diffRows(b.page, 'template-diff')).join('\n')).toBe(fromTemplate);
      expect(await b.page.getByTestId('diff-caption').textContent()).toBe(`第 1 轮：${SANDU} 的提议。`);
      await shot(b.page, 'admin-partner-sees-proposal-1280.png');
      // It counters: N034 in 7 working days.
      await b.page.getByRole('button', { name: '还价（修改条款）' }).click();
      await b.page.getByLabel('事项 N034 的承诺时限（工作日）').fill('7');
      expect(await unlabelled(b.page)).toEqual([]);
      await b.page.getByRole('button', { name: '发出还价' }).click();
      await b.page.getByText(`已发送给发起方 ${SANDU}`).waitFor();
      await b.page.locator('[data-state="countered"]').first().waitFor({ timeout: 60_000 });

      // Sandu sees round 2 and its diff against round 1, and accepts.
      await a.page.getByTestId('round-diff').waitFor({ timeout: 60_000 });
      expect(await a.page.getByTestId('diff-caption').textContent()).toBe(`第 2 轮（${ANJI} 提出）相对第 1 轮的变更：`);
      expect(await diffRows(a.page, 'round-diff')).toEqual(['修改\titems[N034].timeLimitDays\t10\t7']);
      await shot(a.page, 'admin-counter-diff-1280.png');
      await a.page.getByRole('button', { name: '接受本轮条款' }).click();
      await a.page.locator('[data-state="accepted"]').first().waitFor();
      // Signing binds the node: the node passphrase its operator set (the demo's password), a labelled field the hub never sees.
      await a.page.getByLabel('本节点签署口令').fill(DEMO_PASSPHRASE);
      expect(await unlabelled(a.page)).toEqual([]);
      await a.page.getByRole('button', { name: '以本节点密钥签署' }).click();
      await a.page.getByText('本节点已签署，等待其他参与方签署。').waitFor();

      // Anji signs (through Sandu, the convener); Sandu registers it at the hub: in force.
      await b.page.getByLabel('本节点签署口令').fill(DEMO_PASSPHRASE, { timeout: 60_000 });
      await b.page.getByRole('button', { name: '以本节点密钥签署' }).click({ timeout: 60_000 });
      await b.page.getByText(`已发送给发起方 ${SANDU}`).waitFor();
      await a.page.getByLabel('本节点签署口令').fill(DEMO_PASSPHRASE, { timeout: 60_000 });
      await a.page.getByRole('button', { name: '提交国家平台登记' }).click({ timeout: 60_000 });
      await a.page.locator('[data-state="active"]').first().waitFor();
      const history = await a.page.locator('.ant-timeline').innerText();
      expect(history).toContain(`dataadmin@${SANDU} (数据管理员) @ ${SANDU}`);
      expect(history).toContain(`dataadmin@${ANJI} (数据管理员) @ ${ANJI}`);
      await shot(a.page, 'admin-negotiation-active-1280.png');
      await b.page.locator('[data-state="active"]').first().waitFor({ timeout: 60_000 });

      // In force at both; Sandu suspends it, Anji sees who did and that only Sandu can resume it.
      await a.page.getByRole('link', { name: AGREEMENT }).click();
      await a.page.getByRole('heading', { name: '暂停协议' }).waitFor();
      await a.page.getByLabel('理由').fill('安全事件核查');
      expect(await unlabelled(a.page)).toEqual([]);
      await a.page.getByRole('button', { name: '暂停协议' }).click();
      await a.page.getByTestId('state-change').waitFor();
      expect(await a.page.getByTestId('state-change').textContent()).toContain(`${SANDU} 的 dataadmin@${SANDU}`);
      await a.page.getByRole('heading', { name: '恢复协议' }).waitFor();
      await shot(a.page, 'admin-agreement-suspended-1280.png');
      await b.page.getByRole('link', { name: '合作协议', exact: true }).click();
      await b.page.getByRole('link', { name: AGREEMENT }).first().click({ timeout: 60_000 });
      await b.page.getByText(`该协议由 ${SANDU} 暂停，只有 ${SANDU} 可以恢复。`).waitFor({ timeout: 60_000 });
      expect(await b.page.getByTestId('state-change').textContent()).toContain('安全事件核查');
      await shot(b.page, 'admin-partner-sees-suspension-1280.png');

      for (const { errors, failed } of [a, b]) {
        expect(errors).toEqual([]);
        expect(failed).toEqual([]);
      }
    } finally {
      await a.context.close();
      await b.context.close();
    }
  }, 240_000);

  it('every section at phone width (390 px) and in English, without sideways scrolling', async () => {
    const { context, page, errors, failed } = await open(390, 844);
    try {
      // A draft of Sandu's with Changzhou (through the operator API, as the CLI would), opened later with its editor.
      const now = Date.now();
      const draft = await t.operator(SANDU, '/v1/operator/agreements/drafts', { template: 'labour-cooperation', params: { id: 'AGR-522732-320400-UI2', convener: SANDU, partners: ['320400'], validFrom: new Date(now).toISOString(), validUntil: new Date(now + 365 * 86_400_000).toISOString() } });
      expect(draft.status).toBe(201);
      // A data administrator without a case role starts at the agreements.
      await signIn(page, sandu, `dataadmin@${SANDU}`);
      await page.getByRole('heading', { name: '本节点的合作协议' }).waitFor();
      await page.getByRole('link', { name: '数据服务' }).click();
      await page.getByRole('heading', { name: /户籍证明/ }).waitFor();
      await page.getByRole('button', { name: /Switch to English/ }).click();
      const sections: Array<[string, string, (p: Page) => Promise<unknown>]> = [
        ['Data services', 'services', (p) => p.getByRole('heading', { name: /Household registration/ }).waitFor()],
        ['Agreements', 'agreements', (p) => p.getByRole('link', { name: 'AGR-522732-330523-001', exact: true }).waitFor()],
        ['Templates', 'templates', (p) => p.getByRole('heading', { name: 'Agreement templates' }).waitFor()],
        ['Partners', 'partners', (p) => p.getByTestId(`partner-${ANJI}`).waitFor()],
        ['This node’s enrolment', 'enrolment', (p) => p.getByTestId('rotation').waitFor()],
      ];
      for (const [label, section, ready] of sections) {
        await page.getByRole('link', { name: label, exact: true }).click();
        await page.waitForURL((url) => url.pathname === `/console/admin/${section}`);
        await ready(page);
        expect(await pageWidth(page), section).toBeLessThanOrEqual(390);
        expect(await unlabelled(page), section).toEqual([]);
        await shot(page, `admin-${section}-en-390.png`);
      }
      await page.getByRole('link', { name: 'Agreements', exact: true }).click();
      await page.getByRole('link', { name: 'AGR-522732-330523-001', exact: true }).click();
      await page.getByRole('heading', { name: 'Suspend the agreement' }).waitFor();
      expect(await pageWidth(page)).toBeLessThanOrEqual(390);
      expect(await unlabelled(page)).toEqual([]);
      await shot(page, 'admin-agreement-en-390.png');
      await page.getByRole('link', { name: 'Agreements', exact: true }).click();
      await page.getByRole('link', { name: draft.json.id }).click();
      await page.getByRole('heading', { name: 'Changes to the terms' }).waitFor();
      await page.getByRole('button', { name: 'Change the terms' }).click();
      await page.getByTestId('terms-editor').waitFor();
      expect(await pageWidth(page)).toBeLessThanOrEqual(390);
      expect(await unlabelled(page)).toEqual([]);
      await shot(page, 'admin-negotiation-en-390.png');
      await page.getByRole('button', { name: /Switch to Chinese/ }).click();
      expect(errors).toEqual([]);
      expect(failed).toEqual([]);
    } finally {
      await context.close();
    }
  }, 120_000);

  it('a clerk has no admin menu, and the admin views by their address show the node’s refusal', async () => {
    const { context, page, errors, failed } = await open(1280, 800);
    try {
      await signIn(page, sandu, `clerk@${SANDU}`);
      await page.getByRole('heading', { name: '案件列表' }).waitFor();
      expect(await page.getByRole('link', { name: '数据管理' }).count()).toBe(0);
      await page.goto(new URL('/console/admin/agreements', sandu).href);
      await page.getByText('本节点拒绝了此请求').waitFor();
      expect(await page.getByTestId('problem').textContent()).toContain('ADMIN_ROLE_REQUIRED');
      await shot(page, 'admin-clerk-refused-1280.png');
      // The browser reports the refusal it was given, and nothing else.
      expect(errors).toEqual([expect.stringMatching(/^error: Failed to load resource: the server responded with a status of 403 \(Forbidden\) \(http:\/\/[^/]+\/v1\/operator\/agreements\?limit=200:0:0\)$/)]);
      expect(failed).toEqual(['GET /v1/operator/agreements 403']);
    } finally {
      await context.close();
    }
  }, 120_000);

  it('another node’s data administrator sees no admin view at this node and cannot act here', async () => {
    const { context, page, errors, failed } = await open(1280, 800);
    try {
      await signIn(page, sandu, `dataadmin@${ANJI}`);
      await page.getByText(`您是 ${ANJI} 节点的工作人员`).waitFor();
      expect(await page.getByRole('link', { name: '数据管理' }).count()).toBe(0);
      await page.goto(new URL('/console/admin/agreements', sandu).href);
      await page.getByText(`您是 ${ANJI} 节点的工作人员`).waitFor();
      expect(await page.getByRole('heading', { name: '本节点的合作协议' }).count()).toBe(0);
      // Its session at Sandu, from Sandu's own page (cookie and CSRF header): refused by the node.
      const answer = await page.evaluate<{ status: number; code: string }>(
        `fetch('/v1/operator/agreements/${AGREEMENT}/resume', { method: 'POST', headers: { 'content-type': 'application/json', 'x-tongban-csrf': '1' }, body: JSON.stringify({ reason: 'x' }) }).then(async (r) => ({ status: r.status, code: (await r.json()).code }))`,
      );
      expect(answer).toEqual({ status: 403, code: 'STAFF_OF_ANOTHER_NODE' });
      await shot(page, 'admin-foreign-data-admin-1280.png');
      expect(errors).toEqual([expect.stringMatching(new RegExp(`^error: Failed to load resource: the server responded with a status of 403 \\(Forbidden\\) \\(http://[^/]+/v1/operator/agreements/${AGREEMENT}/resume:0:0\\)$`))]);
      expect(failed).toEqual([`POST /v1/operator/agreements/${AGREEMENT}/resume 403`]);
    } finally {
      await context.close();
    }
  }, 120_000);
});
