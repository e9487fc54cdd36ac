import { describe, expect, it } from 'vitest';
import { TongbanError } from '../errors/index.ts';
import {
  Agreement,
  applyNegotiationAction,
  diffTerms,
  formatDiff,
  latestRound,
  MAX_NEGOTIATION_BYTES,
  MAX_NEGOTIATION_ROUNDS,
  negotiationActionNames,
  negotiationActions,
  negotiationStates,
  openNegotiation,
  termsHash,
  type Negotiation,
  type NegotiationAction,
  type NegotiationActor,
  type NegotiationInput,
  type NegotiationState,
} from './index.ts';

const [A, B, C] = ['522732', '330523', '320400'] as const;
const op = (node: string): NegotiationActor => ({ node, id: `op-${node}`, role: 'operator' });
const T0 = '2026-03-01T08:00:00.000Z';
let clock = Date.parse(T0);
const now = () => new Date((clock += 60_000)).toISOString();

const terms = Agreement.parse({
  id: 'AGR-DELTA-TEST',
  version: 1,
  title: '三方协议',
  parties: [A, B, C],
  topology: 'hub',
  validFrom: '2026-01-01T00:00:00.000Z',
  validUntil: '2028-01-01T00:00:00.000Z',
  items: [
    {
      itemCode: 'N034',
      mode: 'proxy',
      acceptingNodes: [B, C],
      decidingNodes: [A],
      timeLimitDays: 20,
      grants: [{ provider: A, service: 'household.residence-proof', requesters: [B, C], fields: ['idNumber', 'name'], purposes: ['户籍类证明开具'], consentRequired: false }],
    },
  ],
});
const withLimit = (t: Agreement, days: number): Agreement => ({ ...t, items: t.items.map((i) => ({ ...i, timeLimitDays: days })) });

function act(n: Negotiation, action: NegotiationAction, node: string, input: NegotiationInput = {}): Negotiation {
  return applyNegotiationAction(n, action, op(node), input, now());
}
const acceptLatest = (n: Negotiation, node: string) => act(n, 'accept', node, { round: latestRound(n)!.number, hash: latestRound(n)!.hash });
const signLatest = (n: Negotiation, node: string) => act(n, 'sign', node, { hash: latestRound(n)!.hash, jws: `jws-of-${node}-over-terms` });

/** One negotiation in every state, reached by the table itself. */
function fixtures(): Record<NegotiationState, Negotiation> {
  const draft = openNegotiation({ id: 'NEG-test-1', terms }, op(A), now());
  const proposed = act(draft, 'propose', A);
  const countered = act(proposed, 'counter', B, { answers: 1, terms: withLimit(terms, 15) });
  const accepted = acceptLatest(acceptLatest(countered, A), C);
  const signed = signLatest(signLatest(signLatest(accepted, A), B), C);
  const registered = act(signed, 'register', A);
  const active = act(registered, 'activate', B);
  const abandoned = act(proposed, 'abandon', C, { reason: 'not now' });
  return { draft, proposed, countered, accepted, signed, registered, active, abandoned };
}

/** A valid actor and input for the action in this negotiation, so that only the state decides. */
function attempt(n: Negotiation, action: NegotiationAction): () => Negotiation {
  const latest = latestRound(n);
  const notYet = (done: (p: string) => boolean) => [A, B, C].find((p) => !done(p)) ?? B;
  switch (action) {
    case 'edit':
      return () => act(n, 'edit', A, { terms: withLimit(n.terms, 10) });
    case 'propose':
      return () => act(n, 'propose', A);
    case 'counter':
      return () => act(n, 'counter', C, { answers: latest?.number ?? 1, terms: withLimit(n.terms, 7) });
    case 'accept': {
      const who = notYet((p) => n.acceptances.some((a) => a.party === p && a.round === latest?.number));
      return () => act(n, 'accept', who, { round: latest?.number ?? 1, hash: latest?.hash ?? termsHash(n.terms) });
    }
    case 'sign': {
      const who = notYet((p) => n.signatures.some((s) => s.party === p));
      return () => act(n, 'sign', who, { hash: latest?.hash ?? termsHash(n.terms), jws: 'jws-over-the-terms' });
    }
    case 'register':
      return () => act(n, 'register', A);
    case 'activate':
      return () => act(n, 'activate', B);
    case 'abandon':
      return () => act(n, 'abandon', B, { reason: 'the partner withdrew' });
  }
}

