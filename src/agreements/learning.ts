import type { Negotiation } from './negotiation-model.ts';

/** One agreement's path to force: how long from the first draft to active, in how many rounds. */
export interface LearningRecord {
  readonly negotiation: string;
  readonly agreementId: string;
  readonly version: number;
  readonly origin: 'template' | 'scratch';
  readonly template?: string;
  readonly state: Negotiation['state'];
  readonly rounds: number;
  readonly draftedAt: string;
  readonly activeAt?: string;
  /** Hours from draft to active; absent until active. */
  readonly hoursToActive?: number;
}

export interface LearningGroup {
  readonly agreements: number;
  readonly active: number;
  readonly meanRounds: number | null;
  readonly medianRounds: number | null;
  readonly medianHoursToActive: number | null;
}

export interface LearningReport {
  readonly records: readonly LearningRecord[];
  readonly fromTemplate: LearningGroup;
  readonly fromScratch: LearningGroup;
}

export function learningRecord(n: Negotiation): LearningRecord {
  const activeAt = n.history.find((h) => h.to === 'active')?.at;
  const draftedAt = n.history[0]!.at;
  return {
    negotiation: n.id,
    agreementId: n.agreementId,
    version: n.terms.version,
    origin: n.template ? 'template' : 'scratch',
    ...(n.template ? { template: n.template.id } : {}),
    state: n.state,
    rounds: n.rounds.length,
    draftedAt,
    ...(activeAt ? { activeAt, hoursToActive: round2((Date.parse(activeAt) - Date.parse(draftedAt)) / 3_600_000) } : {}),
  };
}

const round2 = (x: number) => Math.round(x * 100) / 100;
function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : round2((s[mid - 1]! + s[mid]!) / 2);
}

/**
 * The organisational-learning metric (组织学习): agreements made from templates against those
 * made from scratch. Rounds and time count over agreements that reached active, so a
 * negotiation still open or abandoned does not flatter either side. Pure.
 */
export function learningReport(negotiations: readonly Negotiation[]): LearningReport {
  const records = negotiations.map(learningRecord).sort((a, b) => a.draftedAt.localeCompare(b.draftedAt) || a.negotiation.localeCompare(b.negotiation));
  const group = (origin: LearningRecord['origin']): LearningGroup => {
    const mine = records.filter((r) => r.origin === origin);
    const active = mine.filter((r) => r.hoursToActive !== undefined);
    const rounds = active.map((r) => r.rounds);
    return {
      agreements: mine.length,
      active: active.length,
      meanRounds: rounds.length === 0 ? null : round2(rounds.reduce((a, b) => a + b, 0) / rounds.length),
      medianRounds: median(rounds),
      medianHoursToActive: median(active.map((r) => r.hoursToActive!)),
    };
  };
  return { records, fromTemplate: group('template'), fromScratch: group('scratch') };
}
