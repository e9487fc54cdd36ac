import { createHash } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson, signJws, verifyJws, type PublicJwk, type SigningKey } from '../crypto/index.ts';
import { TongbanError } from '../errors/index.ts';
import type { Agreement } from './model.ts';

/**
 * The lifecycle of an agreement after registration. `active` is where a registered version
 * starts; `suspended` (by any one party, at once, with a reason) and back; `terminated` (by a
 * party, final); `expired` (validUntil passed: computed from the agreement, never recorded, final).
 */
export const agreementStates = ['active', 'suspended', 'terminated', 'expired'] as const;
export type AgreementState = (typeof agreementStates)[number];
export const lifecycleActionNames = ['suspend', 'resume', 'terminate'] as const;
export type LifecycleAction = (typeof lifecycleActionNames)[number];

/** `typ` of the JWS a party signs over a state change: every node verifies it offline, none trusts the hub for it. */
export const STATE_CHANGE_TYP = 'tongban-agreement-state+jws';

/**
 * One transition, as the party that takes it signs it. `previous` links it to the change before
 * (SHA-256 of that change's JWS) and `seq` numbers it: the changes of an agreement form a chain,
 * so a change cannot be replayed, dropped from the middle, or reordered.
 */
export const StateChange = z.object({
  agreementId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{2,79}$/),
  /** The version in force when the party took the step. */
  agreementVersion: z.number().int().min(1),
  seq: z.number().int().min(1),
  action: z.enum(lifecycleActionNames),
  from: z.enum(agreementStates),
  to: z.enum(agreementStates),
  /** The party that took the step (its node signs the change). */
  party: z.string().regex(/^\d{6}$/),
  /** Who at that node: the operator name available today. */
  actor: z.string().min(1).max(100),
  reason: z.string().trim().min(1).max(500),
  at: z.iso.datetime(),
  previous: z.string().nullable(),
});
export type StateChange = z.infer<typeof StateChange>;

/** Where an agreement's recorded chain of changes stands (expiry aside: see stateAt). */
export interface Lifecycle {
  readonly agreementId: string;
  readonly state: Exclude<AgreementState, 'expired'>;
  /** Number of changes applied; the next change has seq + 1. */
  readonly seq: number;
  /** Hash of the last change's JWS (null before the first). */
  readonly head: string | null;
  /** The party whose suspension is in force (only it may resume). */
  readonly suspendedBy: string | null;
  readonly changes: readonly { readonly jws: string; readonly change: StateChange }[];
}

interface Rule {
  readonly from: readonly AgreementState[];
  readonly to: Exclude<AgreementState, 'expired'>;
  readonly guard?: (lifecycle: Lifecycle, party: string) => string | null;
}

/**
 * The lifecycle as a table of guarded transitions, like `caseActions`. Every action needs a
 * reason. Resuming is the suspending party's alone: a suspension is one party's protective
 * measure (an incident, a breach of the security duties), and letting another party lift it
 * would defeat it; a party that suspended and went silent leaves the others termination.
 * Terminated and expired are final: no action leaves them.
 */
export const agreementLifecycleActions = {
  suspend: { from: ['active'], to: 'suspended' },
  resume: {
    from: ['suspended'],
    to: 'active',
    guard: (lifecycle, party) =>
      lifecycle.suspendedBy === party ? null : `Only ${lifecycle.suspendedBy ?? 'the suspending party'}, the party that suspended it, can resume agreement ${lifecycle.agreementId}.`,
  },
  terminate: { from: ['active', 'suspended'], to: 'terminated' },
} satisfies Record<LifecycleAction, Rule>;

export function emptyLifecycle(agreementId: string): Lifecycle {
  return { agreementId, state: 'active', seq: 0, head: null, suspendedBy: null, changes: [] };
}

/** The state that counts now: terminated is final; past validUntil the agreement is expired; else the recorded state. */
export function stateAt(lifecycle: Pick<Lifecycle, 'state'> | undefined, agreement: Pick<Agreement, 'validUntil'>, now: Date): AgreementState {
  if (lifecycle?.state === 'terminated') return 'terminated';
  if (now.getTime() >= Date.parse(agreement.validUntil)) return 'expired';
  return lifecycle?.state ?? 'active';
}

/**
 * The change `party` takes by `action` now: checks party, state, reason and guard. Throws
 * NOT_A_PARTY or AGREEMENT_TRANSITION_NOT_ALLOWED with the reason. Pure: no I/O, no clock.
 */
export function nextStateChange(
  lifecycle: Lifecycle,
  agreement: Agreement,
  action: LifecycleAction,
  by: { readonly party: string; readonly actor: string },
  reason: string | undefined,
  now: Date,
): StateChange {
  const rule: Rule | undefined = agreementLifecycleActions[action];
  if (!rule) throw new TongbanError('VALIDATION_FAILED', `Unknown agreement action ${String(action)}.`);
  if (!agreement.parties.includes(by.party)) throw new TongbanError('NOT_A_PARTY', `${by.party} is not a party to agreement ${agreement.id}.`);
  const from = stateAt(lifecycle, agreement, now);
  if (!rule.from.includes(from)) throw new TongbanError('AGREEMENT_TRANSITION_NOT_ALLOWED', `An agreement that is ${from} cannot ${action}.`);
  if (!reason?.trim()) throw new TongbanError('AGREEMENT_TRANSITION_NOT_ALLOWED', `Give a reason to ${action} the agreement.`);
  const refusal = rule.guard?.(lifecycle, by.party);
  if (refusal) throw new TongbanError('AGREEMENT_TRANSITION_NOT_ALLOWED', refusal);
  return {
    agreementId: agreement.id,
    agreementVersion: agreement.version,
    seq: lifecycle.seq + 1,
    action,
    from,
    to: rule.to,
    party: by.party,
    actor: by.actor,
    reason: reason.trim(),
    at: now.toISOString(),
    previous: lifecycle.head,
  };
}