function codeOf(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (error) {
    if (error instanceof TongbanError) return error.code;
    throw error;
  }
}

describe('negotiation transition table', () => {
  const all = fixtures();

  it('reaches every state', () => {
    expect(Object.keys(all).sort()).toEqual([...negotiationStates].sort());
    for (const [state, n] of Object.entries(all)) expect(n.state).toBe(state);
  });

  // The whole table: every action from every state. Allowed ones succeed, the others are refused
  // with NEGOTIATION_TRANSITION_NOT_ALLOWED and a sentence naming the state and the action.
  for (const state of negotiationStates) {
    for (const action of negotiationActionNames) {
      const allowed = (negotiationActions[action].from as readonly NegotiationState[]).includes(state);
      it(`${action} from ${state} is ${allowed ? 'allowed' : 'refused'}`, () => {
        const n = all[state];
        const run = attempt(n, action);
        if (allowed) {
          const next = run();
          expect(next.version).toBe(n.version + 1);
          expect(next.history.at(-1)).toMatchObject({ action, from: state, to: next.state, node: next.history.at(-1)!.actor.node });
        } else {
          expect(run).toThrowError(new RegExp(`${state} cannot ${action}`));
          expect(codeOf(run)).toBe('NEGOTIATION_TRANSITION_NOT_ALLOWED');
        }
      });
    }
  }

  it('records every step with actor, node, time and round', () => {
    const h = all.active.history;
    expect(h.map((s) => `${s.action}:${s.node}:${s.to}`)).toEqual([
      `draft:${A}:draft`,
      `propose:${A}:proposed`,
      `counter:${B}:countered`,
      `accept:${A}:countered`,
      `accept:${C}:accepted`,
      `sign:${A}:accepted`,
      `sign:${B}:accepted`,
      `sign:${C}:signed`,
      `register:${A}:registered`,
      `activate:${B}:active`,
    ]);
    expect(h[2]).toMatchObject({ round: 2, actor: { id: `op-${B}`, role: 'operator' } });
    expect(all.abandoned.history.at(-1)).toMatchObject({ action: 'abandon', reason: 'not now', node: C });
  });

  it('gives each round a field-by-field diff against the one it answers', () => {
    const [r1, r2] = all.active.rounds;
    expect(r2).toMatchObject({ number: 2, author: B, answers: 1 });
    expect(formatDiff(diffTerms(r1!.terms, r2!.terms))).toEqual(['items[N034].timeLimitDays: 20 → 15']);
  });
});

