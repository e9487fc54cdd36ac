import { describe, expect, it } from 'vitest';
import { caseTimeStatus, WorkingCalendar } from './calendar.ts';
import type { Case, Transition } from './model.ts';
import { openCase } from './state-machine.ts';

// National Day week 2026 as a node would configure it: 10-01..10-07 off, Saturday 10-10 worked.
const calendar = new WorkingCalendar({
  holidays: ['2026-10-01', '2026-10-02', '2026-10-03', '2026-10-04', '2026-10-05', '2026-10-06', '2026-10-07'],
  makeupWorkdays: ['2026-10-10'],
});
const cst = (local: string) => new Date(local + '+08:00');
const clerk = { node: '522732', id: 'clerk-1', role: 'clerk' } as const;

function acceptedCase(unit: 'working' | 'calendar', days: number, extra: Transition[] = []): Case {
  const c = openCase(
    {
      id: 'C-522732-TEST01',
      itemCode: 'N034',
      itemName: '户籍类证明开具',
      mode: 'online',
      applicant: { idNumber: '11010519491231002X', name: '张三' },
      acceptingNode: '522732',
      competentNodes: ['330523'],
      materials: [],
      timeLimit: { unit, statutoryDays: 20, committedDays: days },
    },
    clerk,
    '2026-09-29T01:00:00.000Z',
  );
  const acceptedAt = '2026-09-29T02:00:00.000Z'; // 10:00 CST, a Tuesday
  return { ...c, state: 'in_review', acceptedAt, history: [...c.history, { action: 'accept', from: 'applied', to: 'accepted', at: acceptedAt, actor: clerk }, ...extra] };
}

describe('working-day calendar', () => {
  it('knows weekends, holidays and make-up working days', () => {
    expect(calendar.isWorkingDay('2026-09-30')).toBe(true); // Wednesday
    expect(calendar.isWorkingDay('2026-10-01')).toBe(false); // holiday
    expect(calendar.isWorkingDay('2026-10-10')).toBe(true); // make-up Saturday
    expect(calendar.isWorkingDay('2026-10-11')).toBe(false); // Sunday
    expect(calendar.isWorkingDay('2026-10-17')).toBe(false); // ordinary Saturday
  });

  it('ships the State Council arrangements', () => {
    const china = WorkingCalendar.china();
    expect(china.isWorkingDay('2025-01-29')).toBe(false); // Spring Festival
    expect(china.isWorkingDay('2025-02-08')).toBe(true); // make-up Saturday
    expect(china.isWorkingDay('2025-10-08')).toBe(false);
  });
});

describe('committed time limit', () => {
  it('counts working days from the day after acceptance, across a holiday week and a make-up Saturday', () => {
    const status = caseTimeStatus(acceptedCase('working', 5), calendar, cst('2026-10-09T12:00:00'));
    // 09-30 (1), holidays skipped, 10-08 (2), 10-09 (3) so far; then 10-10 make-up (4), 10-12 (5).
    expect(status).toMatchObject({ started: true, usedDays: 3, remainingDays: 2, deadline: '2026-10-12', overdue: false, light: 'green' });
  });

  it('counts calendar days when the item says so', () => {
    expect(caseTimeStatus(acceptedCase('calendar', 5), calendar, cst('2026-10-01T12:00:00')).deadline).toBe('2026-10-04');
  });

  it('does not count days on which a special procedure stopped the clock', () => {
    const reviewer = { node: '330523', id: 'appr-1', role: 'approver' } as const;
    const c = acceptedCase('working', 5, [
      { action: 'start-review', from: 'accepted', to: 'in_review', at: '2026-09-30T01:00:00.000Z', actor: reviewer },
      { action: 'start-special', from: 'in_review', to: 'special_procedure', at: '2026-10-08T01:00:00.000Z', actor: reviewer, reason: '专家评审' },
      { action: 'end-special', from: 'special_procedure', to: 'in_review', at: '2026-10-09T07:00:00.000Z', actor: reviewer },
    ]);
    // 10-08 ended with the clock stopped: 09-30 (1), 10-09 (2), 10-10 (3), 10-12 (4), 10-13 (5).
    expect(caseTimeStatus(c, calendar, cst('2026-10-12T12:00:00'))).toMatchObject({ usedDays: 4, remainingDays: 1, deadline: '2026-10-13', light: 'green' });
    expect(caseTimeStatus(c, calendar, cst('2026-10-13T12:00:00'))).toMatchObject({ usedDays: 5, remainingDays: 0, light: 'yellow', overdue: false });
    expect(caseTimeStatus(c, calendar, cst('2026-10-14T09:00:00'))).toMatchObject({ overdue: true, light: 'red' });
    // While the procedure runs, the clock reads as stopped and today does not count.
    expect(caseTimeStatus(c, calendar, cst('2026-10-08T15:00:00'))).toMatchObject({ clockStopped: true, usedDays: 1 });
  });

  it('stops for good at the decision', () => {
    const approver = { node: '330523', id: 'appr-1', role: 'approver' } as const;
    const c = acceptedCase('working', 2, [{ action: 'decide', from: 'in_review', to: 'decided', at: '2026-09-30T03:00:00.000Z', actor: approver, reason: 'ok' }]);
    expect(caseTimeStatus(c, calendar, cst('2026-12-01T00:00:00'))).toMatchObject({ finished: true, usedDays: 1, overdue: false });
  });

  it('has not started before acceptance', () => {
    const c = { ...acceptedCase('working', 5), acceptedAt: undefined };
    expect(caseTimeStatus(c, calendar, new Date()).started).toBe(false);
  });
});
