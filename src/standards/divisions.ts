import table from '../../data/divisions/gb2260.json' with { type: 'json' };

export type DivisionLevel = 'province' | 'prefecture' | 'county';

export interface Division {
  readonly code: string;
  readonly name: string;
  readonly level: DivisionLevel;
  readonly parent: string | null;
  /** NBS statistical functional area (x7x codes), not a division created by the State Council. */
  readonly statistical?: true;
  /** ISO date the code was abolished; retired codes stay valid inside old ID numbers and records. */
  readonly retired?: string;
  readonly successor?: string;
}

export interface DivisionSource {
  readonly name: string;
  readonly version?: string;
  readonly data: string;
}

export interface DivisionTableData {
  readonly standard: string;
  readonly version: string;
  readonly sources: readonly DivisionSource[];
  readonly divisions: readonly Division[];
}

/** A GB/T 2260 table: look-up by code, chain of parents, search by name. Pure, no I/O. */
export class DivisionTable {
  readonly version: string;
  readonly sources: readonly DivisionSource[];
  readonly #byCode = new Map<string, Division>();
  readonly #children = new Map<string, Division[]>();

  constructor(data: DivisionTableData) {
    this.version = data.version;
    this.sources = data.sources;
    for (const division of data.divisions) this.#byCode.set(division.code, division);
    for (const division of data.divisions) {
      if (division.parent === null) continue;
      const siblings = this.#children.get(division.parent) ?? [];
      siblings.push(division);
      this.#children.set(division.parent, siblings);
    }
  }

  get size(): number {
    return this.#byCode.size;
  }

  get(code: string): Division | undefined {
    return this.#byCode.get(code);
  }

  /** The division and its parents, innermost first (county, prefecture, province). */
  chain(code: string): Division[] {
    const chain: Division[] = [];
    let current = this.#byCode.get(code);
    while (current) {
      chain.push(current);
      current = current.parent === null ? undefined : this.#byCode.get(current.parent);
    }
    return chain;
  }

  children(code: string): readonly Division[] {
    return this.#children.get(code) ?? [];
  }

  list(filter: { level?: DivisionLevel; includeRetired?: boolean } = {}): Division[] {
    return [...this.#byCode.values()].filter(
      (d) => (filter.level === undefined || d.level === filter.level) && (filter.includeRetired || !d.retired),
    );
  }

  /** Full name as people write it, province first: 贵州省黔南布依族苗族自治州三都水族自治县. */
  fullName(code: string): string | undefined {
    const chain = this.chain(code);
    if (chain.length === 0) return undefined;
    // "市辖区" and "县" are placeholders for a municipality's districts, not part of a name.
    return chain
      .reverse()
      .filter((d) => d.level !== 'prefecture' || !PLACEHOLDER_PREFECTURES.has(d.name))
      .map((d) => d.name)
      .join('');
  }

  /**
   * Search by name: exact matches first, then prefix, then substring; current codes before
   * retired ones. A query like "三都" finds 三都水族自治县.
   */
  search(query: string, limit = 20): Division[] {
    const q = query.trim();
    if (q === '') return [];
    const scored: Array<{ d: Division; score: number }> = [];
    for (const d of this.#byCode.values()) {
      let score: number;
      if (d.name === q) score = 0;
      else if (d.name.startsWith(q)) score = 1;
      else if (d.name.includes(q)) score = 2;
      else continue;
      if (d.retired) score += 10;
      scored.push({ d, score });
    }
    scored.sort((a, b) => a.score - b.score || a.d.code.localeCompare(b.d.code));
    return scored.slice(0, limit).map((s) => s.d);
  }
}

const PLACEHOLDER_PREFECTURES = new Set(['市辖区', '县', '省直辖县级行政区划', '自治区直辖县级行政区划']);

/** Two-digit province prefixes assigned by GB/T 2260. */
export const PROVINCE_PREFIXES: ReadonlySet<string> = new Set(
  (table as DivisionTableData).divisions.filter((d) => d.level === 'province').map((d) => d.code.slice(0, 2)),
);

export const divisions = new DivisionTable(table as DivisionTableData);

export function isDivisionCode(code: string): boolean {
  return /^\d{6}$/.test(code);
}
