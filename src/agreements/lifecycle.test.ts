import { describe, expect, it } from 'vitest';
import { generateSigningKey, type SigningKey } from '../crypto/index.ts';
import { isTongbanError } from '../errors/index.ts';
import {
  agreementLifecycleActions,
  agreementStates,
  checkStateChange,
  describeStanding,
  emptyLifecycle,
  lifecycleActionNames,
  nextStateChange,
  signStateChange,
  standingOf,
  stateAt,
  type AgreementState,
  type Lifecycle,
  type LifecycleAction,
} from './lifecycle.ts';
import { Agreement } from './model.ts';

const A = '522732';
const B = '330523';
const C = '320400';
const agreement = Agreement.parse({
  id: 'AGR-LC-1',
  version: 1,
  title: 'lifecycle',
  parties: [A, B, C],
  topology: 'hub',
  validFrom: '2026-01-01T00:00:00.000Z',
  validUntil: '2028-01-01T00:00:00.000Z',
  items: [{ itemCode: 'N034', grants: [{ provider: A, service: 'household.residence-proof', requesters: [B, C], fields: ['name'], purposes: ['p'], consentRequired: false }] }],
});
const now = new Date('2026-11-30T00:00:00Z');
const afterExpiry = new Date('2028-06-01T00:00:00Z');

let keys: Record<string, SigningKey>;
const keysOf = (d: string) => (keys[d] ? [{ kid: keys[d].kid, jwk: keys[d].publicJwk }] : []);

/** Takes `action` as `party` and checks the signed change, as a receiving node would. */
async function step(lifecycle: Lifecycle, action: LifecycleAction, party: string, at = now): Promise<Lifecycle> {
  const change = nextStateChange(lifecycle, agreement, action, { party, actor: 'operator' }, `${action} for a test`, at);
  const check = await checkStateChange(lifecycle, agreement, await signStateChange(change, keys[party]!), keysOf);
  if (!check.ok) throw new Error(check.reason);
  return check.lifecycle;
}

/** A lifecycle in each state (suspended by A; expired computed from the clock). */
async function inState(state: AgreementState): Promise<{ lifecycle: Lifecycle; at: Date }> {
  const empty = emptyLifecycle(agreement.id);
  if (state === 'active') return { lifecycle: empty, at: now };
  if (state === 'expired') return { lifecycle: empty, at: afterExpiry };
  if (state === 'suspended') return { lifecycle: await step(empty, 'suspend', A), at: now };
  return { lifecycle: await step(empty, 'terminate', B), at: now };
}

// What the table must allow, written out independently of it (party A acting).
const allowed: Record<AgreementState, readonly LifecycleAction[]> = {
  active: ['suspend', 'terminate'],
  suspended: ['resume', 'terminate'],
  terminated: [],
  expired: [],
};
const leadsTo: Record<LifecycleAction, AgreementState> = { suspend: 'suspended', resume: 'active', terminate: 'terminated' };

describe('agreement lifecycle table', () => {
  it('has exactly the actions and states the walk covers', async () => {
    keys = Object.fromEntries(await Promise.all([A, B, C, '110000'].map(async (d) => [d, await generateSigningKey('Ed25519', d)] as const)));
    expect(Object.keys(agreementLifecycleActions).sort()).toEqual([...lifecycleActionNames].sort());
    expect([...agreementStates].sort()).toEqual(Object.keys(allowed).sort());
  });

  for (const state of agreementStates) {
    for (const action of lifecycleActionNames) {
      const ok = allowed[state].includes(action);
      it(`${action} from ${state}: ${ok ? `allowed, leads to ${leadsTo[action]}` : 'refused with AGREEMENT_TRANSITION_NOT_ALLOWED'}`, async () => {
        const { lifecycle, at } = await inState(state);
        expect(stateAt(lifecycle, agreement, at)).toBe(state);
        if (ok) {
          const next = await step(lifecycle, action, A, at);
          expect(stateAt(next, agreement, at)).toBe(leadsTo[action]);
          expect(next.seq).toBe(lifecycle.seq + 1);
          expect(next.changes.at(-1)!.change).toMatchObject({ action, from: state, to: leadsTo[action], party: A, reason: `${action} for a test` });
        } else {
          let thrown: unknown;
          try {
            nextStateChange(lifecycle, agreement, action, { party: A, actor: 'operator' }, 'reason', at);
          } catch (error) {
            thrown = error;
          }
          expect(isTongbanError(thrown) && thrown.code).toBe('AGREEMENT_TRANSITION_NOT_ALLOWED');
          expect((thrown as Error).message).toContain(`that is ${state} cannot ${action}`);
        }
      });
    }
  }

  it('lets only the suspending party resume; any party terminates a suspended agreement', async () => {
    const suspended = await step(emptyLifecycle(agreement.id), 'suspend', A);
    expect(suspended.suspendedBy).toBe(A);
    expect(() => nextStateChange(suspended, agreement, 'resume', { party: B, actor: 'op' }, 'why', now)).toThrow(/Only 522732, the party that suspended it/);
    expect(stateAt(await step(suspended, 'resume', A), agreement, now)).toBe('active');
    expect(stateAt(await step(suspended, 'terminate', C), agreement, now)).toBe('terminated');
  });

  it('tells where an agreement stands: who suspended or terminated it, when and why; nothing once resumed or expired', async () => {
    const empty = emptyLifecycle(agreement.id);
    expect(standingOf(undefined, agreement, now)).toEqual({ state: 'active' });
    const suspended = await step(empty, 'suspend', A);
    const standing = standingOf(suspended, agreement, now);
    expect(standing).toEqual({ state: 'suspended', change: { action: 'suspend', party: A, actor: 'operator', reason: 'suspend for a test', at: now.toISOString() } });
    expect(describeStanding(standing)).toBe(`suspended by ${A} (operator) at ${now.toISOString()}: suspend for a test`);
    expect(standingOf(await step(suspended, 'resume', A), agreement, now)).toEqual({ state: 'active' });
    expect(standingOf(await step(suspended, 'terminate', C), agreement, now)).toMatchObject({ state: 'terminated', change: { action: 'terminate', party: C } });
    expect(standingOf(suspended, agreement, afterExpiry)).toEqual({ state: 'expired' });
  });

  it('needs a reason and a party', async () => {
    const empty = emptyLifecycle(agreement.id);
    expect(() => nextStateChange(empty, agreement, 'suspend', { party: A, actor: 'op' }, '  ', now)).toThrow(/Give a reason/);
    expect(() => nextStateChange(empty, agreement, 'suspend', { party: '310118', actor: 'op' }, 'why', now)).toThrow(/not a party/);
  });
});

