import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caseStates } from '../src/cases/index.ts';
import { accountLines } from '../src/cli/commands/federation.ts';
import { planSeed, type PlanInput } from '../src/demo/plan.ts';
import { workingDays } from '../src/demo/seed.ts';
import { signInAtHub } from '../src/demo/sign-in.ts';
import { DEMO_PASSWORD } from '../src/federation/index.ts';
import { browserMissing, launchBrowser, openPage, shot, signIn } from './support/browser.ts';
import { startTestFederation, type TestFederation } from './support/federation.ts';

/**
 * The demo seed (`npm start`'s data, src/demo): a small federation seeded the way the demo is,
 * checked through the APIs — every case state, the three modes, every light, exchanges served
 * and refused, negotiations from templates and from scratch, consents, certificates, tracker reads.
 */
describe('the demo seed plan', () => {
  const input = (cases: number): PlanInput => ({
    cases,
    days: workingDays(new Date('2026-11-30T04:00:00Z'), 20),
    nodes: ['522732', '330523', '320400', '310118'],
    people: Object.fromEntries(['522732', '330523', '320400', '310118'].map((n) => [n, Array.from({ length: 50 }, (_, i) => ({ idNumber: `${n}19900101${String(i).padStart(3, '0')}X`, name: `人${i}` }))])),
    businesses: {},
    citizens: [{ idNumber: '522732199001010001', name: '甲', node: '522732' }],
    committedDays: () => 3,
  });

  it('is deterministic, covers every state from twelve cases on, and never plans a step after today', () => {
    const plan = planSeed(input(40));
    expect(planSeed(input(40))).toEqual(plan);
    expect(new Set(plan.cases.map((c) => c.target))).toEqual(new Set(caseStates));
    expect(new Set(plan.cases.slice(0, 12).map((c) => c.target)).size).toBe(12);
    expect(new Set(plan.cases.map((c) => c.mode))).toEqual(new Set(['online', 'proxy', 'joint']));
    const last = plan.days.length - 1;
    for (const c of plan.cases) {
      const days = c.steps.map((s) => s.day);
      expect(days.every((d) => d >= 0 && d <= last)).toBe(true);
      expect([...days].sort((a, b) => a - b)).toEqual(days);
    }
    expect(plan.exchanges.some((e) => e.expect === 'served') && plan.exchanges.some((e) => e.expect !== 'served')).toBe(true);
  });
});

