import shipped from '../../data/calendar/cn-public-holidays.json' with { type: 'json' };
import { CLOCK_STOPPED_STATES, type Case } from './model.ts';

const DAY = 86_400_000;
/** Counting is in China Standard Time: a day is a CST calendar day. */
const CST = 8 * 3_600_000;

export function cstDate(instant: Date | number | string): string {
  return new Date(new Date(instant).getTime() + CST).toISOString().slice(0, 10);
}

function nextDate(date: string): string {
  return new Date(Date.parse(date + 'T00:00:00Z') + DAY).toISOString().slice(0, 10);
}

/** End of a CST day, as an instant. */
function endOfCstDay(date: string): number {
  return Date.parse(date + 'T00:00:00Z') + DAY - CST;
}

/**
 * Working days: Monday to Friday, minus public holidays, plus the make-up working days
 * (调休) that fall on weekends. Holidays and make-up days are configurable per node.
 */
export class WorkingCalendar {
  readonly #holidays: ReadonlySet<string>;
  readonly #makeup: ReadonlySet<string>;

  constructor(options: { holidays?: Iterable<string>; makeupWorkdays?: Iterable<string> } = {}) {
    this.#holidays = new Set(options.holidays ?? []);
    this.#makeup = new Set(options.makeupWorkdays ?? []);
  }

  /** The shipped State Council arrangements, extended by a node's own. */
  static china(extra: { holidays?: readonly string[]; makeupWorkdays?: readonly string[] } = {}): WorkingCalendar {
    const years = Object.values(shipped.years);
    return new WorkingCalendar({
      holidays: [...years.flatMap((y) => y.holidays), ...(extra.holidays ?? [])],
      makeupWorkdays: [...years.flatMap((y) => y.makeupWorkdays), ...(extra.makeupWorkdays ?? [])],
    });
  }

  isWorkingDay(date: string): boolean {
    if (this.#makeup.has(date)) return true;
    if (this.#holidays.has(date)) return false;
    const weekday = new Date(date + 'T00:00:00Z').getUTCDay();
    return weekday !== 0 && weekday !== 6;
  }
}

export interface TimeStatus {
  readonly started: boolean;
  /** The clock has stopped for good (decided, concluded, delivered, rejected, withdrawn). */
  readonly finished: boolean;
  readonly clockStopped: boolean;
  readonly unit: 'working' | 'calendar';
  readonly limitDays: number;
  /** Counted days used so far (whole days, the current one included once it has begun). */
  readonly usedDays: number;
  readonly remainingDays: number;
  /** The last counted day, CST, assuming the clock runs from now on. */
  readonly deadline: string | null;
  readonly overdue: boolean;
  /** green, yellow (less than one day left), red (overdue). */
  readonly light: 'green' | 'yellow' | 'red' | 'none';
}

/**
 * The committed time limit of a case: counted from the day after acceptance, in working or
 * calendar days; days on which the clock stands still (special procedure, suspension, notice to
 * complete materials) at their end do not count.
 */
export function caseTimeStatus(c: Case, calendar: WorkingCalendar, now: Date): TimeStatus {
  const unit = c.timeLimit.unit;
  const limit = c.timeLimit.committedDays;
  const base = { unit, limitDays: limit } as const;
  if (!c.acceptedAt) return { ...base, started: false, finished: false, clockStopped: false, usedDays: 0, remainingDays: limit, deadline: null, overdue: false, light: 'none' };

  const stops = stoppedIntervals(c);
  const endState = c.history.find((t) => ['decided', 'rejected', 'withdrawn'].includes(t.to) && t.at >= c.acceptedAt!);
  const end = endState ? Date.parse(endState.at) : now.getTime();
  const today = cstDate(end);
  const counts = (date: string) => unit === 'calendar' || calendar.isWorkingDay(date);
  const stoppedAt = (instant: number) => stops.some(([from, to]) => from <= instant && instant < to);
  // A past day counts unless the clock stood still at its end; today counts if the clock runs
  // now; future days are projected as if it keeps running.
  const dayCounts = (date: string) =>
    counts(date) && (date < today ? !stoppedAt(endOfCstDay(date) - 1) : date === today ? !stoppedAt(end) : true);

  let used = 0;
  let counted = 0;
  let deadline = cstDate(c.acceptedAt);
  for (let date = nextDate(deadline); counted < limit || date <= today; date = nextDate(date)) {
    if (!dayCounts(date)) continue;
    if (date <= today) used++;
    if (counted < limit) {
      counted++;
      deadline = date;
    }
  }
  const clockStopped = !endState && stoppedAt(end);
  const overdue = end > endOfCstDay(deadline);
  const remaining = Math.max(0, limit - used);
  const light = overdue ? 'red' : remaining < 1 ? 'yellow' : 'green';
  return { ...base, started: true, finished: Boolean(endState), clockStopped, usedDays: used, remainingDays: remaining, deadline, overdue, light };
}

/** [from, to) instants during which the clock stood still, from the case history. */
function stoppedIntervals(c: Case): Array<[number, number]> {
  const intervals: Array<[number, number]> = [];
  let since: number | null = null;
  for (const t of c.history) {
    const at = Date.parse(t.at);
    const stoppedNow = CLOCK_STOPPED_STATES.has(t.to);
    if (stoppedNow && since === null) since = at;
    if (!stoppedNow && since !== null) {
      intervals.push([since, at]);
      since = null;
    }
  }
  if (since !== null) intervals.push([since, Number.POSITIVE_INFINITY]);
  return intervals;
}
