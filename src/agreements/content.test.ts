import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../crypto/index.ts';
import { demoFederation } from '../federation/index.ts';
import { TongbanError } from '../errors/index.ts';
import {
  Agreement,
  applyNegotiationAction,
  diffFromTemplate,
  diffTerms,
  formatDiff,
  instantiateTemplate,
  latestRound,
  learningReport,
  openNegotiation,
  resolveTemplate,
  templateLibrary,
  type Negotiation,
  type NegotiationActor,
} from './index.ts';

const validity = { validFrom: '2026-01-01T00:00:00.000Z', validUntil: '2028-01-01T00:00:00.000Z' };

describe('agreement content', () => {
  it('keeps every existing agreement valid and its canonical form (hence its signatures) unchanged', () => {
    const existing = [
      ...demoFederation().agreements!.map((a) => ({ ...a, version: 1, ...validity })),
      JSON.parse(readFileSync(new URL('../../docs/examples/join-agreement.json', import.meta.url), 'utf8')) as unknown,
    ];
    for (const raw of existing) expect(canonicalJson(Agreement.parse(raw))).toBe(canonicalJson(raw));
  });

  it('checks the new terms against the parties and the handling mode', () => {
    const base = instantiateTemplate('labour-cooperation', { id: 'AGR-T-1', convener: '522732', partners: ['330523'], ...validity }, templateLibrary);
    const bad = (patch: (a: Agreement) => unknown) => Agreement.safeParse(patch(structuredClone(base))).success;
    expect(bad((a) => a)).toBe(true);
    expect(bad((a) => ({ ...a, items: a.items.map((i) => ({ ...i, decidingNodes: ['310118'] })) }))).toBe(false);
    expect(bad((a) => ({ ...a, items: a.items.map((i) => (i.itemCode === 'N010' ? { ...i, decidingNodes: ['522732'] } : i)) }))).toBe(false); // joint needs two
    expect(bad((a) => ({ ...a, items: [...a.items, a.items[0]] }))).toBe(false); // an item twice
    expect(bad((a) => ({ ...a, permissions: [{ party: '310118', role: 'clerk', services: ['marriage.status'] }] }))).toBe(false);
    expect(bad((a) => ({ ...a, permissions: [{ party: '330523', role: 'janitor', services: ['marriage.status'] }] }))).toBe(false);
  });
});

describe('diff', () => {
  it('names changed fields by path, matching list elements by what identifies them', () => {
    const before = { items: [{ itemCode: 'N034', timeLimitDays: 20, grants: [{ provider: '1', service: 'a.b', fields: ['x', 'y'] }] }], parties: ['1', '2'] };
    const after = { items: [{ itemCode: 'N039' }, { itemCode: 'N034', timeLimitDays: 15, grants: [{ provider: '1', service: 'a.b', fields: ['y', 'z'] }] }], parties: ['2', '1', '3'] };
    expect(formatDiff(diffTerms(before, after))).toEqual([
      'items[N039]: + {"itemCode":"N039"}',
      'items[N034].grants[1:a.b].fields: + z',
      'items[N034].grants[1:a.b].fields: - x',
      'items[N034].timeLimitDays: 20 → 15',
      'parties: + 3',
    ]);
    expect(diffTerms(before, structuredClone(before))).toEqual([]);
  });
});