describe('a seeded federation', () => {
  let t: TestFederation;
  const tokens = new Map<string, string>();
  const token = async (login: string) => {
    if (!tokens.has(login)) tokens.set(login, await signInAtHub(t.f.hub.endpoint, login, DEMO_PASSWORD));
    return tokens.get(login)!;
  };
  const get = async (node: string, path: string, bearer: string) => {
    const endpoint = node === '100000' ? t.f.hub.endpoint : t.f.nodes.get(node)!.endpoint;
    const response = await fetch(new URL(path, endpoint), { headers: { authorization: `Bearer ${bearer}` } });
    expect(response.status, `${node} ${path}`).toBe(200);
    return (await response.json()) as any;
  };

  beforeAll(async () => {
    t = await startTestFederation('sqlite', {}, { seedDemo: { cases: 40, days: 14 } });
  }, 600_000);
  afterAll(async () => {
    await t?.stop();
  });

  it('every step of the plan went through, and no message between servers was lost', () => {
    expect(t.seed!.failures).toEqual([]);
  });

  it('has cases in every state, in every mode, at every node, with green, yellow and red time limits (as the nodes answer)', async () => {
    const states = new Map<string, number>();
    const modes = new Set<string>();
    const lights = new Set<string>();
    const accepting = new Set<string>();
    for (const node of t.f.nodes.keys()) {
      const { cases, total } = await get(node, '/v1/cases?limit=1000', await token(`clerk@${node}`));
      expect(total).toBeGreaterThan(0);
      for (const { case: c, time } of cases.filter((x: any) => x.case.acceptingNode === node)) {
        states.set(c.state, (states.get(c.state) ?? 0) + 1);
        modes.add(c.mode);
        lights.add(time.light);
        accepting.add(node);
      }
    }
    expect([...states.keys()].sort()).toEqual([...caseStates].sort());
    expect([...states.values()].reduce((a, b) => a + b, 0)).toBe(40);
    expect(modes).toEqual(new Set(['online', 'proxy', 'joint']));
    expect(accepting).toEqual(new Set(t.f.nodes.keys()));
    for (const light of ['green', 'yellow', 'red']) expect(lights.has(light), light).toBe(true);
    expect(t.seed!.counts.byState).toEqual(Object.fromEntries(states));
  });

  it('has exchanges served over bridges and through the hub, and refused ones (no agreement, a purpose or field outside it, no consent), in the audit logs', async () => {
    const atSandu = await t.auditEntries('522732');
    expect(atSandu.filter((e) => e.kind === 'exchange.provide' && e.outcome === 'allowed').length).toBeGreaterThan(10);
    const relayed = (await t.auditEntries('100000')).filter((e) => e.kind === 'exchange.relay' && e.outcome === 'relayed');
    expect(relayed.length).toBeGreaterThan(0);
    const refusals = new Set<string>();
    for (const node of ['522732', '330523', '320400', '310118']) {
      for (const e of await t.auditEntries(node)) if ((e.kind === 'exchange.request' || e.kind === 'exchange.provide') && e.outcome === 'refused') refusals.add(e.code);
    }
    // Audited where they were refused (a request no agreement covers is refused by the operator API before any exchange: answered, not audited).
    for (const code of ['PURPOSE_NOT_ALLOWED', 'FIELD_NOT_ALLOWED', 'CONSENT_REQUIRED']) expect(refusals.has(code), code).toBe(true);
    expect(Object.keys(t.seed!.counts.exchanges.refusedByCode).sort()).toEqual(['AGREEMENT_NOT_FOUND', 'CONSENT_REQUIRED', 'FIELD_NOT_ALLOWED', 'PURPOSE_NOT_ALLOWED']);
  });

  it('has negotiations from templates and from scratch, signed, active and still in rounds', async () => {
    const seen = new Map<string, { state: string; rounds: number; template: string | null }>();
    for (const node of t.f.nodes.keys()) {
      for (const n of (await t.operator(node, '/v1/operator/agreements/drafts')).json) seen.set(n.id, { state: n.state, rounds: n.rounds, template: n.template });
    }
    const all = [...seen.values()];
    expect(all.filter((n) => n.template !== null).length).toBeGreaterThan(0);
    expect(all.filter((n) => n.template === null).length).toBeGreaterThan(0);
    for (const state of ['active', 'signed', 'countered', 'proposed']) expect(all.some((n) => n.state === state), state).toBe(true);
    expect(Math.max(...all.map((n) => n.rounds))).toBeGreaterThanOrEqual(2);
  });

  it('has certificates issued for concluded cases, consents, previewed evidence and tracker reads', async () => {
    let certificates = 0;
    for (const node of t.f.nodes.keys()) certificates += (await get(node, '/v1/certificates?limit=1', await token(`clerk@${node}`))).total;
    expect(certificates).toBeGreaterThan(0);
    expect(certificates).toBe(t.seed!.counts.certificates);
    const citizen = t.seed!.citizens.find((c) => c.node === '522732')!;
    const { consents, total } = await get('100000', '/v1/consents', await token(citizen.idNumber));
    expect(total).toBeGreaterThan(0);
    expect(consents.every((c: any) => c.requester !== undefined)).toBe(true);
    expect(t.seed!.counts.previews).toBeGreaterThan(0);
    expect(t.seed!.counts.trackerReads).toBe(t.seed!.citizens.length);
    const tracker = await get('100000', '/v1/tracker', await token(citizen.idNumber));
    expect(tracker.entries.length).toBeGreaterThan(0);
  });

  it('prints every console URL and every demo account (what `npm start` shows)', () => {
    const text = accountLines(t.f, DEMO_PASSWORD, { ...t.seed!, seconds: 0 }).join('\n');
    for (const [, node] of t.f.nodes) expect(text).toContain(`${node.endpoint}/console/`);
    for (const node of t.f.nodes.keys()) for (const role of ['clerk', 'approver', 'supervisor', 'dataadmin', 'operator']) expect(text).toContain(`${role}@${node}`);
    for (const c of t.seed!.citizens) expect(text).toMatch(new RegExp(`${c.idNumber}\\s+${c.name}`));
    expect(text).toContain(DEMO_PASSWORD);
    // The README shows this output (on the demo's ports): every line it shows in full is printed.
    let onDemoPorts = text;
    [...t.f.nodes.values()].forEach((node, i) => (onDemoPorts = onDemoPorts.replaceAll(node.endpoint, `http://127.0.0.1:${7701 + i}`)));
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const shown = /npm ci && npm start\n```[\s\S]*?```text\n([\s\S]*?)```/.exec(readme)![1]!.split('\n').filter((l) => l.trim() && !l.includes('…'));
    expect(shown.length).toBeGreaterThan(8);
    for (const line of shown) expect(onDemoPorts.split('\n'), line).toContain(line);
  });

  it.skipIf(browserMissing('test/demo-seed.test.ts'))(
    'in a browser, every view in the menu of each role at Sandu opens with data, with no console error and no failed request',
    async () => {
      const sandu = t.f.nodes.get('522732')!.endpoint;
      // A citizen of Sandu's with cases there, consents and a certificate in their wallet (not every one of a small seed has all three).
      let citizen: { idNumber: string } | undefined;
      for (const c of t.seed!.citizens.filter((x) => x.node === '522732')) {
        const bearer = await token(c.idNumber);
        const has = async (node: string, path: string) => (await get(node, path, bearer)).total > 0;
        if ((await has('100000', '/v1/wallet')) && (await has('100000', '/v1/consents')) && (await has('522732', '/v1/cases'))) {
          citizen = c;
          break;
        }
      }
      expect(citizen, 'a seeded citizen of Sandu with cases, consents and a certificate').toBeDefined();
      const browser = await launchBrowser();
      const empty: string[] = [];
      try {
        for (const login of ['clerk@522732', 'approver@522732', 'supervisor@522732', 'dataadmin@522732', citizen!.idNumber]) {
          const { context, page, errors, failed } = await openPage(browser, 1280, 800);
          try {
            await signIn(page, sandu, t.f.hub.endpoint, login);
            await page.getByTestId('person').waitFor();
            const hrefs = await page.locator('nav.console-nav a').evaluateAll((links) => links.map((a) => a.getAttribute('href') ?? ''));
            expect(hrefs.length, login).toBeGreaterThan(0);
            for (const href of hrefs) {
              await page.locator(`nav.console-nav a[href="${href}"]`).click();
              await page.waitForURL((url) => url.pathname === href);
              await shot(page, `seeded-${login.includes('@') ? login.split('@')[0] : 'citizen'}-${href.split('/').filter(Boolean).slice(1).join('-') || 'home'}-1280.png`);
              // A view with tables shows rows in at least one; a dashboard draws its charts.
              const tables = await page.locator('main .ant-table').count();
              const rows = await page.locator('main .ant-table-row').count();
              if (tables > 0 && rows === 0) empty.push(`${login} ${href}`);
            }
            expect({ login, errors }).toEqual({ login, errors: [] });
            expect({ login, failed }).toEqual({ login, failed: [] });
          } finally {
            await context.close();
          }
        }
      } finally {
        await browser.close();
      }
      expect(empty).toEqual([]);
    },
    300_000,
  );
});
