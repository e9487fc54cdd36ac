import { TongbanError } from '../errors/index.ts';

/**
 * A node's enrolment at the hub. `pending` is the requested state (the name the API has always
 * used); `revoked` is final for that entry: the node leaves the snapshot and cannot enrol again
 * under its division until the administrator removes the entry.
 */
export const enrolmentStates = ['pending', 'approved', 'suspended', 'revoked'] as const;
export type EnrolmentState = (typeof enrolmentStates)[number];
export const enrolmentActionNames = ['approve', 'suspend', 'revoke', 'reject', 'remove'] as const;
export type EnrolmentAction = (typeof enrolmentActionNames)[number];

interface Rule {
  readonly from: readonly EnrolmentState[];
  /** The state after the step; null: the entry is deleted (the division may enrol afresh). */
  readonly to: EnrolmentState | null;
}

/**
 * The administrator's steps as a guarded table, like `caseActions`: approve a requested or
 * suspended node; suspend an approved one; revoke an approved or suspended one; reject a
 * requested one (deleted); remove any entry (deleted: a squatter, a node that lost its key).
 */
export const enrolmentActions = {
  approve: { from: ['pending', 'suspended'], to: 'approved' },
  suspend: { from: ['approved'], to: 'suspended' },
  revoke: { from: ['approved', 'suspended'], to: 'revoked' },
  reject: { from: ['pending'], to: null },
  remove: { from: ['pending', 'approved', 'suspended', 'revoked'], to: null },
} satisfies Record<EnrolmentAction, Rule>;

/** The state `action` leads to from `state` (null: deleted); ENROLMENT_TRANSITION_NOT_ALLOWED when the table forbids it. */
export function enrolmentStep(division: string, state: EnrolmentState, action: EnrolmentAction): EnrolmentState | null {
  const rule: Rule | undefined = enrolmentActions[action];
  if (!rule) throw new TongbanError('VALIDATION_FAILED', `Unknown enrolment action ${String(action)}.`);
  if (!rule.from.includes(state)) {
    throw new TongbanError('ENROLMENT_TRANSITION_NOT_ALLOWED', `${division} is ${state === 'pending' ? 'requested (pending)' : state}; the administrator cannot ${action} it.`);
  }
  return rule.to;
}