describe('negotiation guards', () => {
  const all = fixtures();

  it('lets only parties act, and only the convener edit, propose and register', () => {
    expect(codeOf(() => act(all.proposed, 'accept', '310118', { round: 1, hash: latestRound(all.proposed)!.hash }))).toBe('NEGOTIATION_FORBIDDEN');
    expect(codeOf(() => act(all.draft, 'propose', B))).toBe('NEGOTIATION_FORBIDDEN');
    expect(codeOf(() => act(all.signed, 'register', C))).toBe('NEGOTIATION_FORBIDDEN');
    expect(codeOf(() => applyNegotiationAction(all.proposed, 'accept', { node: B, id: 'clerk-1', role: 'clerk' }, { round: 1, hash: latestRound(all.proposed)!.hash }, now()))).toBe(
      'NEGOTIATION_FORBIDDEN',
    );
    // Only the node's operator or its data administrator (who negotiates for the node) signs with the node key.
    expect(codeOf(() => applyNegotiationAction(all.accepted, 'sign', { node: B, id: 'sup', role: 'supervisor' }, { hash: latestRound(all.accepted)!.hash, jws: 'jws-x-y-z-w' }, now()))).toBe(
      'NEGOTIATION_FORBIDDEN',
    );
    const signed = applyNegotiationAction(all.accepted, 'sign', { node: B, id: 'dataadmin@' + B, role: 'dataAdmin' }, { hash: latestRound(all.accepted)!.hash, jws: 'jws-x-y-z-w' }, now());
    expect(signed.history.at(-1)).toMatchObject({ action: 'sign', actor: { id: 'dataadmin@' + B, role: 'dataAdmin' } });
    expect(codeOf(() => openNegotiation({ id: 'NEG-outsider', terms }, op('310118'), now()))).toBe('NEGOTIATION_FORBIDDEN');
  });

  it('refuses to accept a round other than the latest, or other terms than the round’s', () => {
    const r1 = all.countered.rounds[0]!;
    expect(codeOf(() => act(all.countered, 'accept', C, { round: 1, hash: r1.hash }))).toBe('NEGOTIATION_ROUND_STALE');
    expect(codeOf(() => act(all.countered, 'accept', C, { round: 2, hash: r1.hash }))).toBe('NEGOTIATION_ROUND_STALE');
  });

  it('sequences concurrent counters: the second answers a round that is no longer the latest', () => {
    const fromB = act(all.proposed, 'counter', B, { answers: 1, terms: withLimit(terms, 15) });
    expect(codeOf(() => act(fromB, 'counter', C, { answers: 1, terms: withLimit(terms, 10) }))).toBe('NEGOTIATION_ROUND_STALE');
    // C reads round 2 and answers it: round 3, which resets every acceptance but C's.
    const fromC = act(fromB, 'counter', C, { answers: 2, terms: withLimit(terms, 10) });
    expect(fromC.rounds.map((r) => `${r.number}:${r.author}:${r.answers ?? '-'}`)).toEqual([`1:${A}:-`, `2:${B}:1`, `3:${C}:2`]);
    expect(fromC.acceptances).toEqual([expect.objectContaining({ party: C, round: 3 })]);
  });

  it('refuses a counter that offers the same terms or another agreement', () => {
    expect(codeOf(() => act(all.proposed, 'counter', B, { answers: 1, terms }))).toBe('NEGOTIATION_TRANSITION_NOT_ALLOWED');
    expect(codeOf(() => act(all.proposed, 'counter', B, { answers: 1, terms: { ...terms, id: 'AGR-OTHER-1' } }))).toBe('NEGOTIATION_TRANSITION_NOT_ALLOWED');
    expect(codeOf(() => act(all.proposed, 'counter', B, { answers: 1, terms: { ...terms, version: 2 } }))).toBe('NEGOTIATION_TRANSITION_NOT_ALLOWED');
    expect(codeOf(() => act(all.proposed, 'counter', B, { answers: 1, terms: { ...terms, parties: [B, C] } }))).toBe('NEGOTIATION_TRANSITION_NOT_ALLOWED');
  });

  it('lets a party sign only the exact terms it accepted, with its own code', () => {
    const r1 = all.accepted.rounds[0]!; // A accepted round 1 (it proposed it), but round 2 is the one agreed
    expect(codeOf(() => act(all.accepted, 'sign', A, { hash: r1.hash, jws: 'jws-over-round-1' }))).toBe('AGREEMENT_NOT_ACCEPTED');
    expect(codeOf(() => act(all.accepted, 'sign', B, { hash: termsHash(withLimit(terms, 1)), jws: 'jws-over-other' }))).toBe('AGREEMENT_NOT_ACCEPTED');
    const once = signLatest(all.accepted, B);
    expect(codeOf(() => signLatest(once, B))).toBe('NEGOTIATION_TRANSITION_NOT_ALLOWED');
  });

  it('bounds a negotiation: a counter beyond the last round allowed, or one that would make the copy too large to deliver, is refused', () => {
    let n = all.proposed;
    for (let i = 0; n.rounds.length < MAX_NEGOTIATION_ROUNDS; i++) n = act(n, 'counter', i % 2 ? C : B, { answers: n.rounds.length, terms: withLimit(terms, 30 + i) });
    expect(codeOf(() => act(n, 'counter', B, { answers: n.rounds.length, terms: withLimit(terms, 1) }))).toBe('NEGOTIATION_TRANSITION_NOT_ALLOWED');
    // A party can still accept and conclude the last round.
    expect(acceptLatest(n, A).acceptances.length).toBe(2);
    // Terms of thousands of items: each round repeats them in every copy sent to every party.
    const item = terms.items[0]!;
    const huge = { ...terms, items: Array.from({ length: 3000 }, (_, i) => ({ ...item, itemCode: `X${i}` })) };
    expect(JSON.stringify(huge).length).toBeGreaterThan(MAX_NEGOTIATION_BYTES);
    expect(() => act(all.proposed, 'counter', B, { answers: 1, terms: huge })).toThrowError(/too large/);
  });

  it('needs a reason to abandon', () => {
    expect(codeOf(() => act(all.countered, 'abandon', B, { reason: '  ' }))).toBe('NEGOTIATION_TRANSITION_NOT_ALLOWED');
  });

  it('activates no earlier than the agreement is valid', () => {
    const later = { ...all.registered, terms: { ...all.registered.terms, validFrom: '2099-01-01T00:00:00.000Z' } };
    expect(codeOf(() => act(later, 'activate', B))).toBe('NEGOTIATION_TRANSITION_NOT_ALLOWED');
  });

  it('activates from validFrom on, compared as instants whatever the precision it is written with', () => {
    // Written without milliseconds: as text, "…00.500Z" sorts before "…00Z".
    const at = { ...all.registered, terms: { ...all.registered.terms, validFrom: '2030-01-01T00:00:00Z' } };
    expect(applyNegotiationAction(at, 'activate', op(B), {}, '2030-01-01T00:00:00.500Z').state).toBe('active');
    expect(applyNegotiationAction(at, 'activate', op(B), {}, '2030-01-01T00:00:00.000Z').state).toBe('active');
    expect(codeOf(() => applyNegotiationAction(at, 'activate', op(B), {}, '2029-12-31T23:59:59.999Z'))).toBe('NEGOTIATION_TRANSITION_NOT_ALLOWED');
  });
});

describe('amendment', () => {
  it('negotiates version n+1 with the parties of version n, who must all accept and sign', () => {
    const v2 = { ...terms, version: 2, parties: [A, B], topology: 'bridge' as const, items: [{ ...terms.items[0]!, acceptingNodes: [B], grants: [{ ...terms.items[0]!.grants[0]!, requesters: [B] }] }] };
    expect(codeOf(() => openNegotiation({ id: 'NEG-amend-bad', terms: { ...v2, version: 3 }, amends: { version: 1, parties: [A, B, C] } }, op(A), now()))).toBe(
      'NEGOTIATION_TRANSITION_NOT_ALLOWED',
    );
    let n = openNegotiation({ id: 'NEG-amend-1', terms: v2, amends: { version: 1, parties: [A, B, C] } }, op(A), now());
    n = act(n, 'propose', A);
    n = acceptLatest(n, B);
    expect(n.state).toBe('proposed'); // C, a party to version 1, has not accepted yet
    n = acceptLatest(n, C);
    expect(n.state).toBe('accepted');
    n = signLatest(signLatest(n, A), B);
    expect(n.state).toBe('accepted');
    n = signLatest(n, C);
    expect(n.state).toBe('signed');
  });
});
