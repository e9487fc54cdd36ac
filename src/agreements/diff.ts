/**
 * A readable field-by-field diff between two versions of agreement terms (or any JSON), used
 * for negotiation rounds and for a template instance against its template. Lists of objects
 * are matched by what identifies an element (an item by its code, a grant by provider and
 * service, a contact by party…), not by position, so reordering is no change and a changed
 * time limit reads `items[N034].timeLimitDays: 20 → 15`. Lists of plain values are sets.
 */
export interface Change {
  readonly path: string;
  readonly kind: 'added' | 'removed' | 'changed';
  readonly before?: unknown;
  readonly after?: unknown;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The key that identifies an element of a list of objects, or null to compare by position. */
function keyOf(value: Json): string | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  if (typeof value.itemCode === 'string') return value.itemCode;
  if (typeof value.provider === 'string' && typeof value.service === 'string') return `${value.provider}:${value.service}`;
  if (typeof value.party === 'string' && typeof value.role === 'string') return `${value.party}:${value.role}`;
  if (typeof value.party === 'string') return value.party;
  if (typeof value.division === 'string') return value.division;
  if (typeof value.name === 'string') return value.name;
  if (typeof value.id === 'string') return value.id;
  return null;
}

const isObject = (v: Json): v is { [key: string]: Json } => v !== null && typeof v === 'object' && !Array.isArray(v);
const same = (a: Json, b: Json) => JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
function sortKeys(v: Json): Json {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isObject(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k]!)]));
  return v;
}

function walk(before: Json | undefined, after: Json | undefined, path: string, out: Change[]): void {
  if (before === undefined && after === undefined) return;
  if (before === undefined) return void out.push({ path, kind: 'added', after });
  if (after === undefined) return void out.push({ path, kind: 'removed', before });
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    for (const k of keys) walk(before[k], after[k], path ? `${path}.${k}` : k, out);
    return;
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const primitive = [...before, ...after].every((v) => v === null || typeof v !== 'object');
    if (primitive) {
      const b = new Set(before.map((v) => JSON.stringify(v)));
      const a = new Set(after.map((v) => JSON.stringify(v)));
      for (const v of after) if (!b.has(JSON.stringify(v))) out.push({ path, kind: 'added', after: v });
      for (const v of before) if (!a.has(JSON.stringify(v))) out.push({ path, kind: 'removed', before: v });
      return;
    }
    const keysB = before.map(keyOf);
    const keysA = after.map(keyOf);
    const keyed = [...keysB, ...keysA].every((k) => k !== null) && new Set(keysB).size === keysB.length && new Set(keysA).size === keysA.length;
    if (keyed) {
      const byKey = new Map(before.map((v, i) => [keysB[i]!, v]));
      const afterKeys = new Set(keysA);
      after.forEach((v, i) => walk(byKey.get(keysA[i]!), v, `${path}[${keysA[i]}]`, out));
      before.forEach((v, i) => {
        if (!afterKeys.has(keysB[i]!)) walk(v, undefined, `${path}[${keysB[i]}]`, out);
      });
      return;
    }
    for (let i = 0; i < Math.max(before.length, after.length); i++) walk(before[i], after[i], `${path}[${i}]`, out);
    return;
  }
  if (!same(before, after)) out.push({ path, kind: 'changed', before, after });
}

/** Every difference from `before` to `after`, in a stable order. */
export function diffTerms(before: unknown, after: unknown): Change[] {
  const out: Change[] = [];
  walk(before as Json, after as Json, '', out);
  return out;
}

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

/** One line per change: `items[N034].timeLimitDays: 20 → 15`, `parties: + 310118`. */
export function formatChange(change: Change): string {
  if (change.kind === 'changed') return `${change.path}: ${show(change.before)} → ${show(change.after)}`;
  if (change.kind === 'added') return `${change.path}: + ${show(change.after)}`;
  return `${change.path}: - ${show(change.before)}`;
}

export function formatDiff(changes: readonly Change[]): string[] {
  return changes.map(formatChange);
}