describe('signed state changes (what every node checks before applying one)', () => {
  it('refuses a change signed by a non-party (a hub), one naming another party than its signer, a tampered one', async () => {
    const empty = emptyLifecycle(agreement.id);
    const change = nextStateChange(empty, agreement, 'suspend', { party: A, actor: 'op' }, 'incident', now);
    // The hub signs a suspension in A's name with its own key.
    const byHub = await checkStateChange(empty, agreement, await signStateChange(change, keys['110000']!), keysOf);
    expect(byHub).toMatchObject({ ok: false, code: 'AGREEMENT_STATE_INVALID', reason: expect.stringContaining('not signed by a party') });
    // B signs a suspension that claims to be A's (so that only "A" could resume it).
    const byOther = await checkStateChange(empty, agreement, await signStateChange(change, keys[B]!), keysOf);
    expect(byOther).toMatchObject({ ok: false, code: 'AGREEMENT_STATE_INVALID', reason: expect.stringContaining('signed by 330523') });
    const jws = await signStateChange(change, keys[A]!);
    const [h, p, s] = jws.split('.');
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...change, reason: 'other' })).toString('base64url')}.${s}`;
    expect(p).not.toBe(tampered.split('.')[1]);
    expect(await checkStateChange(empty, agreement, tampered, keysOf)).toMatchObject({ ok: false, code: 'AGREEMENT_STATE_INVALID' });
  });

  it('refuses a change that does not follow the chain, a fork, and a transition the table forbids', async () => {
    const empty = emptyLifecycle(agreement.id);
    const suspendedByA = await step(empty, 'suspend', A);
    // Replaying the same change is a no-op, not an error.
    const again = await checkStateChange(suspendedByA, agreement, suspendedByA.changes[0]!.jws, keysOf);
    expect(again).toMatchObject({ ok: true, lifecycle: suspendedByA });
    // B suspended at the same time (another change 1): a fork.
    const fork = await signStateChange(nextStateChange(empty, agreement, 'suspend', { party: B, actor: 'op' }, 'incident', now), keys[B]!);
    expect(await checkStateChange(suspendedByA, agreement, fork, keysOf)).toMatchObject({ ok: false, code: 'AGREEMENT_STATE_CONFLICT' });
    // A change 2 without change 1.
    const resume = await signStateChange(nextStateChange(suspendedByA, agreement, 'resume', { party: A, actor: 'op' }, 'fixed', now), keys[A]!);
    expect(await checkStateChange(empty, agreement, resume, keysOf)).toMatchObject({ ok: false, code: 'AGREEMENT_STATE_CONFLICT' });
    // A signed change the table forbids: B "resumes" A's suspension (made by hand, bypassing nextStateChange).
    const forged = { ...nextStateChange(suspendedByA, agreement, 'resume', { party: A, actor: 'op' }, 'x', now), party: B };
    expect(await checkStateChange(suspendedByA, agreement, await signStateChange(forged, keys[B]!), keysOf)).toMatchObject({
      ok: false,
      code: 'AGREEMENT_STATE_INVALID',
      reason: expect.stringContaining('Only 522732'),
    });
  });

  it('after an amendment that drops a party, the changes it took stay held (a snapshot replaying them is no change, not a refusal), and it can take no more', async () => {
    const byC = await step(await step(emptyLifecycle(agreement.id), 'suspend', C), 'resume', C);
    const amended = Agreement.parse({ ...agreement, version: 2, parties: [A, B], items: [{ ...agreement.items[0]!, grants: [{ ...agreement.items[0]!.grants[0]!, requesters: [B] }] }] });
    for (const held of byC.changes) expect(await checkStateChange(byC, amended, held.jws, keysOf)).toMatchObject({ ok: true, lifecycle: byC });
    const late = await signStateChange(nextStateChange(byC, agreement, 'suspend', { party: C, actor: 'op' }, 'after the amendment', now), keys[C]!);
    expect(await checkStateChange(byC, amended, late, keysOf)).toMatchObject({ ok: false, code: 'AGREEMENT_STATE_INVALID' });
  });
});