export function changeHash(jws: string): string {
  return createHash('sha256').update(jws).digest('base64url');
}

export async function signStateChange(change: StateChange, key: SigningKey): Promise<string> {
  return signJws(key, new TextEncoder().encode(canonicalJson(change)), { typ: STATE_CHANGE_TYP });
}

export type StateChangeCheck =
  | { readonly ok: true; readonly lifecycle: Lifecycle; readonly change: StateChange }
  | { readonly ok: false; readonly code: 'AGREEMENT_STATE_INVALID' | 'AGREEMENT_STATE_CONFLICT'; readonly reason: string };

/**
 * Whether `jws` is the next change of `lifecycle`: signed by a party of the agreement in force
 * (with a key the directory lists for it, current or previous, as for agreement signatures),
 * naming that party, for this agreement and no later version, the next in the chain, and a
 * transition the table allows. Nobody else — not the hub — can make a change a node applies.
 */
export async function checkStateChange(
  lifecycle: Lifecycle,
  agreement: Agreement,
  jws: string,
  keysOf: (division: string) => readonly { kid: string; jwk: PublicJwk }[],
): Promise<StateChangeCheck> {
  const invalid = (reason: string): StateChangeCheck => ({ ok: false, code: 'AGREEMENT_STATE_INVALID', reason });
  // A change held already (verified when it was recorded) is no change: a snapshot replays every
  // change, including those of a party an amendment has since dropped, whose key no longer counts.
  const held = lifecycle.changes.find((c) => c.jws === jws);
  if (held) return { ok: true, lifecycle, change: held.change };
  let signer: string | undefined;
  const result = await verifyJws(jws, (kid) => {
    for (const party of agreement.parties) {
      const key = keysOf(party).find((k) => k.kid === kid);
      if (key) {
        signer = party;
        return key.jwk;
      }
    }
    return null;
  });
  if (!result.ok) return invalid(result.reason === 'unknown-key' ? `the state change is not signed by a party of ${agreement.id}` : 'the state change signature is not valid');
  if (result.header.typ !== STATE_CHANGE_TYP) return invalid('not an agreement state change');
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(result.payload));
  } catch {
    return invalid('the state change is not JSON');
  }
  const parsed = StateChange.safeParse(raw);
  if (!parsed.success) return invalid('the state change does not have the expected form');
  const change = parsed.data;
  if (change.party !== signer) return invalid(`the state change names ${change.party} but is signed by ${signer}`);
  if (change.agreementId !== agreement.id) return invalid(`the state change is for ${change.agreementId}, not ${agreement.id}`);
  if (change.agreementVersion > agreement.version) return invalid(`the state change names version ${change.agreementVersion}, above the version ${agreement.version} in force`);
  if (change.seq <= lifecycle.seq) {
    const same = lifecycle.changes[change.seq - 1]?.jws === jws;
    return same ? { ok: true, lifecycle, change } : { ok: false, code: 'AGREEMENT_STATE_CONFLICT', reason: `change ${change.seq} of ${agreement.id} is already recorded as another change` };
  }
  if (change.seq !== lifecycle.seq + 1 || change.previous !== lifecycle.head) {
    return { ok: false, code: 'AGREEMENT_STATE_CONFLICT', reason: `the state change ${change.seq} does not follow change ${lifecycle.seq} of ${agreement.id}` };
  }
  // The signer's node applied the table when it took the step; every node applies it again.
  let expected: StateChange;
  try {
    expected = nextStateChange(lifecycle, agreement, change.action, { party: change.party, actor: change.actor }, change.reason, new Date(change.at));
  } catch (error) {
    return invalid(error instanceof Error ? error.message : String(error));
  }
  if (expected.from !== change.from || expected.to !== change.to) return invalid(`${change.action} leads from ${expected.from} to ${expected.to}, not from ${change.from} to ${change.to}`);
  return { ok: true, lifecycle: applyStateChange(lifecycle, change, jws), change };
}

/** The lifecycle after a checked change. */
function applyStateChange(lifecycle: Lifecycle, change: StateChange, jws: string): Lifecycle {
  const to = change.to === 'expired' ? lifecycle.state : change.to;
  return {
    agreementId: lifecycle.agreementId,
    state: to,
    seq: change.seq,
    head: changeHash(jws),
    suspendedBy: to === 'suspended' ? change.party : null,
    changes: [...lifecycle.changes, { jws, change }],
  };
}

/** Where an agreement stands now, for people: its state and, when a party put it there, who, when and why. */
export interface AgreementStanding {
  readonly state: AgreementState;
  /** The change that suspended or terminated it (absent while active or once expired). */
  readonly change?: { readonly action: LifecycleAction; readonly party: string; readonly actor: string; readonly reason: string; readonly at: string };
}

/** The standing of `agreement` now (stateAt) with the recorded change behind a suspension or termination. Pure. */
export function standingOf(lifecycle: Lifecycle | undefined, agreement: Pick<Agreement, 'validUntil'>, now: Date): AgreementStanding {
  const state = stateAt(lifecycle, agreement, now);
  const last = lifecycle?.changes.at(-1)?.change;
  if ((state === 'suspended' || state === 'terminated') && last?.to === state) {
    return { state, change: { action: last.action, party: last.party, actor: last.actor, reason: last.reason, at: last.at } };
  }
  return { state };
}

/** "suspended by 522732 (operator): incident" — a standing in one line. */
export function describeStanding(standing: AgreementStanding): string {
  const c = standing.change;
  return c ? `${standing.state} by ${c.party} (${c.actor}) at ${c.at}: ${c.reason}` : standing.state;
}