describe('templates', () => {
  it('folds a template over the one it extends', () => {
    const delta = resolveTemplate('yangtze-delta', templateLibrary);
    expect(delta.items.map((i) => i.itemCode).sort()).toEqual(['N001', 'N034', 'N039']);
    expect(delta.securityDuties).toEqual({ incidentNotificationHours: 12, retentionDays: 1095, encryptionRequired: true });
    expect(delta.serviceLevels).toEqual({ availabilityPercent: 99.9, responseSeconds: 3 });
    expect(() => resolveTemplate('no-such', templateLibrary)).toThrowError(TongbanError);
    expect(() => resolveTemplate('', templateLibrary)).toThrowError(TongbanError);
  });

  it('instantiates the demo bridge for a new partner, with acceptance criteria and limits from the national list', () => {
    const a = instantiateTemplate(
      'labour-cooperation',
      {
        id: 'AGR-522732-310118-001',
        convener: '522732',
        partners: ['310118'],
        items: ['N034', 'N037'],
        contacts: [
          { party: '522732', name: '三都县数据局安全员' },
          { party: '310118', name: '青浦区数据局安全员' },
        ],
        limits: { timeLimitDays: { N037: 5 } },
        ...validity,
      },
      templateLibrary,
    );
    expect(a).toMatchObject({ topology: 'bridge', parties: ['522732', '310118'], securityDuties: { retentionDays: 1095, incidentNotificationHours: 24, encryptionRequired: true } });
    const n034 = a.items.find((i) => i.itemCode === 'N034')!;
    expect(n034).toMatchObject({ mode: 'proxy', acceptingNodes: ['310118'], decidingNodes: ['522732'], timeLimitDays: 3 });
    expect(n034.acceptance!.materials.map((m) => m.name)).toEqual(['居民身份证', '申请表']);
    expect(n034.grants).toEqual([expect.objectContaining({ provider: '522732', requesters: ['310118'] })]);
    expect(a.items.find((i) => i.itemCode === 'N037')!.timeLimitDays).toBe(5);
    // The grants are those of the demo's Sandu—Anji bridge, with the partner swapped.
    const demo = demoFederation().agreements![0]!;
    expect(a.items.find((i) => i.itemCode === 'N037')!.grants).toEqual(demo.items.find((i) => i.itemCode === 'N037')!.grants.map((g) => ({ ...g, requesters: ['310118'] })));
  });

  it('instantiates the Yangtze Delta for four parties through the hub, each providing to all others', () => {
    const a = instantiateTemplate('yangtze-delta', { id: 'AGR-DELTA-2', convener: '310118', partners: ['330523', '320400', '522732'], ...validity }, templateLibrary);
    expect(a.topology).toBe('hub');
    const n001 = a.items.find((i) => i.itemCode === 'N001')!;
    expect(n001.grants.map((g) => `${g.provider}>${g.requesters.join(',')}`)).toEqual(['310118>330523,320400,522732', '330523>310118,320400,522732', '320400>310118,330523,522732', '522732>310118,330523,320400']);
  });

  it('refuses unknown items and a bridge template for three parties', () => {
    expect(() => instantiateTemplate('labour-cooperation', { id: 'AGR-X-1', convener: '522732', partners: ['330523'], items: ['N999'], ...validity }, templateLibrary)).toThrowError(/no item N999/);
    expect(() => instantiateTemplate('labour-cooperation', { id: 'AGR-X-1', convener: '522732', partners: ['330523', '320400'], ...validity }, templateLibrary)).toThrowError(TongbanError);
  });

  it('shows only what an instance changes from its template', () => {
    const baseline = instantiateTemplate('labour-cooperation', { id: 'AGR-X-2', convener: '522732', partners: ['330523'], ...validity }, templateLibrary);
    const terms = { ...baseline, items: baseline.items.map((i) => (i.itemCode === 'N010' ? { ...i, timeLimitDays: 8 } : i)) };
    expect(formatDiff(diffFromTemplate(baseline, terms))).toEqual(['items[N010].timeLimitDays: 10 → 8']);
  });
});

describe('learning report', () => {
  const actor = (node: string): NegotiationActor => ({ node, id: 'op', role: 'operator' });
  const at = (h: number) => new Date(Date.parse('2026-03-01T00:00:00.000Z') + h * 3_600_000).toISOString();
  function negotiate(id: string, terms: Agreement, counters: number, hours: number, fromTemplate: boolean): Negotiation {
    const [a, b] = terms.parties as [string, string];
    let n = openNegotiation({ id, terms, ...(fromTemplate ? { template: { id: 'labour-cooperation', version: 1, baseline: terms } } : {}) }, actor(a), at(0));
    n = applyNegotiationAction(n, 'propose', actor(a), {}, at(1));
    for (let k = 0; k < counters; k++) {
      const who = k % 2 === 0 ? b : a;
      const t = { ...n.terms, items: n.terms.items.map((i) => ({ ...i, timeLimitDays: 30 - k })) };
      n = applyNegotiationAction(n, 'counter', actor(who), { answers: latestRound(n)!.number, terms: t }, at(2 + k));
    }
    const other = terms.parties.find((p) => !n.acceptances.some((x) => x.party === p))!;
    n = applyNegotiationAction(n, 'accept', actor(other), { round: latestRound(n)!.number, hash: latestRound(n)!.hash }, at(hours - 3));
    for (const p of terms.parties) n = applyNegotiationAction(n, 'sign', actor(p), { hash: latestRound(n)!.hash, jws: 'jws-over-terms' }, at(hours - 2));
    n = applyNegotiationAction(n, 'register', actor(a), {}, at(hours - 1));
    return applyNegotiationAction(n, 'activate', actor(b), {}, at(hours));
  }

  it('compares agreements made from templates with those made from scratch', () => {
    const base = instantiateTemplate('labour-cooperation', { id: 'AGR-L-1', convener: '522732', partners: ['330523'], ...validity }, templateLibrary);
    const scratch = negotiate('NEG-scratch', base, 2, 240, false);
    const templated = negotiate('NEG-templated', { ...base, id: 'AGR-L-2', parties: ['522732', '330523'] }, 0, 24, true);
    const open = openNegotiation({ id: 'NEG-open', terms: { ...base, id: 'AGR-L-3' } }, actor('522732'), at(0));
    const report = learningReport([scratch, templated, open]);
    expect(report.fromScratch).toEqual({ agreements: 2, active: 1, meanRounds: 3, medianRounds: 3, medianHoursToActive: 240 });
    expect(report.fromTemplate).toEqual({ agreements: 1, active: 1, meanRounds: 1, medianRounds: 1, medianHoursToActive: 24 });
    expect(report.records.find((r) => r.negotiation === 'NEG-templated')).toMatchObject({ origin: 'template', template: 'labour-cooperation', rounds: 1, state: 'active' });
  });
});
