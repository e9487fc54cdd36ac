import { describe, expect, it } from 'vitest';
import type { SignedAgreement } from '../agreements/index.ts';
import type { Item } from '../catalog/index.ts';
import { inForce, learningOf, progressOf } from './federation.ts';
import type { NodeReport } from './model.ts';

const item = (code: string, deadline: string | null) => ({ code, deadline }) as Item;
const agreement = (id: string, parties: string[], items: string[], validFrom = '2026-01-01T00:00:00.000Z', validUntil = '2027-01-01T00:00:00.000Z') =>
  ({ agreement: { id, parties, items: items.map((itemCode) => ({ itemCode })), validFrom, validUntil }, signatures: [] }) as unknown as SignedAgreement;

describe('progress against the national list', () => {
  const national = [item('N001', '2025-12-31'), item('N002', '2026-06-30'), item('N003', '2027-12-31'), item('N004', null)];
  const nodes = [
    { division: '522732', name: 'Sandu' },
    { division: '330523', name: 'Anji' },
    { division: '310118', name: 'Qingpu' },
  ];

  it('counts enabled, due and overdue items per node, per partner, and ranks by the share of due items enabled', () => {
    const agreements = [agreement('A1', ['522732', '330523'], ['N001', 'N003', 'L522732-1']), agreement('A2', ['522732', '310118'], ['N002'])];
    const progress = progressOf(nodes, national, agreements, '2026-11-30');
    expect(progress).toMatchObject({ nationalItems: 4, dueItems: 2 });
    expect(progress.nodes).toEqual([
      // Local items do not count against the national list.
      { division: '522732', name: 'Sandu', enabled: 3, due: 2, dueEnabled: 2, overdue: [], score: 1, rank: 1, partners: [{ partner: '310118', items: 1 }, { partner: '330523', items: 2 }] },
      { division: '330523', name: 'Anji', enabled: 2, due: 2, dueEnabled: 1, overdue: ['N002'], score: 0.5, rank: 2, partners: [{ partner: '522732', items: 2 }] },
      { division: '310118', name: 'Qingpu', enabled: 1, due: 2, dueEnabled: 1, overdue: ['N001'], score: 0.5, rank: 3, partners: [{ partner: '522732', items: 1 }] },
    ]);
  });

  it('equal figures share a rank; nothing due is a full score', () => {
    const progress = progressOf(nodes.slice(1), [item('N009', '2030-01-01')], [], '2026-11-30');
    expect(progress.nodes.map((n) => [n.division, n.score, n.rank])).toEqual([
      ['310118', 1, 1],
      ['330523', 1, 1],
    ]);
  });

  it('an agreement counts while begun, not expired and active', () => {
    const now = new Date('2026-11-30T00:00:00.000Z');
    const active = () => 'active';
    expect(inForce(agreement('A', ['1', '2'], ['N001']), active, now)).toBe(true);
    expect(inForce(agreement('A', ['1', '2'], ['N001'], '2026-12-01T00:00:00.000Z'), active, now)).toBe(false);
    expect(inForce(agreement('A', ['1', '2'], ['N001'], '2025-01-01T00:00:00.000Z', '2026-11-30T00:00:00.000Z'), active, now)).toBe(false);
    expect(inForce(agreement('A', ['1', '2'], ['N001']), () => 'suspended', now)).toBe(false);
  });
});

describe('learning across nodes', () => {
  const record = (negotiation: string, template: string | null, rounds: number, hoursToActive: number | null): NodeReport['learning'][number] => ({
    negotiation,
    agreementId: `AGR-${negotiation}`,
    origin: template ? 'template' : 'scratch',
    template,
    state: hoursToActive === null ? 'proposed' : 'active',
    rounds,
    hoursToActive,
  });
  const report = (learning: NodeReport['learning']) => ({ learning }) as NodeReport;

  it('counts each negotiation once (the copy furthest along), per template and template against scratch', () => {
    const learning = learningOf([
      report([record('n1', 'national-baseline', 1, 2), record('n2', 'national-baseline', 3, 10), record('n3', null, 4, null)]),
      // The other party's copies: n1 again; n3 further along there.
      report([record('n1', 'national-baseline', 1, 2), record('n3', null, 5, 40), record('n4', 'yangtze-delta', 2, null)]),
    ]);
    expect(learning.templates).toEqual([
      { template: 'national-baseline', agreements: 2, active: 2, medianRounds: 2, medianHoursToActive: 6 },
      { template: 'yangtze-delta', agreements: 1, active: 0, medianRounds: null, medianHoursToActive: null },
    ]);
    expect(learning.fromTemplate).toEqual({ agreements: 3, active: 2, medianRounds: 2, medianHoursToActive: 6 });
    expect(learning.fromScratch).toEqual({ agreements: 1, active: 1, medianRounds: 5, medianHoursToActive: 40 });
  });
});
