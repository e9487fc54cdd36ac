import { describe, expect, it } from 'vitest';
import { isTongbanError } from '../errors/index.ts';
import { enrolmentActionNames, enrolmentActions, enrolmentStates, enrolmentStep, type EnrolmentAction, type EnrolmentState } from './enrolment.ts';

// What the table must allow, written out independently of it: state → action → next state (null: deleted).
const expected: Record<EnrolmentState, Partial<Record<EnrolmentAction, EnrolmentState | null>>> = {
  pending: { approve: 'approved', reject: null, remove: null },
  approved: { suspend: 'suspended', revoke: 'revoked', remove: null },
  suspended: { approve: 'approved', revoke: 'revoked', remove: null },
  revoked: { remove: null },
};

describe('enrolment table (the hub administrator’s steps)', () => {
  it('covers every action and state', () => {
    expect(Object.keys(enrolmentActions).sort()).toEqual([...enrolmentActionNames].sort());
    expect([...enrolmentStates].sort()).toEqual(Object.keys(expected).sort());
  });

  for (const state of enrolmentStates) {
    for (const action of enrolmentActionNames) {
      const want = expected[state][action];
      it(`${action} from ${state}: ${want === undefined ? 'refused' : want === null ? 'entry deleted' : want}`, () => {
        if (want !== undefined) {
          expect(enrolmentStep('330523', state, action)).toBe(want);
          return;
        }
        let thrown: unknown;
        try {
          enrolmentStep('330523', state, action);
        } catch (error) {
          thrown = error;
        }
        expect(isTongbanError(thrown) && thrown.code).toBe('ENROLMENT_TRANSITION_NOT_ALLOWED');
        expect(isTongbanError(thrown) && thrown.status).toBe(409);
        expect((thrown as Error).message).toContain(`cannot ${action} it`);
      });
    }
  }
});
