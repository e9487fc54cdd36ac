import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_PASSWORD } from '../src/federation/index.ts';
import { browserMissing, launchBrowser, openPage, pageWidth, shot, signIn as signInAt, unlabelled } from './support/browser.ts';
import { startTestFederation, type TestFederation } from './support/federation.ts';

/**
 * The citizen's console (issue 14): a Sandu citizen signed in at Anji applies online, previews the
 * household record fetched for the case (releases it on one case, refuses it on another), gives and
 * revokes a consent, finds the certificate Anji issued them in their wallet and the reads in their
 * tracker — the last three relayed by Anji to the hub with the sign-in's own token. A second
 * citizen sees none of it, by the menu or by direct URLs.
 */
const SANDU = '522732';
const ANJI = '330523';
const CHANGZHOU = '320400';
const QINGPU = '310118';
type Json = any;

describe.skipIf(browserMissing('test/console-citizen.test.ts'))('the citizen’s console in a browser', () => {
  let t: TestFederation;
  let browser: Browser;
  let anji: string;
  let clerk = '';
  let approver = '';
  let citizens: Array<{ login: string; name: string }> = [];
  const mine = { applied: '', refused: '', certificateCase: '', certificate: '' };

  const http = async (method: 'GET' | 'POST', path: string, token: string, body?: unknown) => {
    const response = await fetch(new URL(path, anji), { method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: response.status, json: (await response.json()) as Json };
  };
  const step = async (token: string, id: string, action: string, body: unknown = {}) => {
    const answer = await http('POST', `/v1/cases/${id}/actions/${action}`, token, body);
    expect(answer.status, `${action}: ${JSON.stringify(answer.json)}`).toBe(200);
    return answer.json;
  };
  /** Anji's counter checks the case and fetches Sandu's household record, held for the applicant's preview. */
  const fetchHeld = async (id: string) => {
    const read = await http('GET', `/v1/cases/${id}`, clerk);
    await step(clerk, id, 'precheck', { materials: read.json.case.materials.map((m: Json) => ({ name: m.name, checked: true })), identityVerified: true });
    const fetched = await http('POST', `/v1/cases/${id}/evidence`, clerk, { provider: SANDU, service: 'household.residence-proof', purpose: '无犯罪记录证明开具' });
    expect(fetched.status, JSON.stringify(fetched.json)).toBe(200);
    expect(fetched.json.case.evidence[0].preview).toBe('pending');
  };
  const pick = async (page: Page, label: string | RegExp, option: string | RegExp) => {
    await page.getByLabel(label).click();
    await page.locator('.ant-select-dropdown:not(.ant-select-dropdown-hidden) .ant-select-item-option', { hasText: option }).first().click();
  };

  beforeAll(async () => {
    t = await startTestFederation('sqlite', { demoPeople: { password: DEMO_PASSWORD } });
    anji = t.f.nodes.get(ANJI)!.endpoint;
    citizens = t.f.people.filter((p) => p.kind === 'citizen');
    clerk = (await t.operator(ANJI, '/v1/operator/accounts', { id: 'citizen-test-clerk', role: 'clerk', name: 'counter' })).json.token as string;
    approver = (await t.operator(ANJI, '/v1/operator/accounts', { id: 'citizen-test-approver', role: 'approver', name: 'approver' })).json.token as string;
    // A marriage case of the first citizen concluded at Anji, an issuer of 结婚证: a certificate in their wallet.
    const holder = citizens[0]!;
    const spouse = citizens[2]!;
    const applied = await http('POST', '/v1/cases', clerk, { itemCode: 'N037', mode: 'online', competentNodes: [ANJI], applicant: { idNumber: holder.login, name: holder.name } });
    expect(applied.status, JSON.stringify(applied.json)).toBe(201);
    const id = applied.json.case.id as string;
    await step(clerk, id, 'precheck', { materials: applied.json.case.materials.map((m: Json) => ({ name: m.name, checked: true })), identityVerified: true });
    await step(clerk, id, 'accept');
    await step(approver, id, 'start-review');
    await step(approver, id, 'decide', { outcome: 'grant', reason: '符合结婚登记条件' });
    const concluded = await step(approver, id, 'conclude', {
      result: { code: 'J01', description: '准予结婚登记，发给结婚证' },
      certificateFields: { spouseName: spouse.name, spouseIdNumber: spouse.login, registrationDate: '2025-10-01' },
    });
    mine.certificateCase = id;
    mine.certificate = concluded.certificate.id;
    browser = await launchBrowser();
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  it('a citizen applies, previews and releases (and refuses, then withdraws) held evidence, gives and revokes a consent, sees their certificate and who read their data', async () => {
    const { context, page, errors, failed } = await openPage(browser, 1280, 800);
    try {
      const a = citizens[0]!;
      await signInAt(page, anji, t.f.hub.endpoint, a.login);
      await page.getByRole('heading', { name: '我的办件' }).waitFor();
      for (const entry of ['在线申办', '我的授权', '证照夹', '数据查询记录']) expect(await page.getByRole('link', { name: entry }).isVisible()).toBe(true);

      // Apply online: N035 (no-criminal-record certificate), decided by Changzhou; the applicant is the sign-in.
      await page.getByRole('link', { name: '在线申办' }).click();
      await page.getByRole('heading', { name: '在线申办' }).waitFor();
      expect(await page.getByTestId('applicant').textContent()).toBe(a.name);
      await pick(page, '事项', 'N035');
      await pick(page, '审批地区', CHANGZHOU);
      // N035 is marked for preview by the agreement in force: the applicant is told before applying.
      await page.getByText('本事项共享的数据会先由您预览').waitFor();
      expect(await unlabelled(page)).toEqual([]);
      await shot(page, 'citizen-apply-1280.png');
      await page.getByRole('button', { name: '提交申请' }).click();
      await page.waitForURL((url) => url.pathname.startsWith('/console/cases/C-'));
      mine.applied = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
      await page.getByRole('heading', { name: '办理记录' }).waitFor();
      const opened = await http('GET', `/v1/cases/${mine.applied}`, clerk);
      expect(opened.json.case).toMatchObject({ itemCode: 'N035', mode: 'online', competentNodes: [CHANGZHOU], applicant: { idNumber: a.login, name: a.name } });

      // The counter fetches Sandu's record: held for the applicant, who sees it and releases it.
      await fetchHeld(mine.applied);
      await page.reload();
      const held = page.getByTestId('held-evidence');
      await held.waitFor();
      expect(await held.textContent()).toContain(a.name);
      await shot(page, 'citizen-preview-1280.png');
      await held.getByRole('button', { name: '同意提交' }).click();
      await page.getByText('已同意提交').waitFor();
      expect(await page.getByTestId('held-evidence').count()).toBe(0);
      expect((await http('GET', `/v1/cases/${mine.applied}`, clerk)).json.case.evidence[0].preview).toBe('released');

      // Another case of theirs (the counter applied for them): they refuse the record there.
      const second = await http('POST', '/v1/cases', clerk, { itemCode: 'N035', mode: 'online', competentNodes: [CHANGZHOU], applicant: { idNumber: a.login, name: a.name } });
      mine.refused = second.json.case.id;
      await fetchHeld(mine.refused);
      await page.getByRole('link', { name: '我的办件' }).click();
      await page.getByRole('link', { name: mine.refused }).click();
      await page.getByTestId('held-evidence').getByRole('button', { name: '拒绝使用' }).click();
      await page.getByText('已拒绝（数据已删除）').waitFor();
      const refused = (await http('GET', `/v1/cases/${mine.refused}`, clerk)).json.case.evidence[0];
      expect(refused.preview).toBe('refused');
      expect(refused.data).toBeUndefined();
      // The applicant withdraws that one (an open case): with a reason.
      await page.getByLabel('撤回原因').fill('改为现场办理');
      await page.getByRole('button', { name: '撤回申请' }).click();
      await page.locator('.ant-descriptions-item-content .ant-tag', { hasText: '已撤回' }).waitFor();
      expect(await page.getByRole('button', { name: '撤回申请' }).count()).toBe(0);
      expect((await http('GET', `/v1/cases/${mine.refused}`, clerk)).json.case).toMatchObject({ state: 'withdrawn' });

      // A consent: Sandu's marriage record for Anji (a grant that needs it), then revoked.
      await page.getByRole('link', { name: '我的授权' }).click();
      await page.getByRole('heading', { name: '我的授权' }).waitFor();
      await page.getByText('暂无授权').waitFor();
      await pick(page, '授权内容', /marriage\.status/);
      expect(await unlabelled(page)).toEqual([]);
      await page.getByRole('button', { name: '授权', exact: true }).click();
      await page.getByText('已授权', { exact: true }).waitFor();
      await page.locator('.ant-table-row', { hasText: 'marriage.status' }).getByText('有效').waitFor();
      await shot(page, 'citizen-consents-1280.png');
      await page.getByRole('button', { name: '撤销' }).click();
      await page.locator('.ant-table-row', { hasText: 'marriage.status' }).getByText('已撤销').waitFor();

      // The wallet: the 结婚证 Anji issued, valid.
      await page.getByRole('link', { name: '证照夹' }).click();
      await page.getByRole('heading', { name: '证照夹' }).waitFor();
      const row = page.locator('.ant-table-row', { hasText: mine.certificate });
      await row.waitFor();
      expect(await row.textContent()).toContain('结婚证');
      expect(await row.locator('[data-status]').getAttribute('data-status')).toBe('valid');
      await shot(page, 'citizen-wallet-1280.png');

      // The tracker: Anji's reads of the case, Sandu's exchange of the household record, the hub's
      // record of Anji calling it for them; every node of the federation listed.
      await page.getByRole('link', { name: '数据查询记录' }).click();
      await page.getByRole('heading', { name: '数据查询记录' }).waitFor();
      await page.locator('.ant-table-row').first().waitFor();
      const kinds = await page.locator('[data-kind]').evaluateAll((cells) => cells.map((c) => c.getAttribute('data-kind')));
      expect(kinds).toEqual(expect.arrayContaining(['case.apply', 'case.read', 'case.release-evidence', 'case.refuse-evidence', 'case.withdraw', 'exchange.provide', 'consent.grant', 'consent.revoke', 'certificate.issue', 'citizen.relay']));
      expect(await page.locator('.ant-table-row', { hasText: '提供数据' }).first().textContent()).toContain(`(${SANDU})`);
      expect(await page.getByTestId('tracker-sources').locator('[data-source="ok"]').count()).toBe(5);
      await shot(page, 'citizen-tracker-1280.png');

      // In English: the same views, the labels translated.
      await page.getByRole('button', { name: /Switch to English/ }).click();
      await page.getByRole('heading', { name: 'Data tracker' }).waitFor();
      expect(await page.getByText('data provided').count()).toBeGreaterThan(0);
      await shot(page, 'citizen-tracker-en-1280.png');
      await page.getByRole('link', { name: 'Certificate wallet' }).click();
      await page.locator('.ant-table-row', { hasText: mine.certificate }).getByText('valid').waitFor();
      await shot(page, 'citizen-wallet-en-1280.png');
      await page.getByRole('link', { name: 'My consents' }).click();
      await page.locator('.ant-table-row', { hasText: 'marriage.status' }).getByText('revoked').waitFor();
      await page.getByRole('link', { name: 'Apply online' }).click();
      await page.getByLabel('Item').waitFor();
      expect(await unlabelled(page)).toEqual([]);
      await page.getByRole('link', { name: 'My cases' }).click();
      await page.getByRole('link', { name: mine.applied }).click();
      await page.getByRole('heading', { name: 'History' }).waitFor();
      await page.getByText('released').first().waitFor();
      await shot(page, 'citizen-case-en-1280.png');
      expect(await pageWidth(page)).toBeLessThanOrEqual(1280);
      expect(errors).toEqual([]);
      expect(failed).toEqual([]);
    } finally {
      await context.close();
    }
  }, 180_000);

  it('at phone width every view of the citizen fits the screen (no sideways scroll), every control labelled', async () => {
    const { context, page, errors, failed } = await openPage(browser, 390, 844);
    try {
      await signInAt(page, anji, t.f.hub.endpoint, citizens[0]!.login);
      await page.getByRole('link', { name: mine.applied }).waitFor();
      const views: Array<[string, string, string]> = [
        ['/console/', '我的办件', 'citizen-cases-390.png'],
        ['/console/apply', '在线申办', 'citizen-apply-390.png'],
        ['/console/consents', '我的授权', 'citizen-consents-390.png'],
        ['/console/wallet', '证照夹', 'citizen-wallet-390.png'],
        ['/console/tracker', '数据查询记录', 'citizen-tracker-390.png'],
        [`/console/cases/${mine.applied}`, '办理记录', 'citizen-case-390.png'],
      ];
      for (const [path, heading, file] of views) {
        await page.goto(new URL(path, anji).href);
        await page.getByRole('heading', { name: heading }).waitFor();
        // The tracker asks every node through the hub: it may take a few seconds.
        await expect.poll(() => page.locator('.ant-spin-spinning').count(), { timeout: 60_000 }).toBe(0);
        if (path === '/console/wallet') await page.getByText(mine.certificate).waitFor();
        if (path === '/console/tracker') await page.locator('.ant-table-row').first().waitFor();
        expect(await pageWidth(page), path).toBeLessThanOrEqual(390);
        expect(await unlabelled(page), path).toEqual([]);
        await shot(page, file);
      }
      expect(errors).toEqual([]);
      expect(failed).toEqual([]);
    } finally {
      await context.close();
    }
  }, 180_000);

  it('another citizen, at phone width and in English, sees none of it — by the menu or by direct URLs; a node that is down is listed as unavailable', async () => {
    const { context, page, errors, failed } = await openPage(browser, 390, 844);
    try {
      const b = citizens[1]!;
      await signInAt(page, anji, t.f.hub.endpoint, b.login);
      await page.getByRole('heading', { name: '我的办件' }).waitFor();
      await page.getByRole('button', { name: /Switch to English/ }).click();
      await page.getByRole('heading', { name: 'My cases' }).waitFor();
      await expect.poll(() => page.locator('.ant-table-placeholder').count()).toBe(1);
      for (const id of [mine.applied, mine.refused, mine.certificateCase]) expect(await page.getByText(id).count()).toBe(0);
      expect(await pageWidth(page)).toBeLessThanOrEqual(390);
      await shot(page, 'citizen-other-cases-390.png');

      const visit = async (path: string, heading: string) => {
        await page.goto(new URL(path, anji).href);
        await page.getByRole('heading', { name: heading }).waitFor();
        await expect.poll(() => page.locator('.ant-spin-spinning').count(), { timeout: 60_000 }).toBe(0);
        expect(await pageWidth(page), path).toBeLessThanOrEqual(390);
        expect(await unlabelled(page), path).toEqual([]);
      };
      await visit('/console/consents', 'My consents');
      await page.getByText('No consents').waitFor();
      await shot(page, 'citizen-other-consents-390.png');
      await visit('/console/wallet', 'Certificate wallet');
      await page.getByText('No certificates').waitFor();
      expect(await page.getByText(mine.certificate).count()).toBe(0);
      await shot(page, 'citizen-other-wallet-390.png');
      // Qingpu is down meanwhile: listed as unavailable, the others answer.
      const qingpu = t.f.nodes.get(QINGPU)!;
      await qingpu.stop();
      try {
        await visit('/console/tracker', 'Data tracker');
        await page.getByTestId('tracker-sources').waitFor();
        expect(await page.getByTestId('tracker-sources').locator('[data-source="unavailable"]').textContent()).toMatch(/^.+: unavailable$/);
        expect(await page.getByTestId('tracker-sources').locator('[data-source="ok"]').count()).toBe(4);
        for (const id of [mine.applied, mine.refused]) expect(await page.getByText(id).count()).toBe(0);
        await shot(page, 'citizen-other-tracker-390.png');
      } finally {
        await qingpu.start();
      }
      await visit('/console/apply', 'Apply online');
      expect(await page.getByTestId('applicant').textContent()).toBe(b.name);
      await shot(page, 'citizen-other-apply-390.png');

      // The first citizen's case by its URL: not found for them (the node answers 404, on purpose here).
      await page.goto(new URL(`/console/cases/${mine.applied}`, anji).href);
      await page.getByText('No such case, or you may not see it.').waitFor();
      expect(await page.getByText(citizens[0]!.name).count()).toBe(0);
      await shot(page, 'citizen-other-case-390.png');
      // The one refusal provoked on purpose, and the browser's line about it: nothing else.
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(new RegExp(`^error: Failed to load resource: the server responded with a status of 404 \\(Not Found\\) \\(http://127\\.0\\.0\\.1:\\d+/v1/cases/${mine.applied}:0:0\\)$`));
      expect(failed).toEqual([`GET /v1/cases/${mine.applied} 404`]);
    } finally {
      await context.close();
    }
  }, 180_000);

  it('once the sign-in’s hub token has expired, the hub views say so and offer to sign in again (the refusal provoked on purpose)', async () => {
    const { context, page, errors, failed } = await openPage(browser, 1280, 800);
    try {
      // A session whose hub token is past its expiry (as ten minutes after signing in).
      const b = citizens[1]!;
      const sessions = t.f.nodes.get(ANJI)!.runtime!.identity.sessions;
      const { id } = await sessions.create({ subject: 'p-console-expired', kind: 'citizen', name: b.name, idNumber: b.login, roles: [], via: 'session' }, { token: 'expired.hub.token', expiresAt: Date.now() + 200 });
      await new Promise((resolve) => setTimeout(resolve, 300));
      await context.addCookies([{ name: `tongban_session_${ANJI}`, value: id, url: anji, httpOnly: true, sameSite: 'Lax' }]);
      await page.goto(new URL('/console/wallet', anji).href);
      await page.getByRole('heading', { name: '证照夹' }).waitFor();
      await page.getByText('您在国家平台的登录已过期，请重新登录后查看。').waitFor();
      expect(await page.getByRole('link', { name: '重新登录' }).getAttribute('href')).toBe('/v1/auth/login?return=%2Fconsole%2Fwallet');
      expect(await unlabelled(page)).toEqual([]);
      await shot(page, 'citizen-sign-in-again-1280.png');
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(/^error: Failed to load resource: the server responded with a status of 401 \(Unauthorized\) \(http:\/\/127\.0\.0\.1:\d+\/v1\/me\/wallet\?limit=200:0:0\)$/);
      expect(failed).toEqual(['GET /v1/me/wallet 401']);
    } finally {
      await context.close();
    }
  }, 60_000);
});
