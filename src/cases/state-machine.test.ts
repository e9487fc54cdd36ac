import { describe, expect, it } from 'vitest';
import { TongbanError } from '../errors/index.ts';
import type { Actor, Case } from './model.ts';
import { evidenceFor, previewRequired } from './evidence.ts';
import { applyCaseAction, handOffRefusal, openCase, type ActionInput, type CaseAction } from './state-machine.ts';

const clerk: Actor = { node: '522732', id: 'clerk-1', role: 'clerk' };
const approver: Actor = { node: '330523', id: 'appr-1', role: 'approver' };
const approver2: Actor = { node: '320400', id: 'appr-2', role: 'approver' };
const supervisor: Actor = { node: '330523', id: 'sup-1', role: 'supervisor' };
const applicant: Actor = { node: '522732', id: '11010519491231002X', role: 'applicant' };
let tick = 0;
const now = () => new Date(Date.UTC(2026, 10, 30, 1, 0, tick++)).toISOString();
let n = 0;
const ids = () => `S${n++}`;

function fresh(mode: Case['mode'] = 'proxy', competent = ['330523']): Case {
  return openCase(
    {
      id: 'C-522732-UNIT01',
      itemCode: 'N010',
      itemName: '企业职工基本养老保险关系转移接续',
      mode,
      applicant: { idNumber: '11010519491231002X', name: '张三' },
      acceptingNode: '522732',
      competentNodes: competent,
      materials: [
        { name: '居民身份证', kind: 'physical', required: true },
        { name: '参保缴费凭证', kind: 'physical', required: false },
      ],
      timeLimit: { unit: 'working', statutoryDays: 20, committedDays: 10 },
    },
    applicant,
    now(),
  );
}

function run(c: Case, ...steps: Array<[CaseAction, Actor, ActionInput?]>): Case {
  return steps.reduce((acc, [action, actor, input]) => applyCaseAction(acc, action, actor, input ?? {}, now(), ids), c);
}

function refused(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (error as TongbanError).code;
  }
  return 'NOT REFUSED';
}

const checked: ActionInput = { materials: [{ name: '居民身份证', checked: true }], identityVerified: true };
const accepted = () => run(fresh(), ['precheck', clerk, checked], ['accept', clerk]);

describe('case state machine', () => {
  it('records every transition with who, which node, when and why', () => {
    const c = run(accepted(), ['ship', clerk, { shipment: { carrier: 'EMS', trackingNumber: 'E1', contents: ['身份证复印件'] } }]);
    expect(c.history.map((h) => [h.action, h.from, h.to, h.actor.node])).toEqual([
      ['apply', null, 'applied', '522732'],
      ['precheck', 'applied', 'applied', '522732'],
      ['accept', 'applied', 'accepted', '522732'],
      ['ship', 'accepted', 'accepted', '522732'],
    ]);
    expect(c.version).toBe(4);
    expect(c.acceptedAt).toBeDefined();
  });

  it('accepts only after identity and the required materials are checked', () => {
    expect(refused(() => run(fresh(), ['accept', clerk]))).toBe('CASE_TRANSITION_NOT_ALLOWED');
    expect(refused(() => run(fresh(), ['precheck', clerk, { identityVerified: true }], ['accept', clerk]))).toBe('CASE_TRANSITION_NOT_ALLOWED');
    expect(accepted().state).toBe('accepted');
  });

  it('rejects with a reason only; not after acceptance', () => {
    expect(refused(() => run(fresh(), ['reject', clerk]))).toBe('CASE_TRANSITION_NOT_ALLOWED');
    expect(run(fresh(), ['reject', clerk, { reason: '不属于受理范围' }]).state).toBe('rejected');
    expect(refused(() => run(accepted(), ['reject', clerk, { reason: 'x' }]))).toBe('CASE_TRANSITION_NOT_ALLOWED');
  });

  it('keeps each role and node to its own steps', () => {
    expect(refused(() => run(accepted(), ['start-review', clerk]))).toBe('CASE_FORBIDDEN');
    expect(refused(() => run(accepted(), ['start-review', { ...approver, node: '522732' }]))).toBe('CASE_FORBIDDEN');
    expect(refused(() => run(fresh(), ['accept', { ...clerk, node: '330523' }]))).toBe('CASE_FORBIDDEN');
    expect(refused(() => run(fresh(), ['withdraw', { ...applicant, id: '110105194912310021' }, { reason: 'x' }]))).toBe('CASE_FORBIDDEN');
    expect(refused(() => run(accepted(), ['decide', approver2, { outcome: 'grant', reason: 'x' }]))).toBe('CASE_FORBIDDEN');
  });

  it('return and resubmit, suspend and resume, special procedure', () => {
    const shipped = run(accepted(), ['ship', clerk, { shipment: { carrier: 'EMS', trackingNumber: 'E1', contents: ['x'] } }]);
    const received = run(shipped, ['receive', approver, { shipmentId: shipped.shipments[0]!.id }]);
    let c = run(received, ['start-review', approver], ['return', approver, { reason: '缴费凭证不清晰' }]);
    expect(c.state).toBe('returned');
    c = run(c, ['resubmit', clerk], ['start-review', approver], ['suspend', supervisor, { reason: '等待司法文书' }]);
    expect(c).toMatchObject({ state: 'suspended', resumeState: 'in_review' });
    c = run(c, ['resume', supervisor], ['start-special', approver, { reason: '专家评审' }]);
    expect(c.state).toBe('special_procedure');
    expect(refused(() => run(c, ['decide', approver, { outcome: 'grant', reason: 'x' }]))).toBe('CASE_TRANSITION_NOT_ALLOWED');
    c = run(c, ['end-special', approver], ['decide', approver, { outcome: 'grant', reason: '符合条件' }], ['conclude', approver, { result: { code: 'OK', description: '办结' } }], ['deliver', clerk, { method: 'post', trackingNumber: 'E2' }]);
    expect(c).toMatchObject({ state: 'delivered', decision: { outcome: 'grant' }, delivery: { method: 'post' } });
    expect(refused(() => run(c, ['withdraw', applicant, { reason: 'x' }]))).toBe('CASE_TRANSITION_NOT_ALLOWED');
  });

  it('a shipment is received once, by the node it is addressed to; a lost one is reported', () => {
    const shipped = run(accepted(), ['ship', clerk, { shipment: { carrier: 'EMS', trackingNumber: 'E1', contents: ['x'] } }]);
    const id = shipped.shipments[0]!.id;
    expect(refused(() => run(shipped, ['receive', { ...approver, node: '320400' }, { shipmentId: id }]))).toBe('CASE_FORBIDDEN');
    const got = run(shipped, ['receive', approver, { shipmentId: id }]);
    expect(refused(() => run(got, ['receive', approver, { shipmentId: id }]))).toBe('CASE_TRANSITION_NOT_ALLOWED');
    expect(run(shipped, ['report-lost', clerk, { shipmentId: id, reason: '快递丢失' }]).shipments[0]!.status).toBe('lost');
    expect(refused(() => run(run(fresh('online'), ['precheck', clerk, checked], ['accept', clerk]), ['ship', clerk, { shipment: { carrier: 'EMS', trackingNumber: 'E1', contents: ['x'] } }]))).toBe(
      'CASE_TRANSITION_NOT_ALLOWED',
    );
  });

  it('joint parts: decisions taken at the same time give the same case in either order', () => {
    const joint = run(fresh('joint', ['330523', '320400']), ['precheck', clerk, checked], ['accept', clerk], ['start-review', approver]);
    const at = [now(), now()] as const;
    const byAnji = (c: Case) => applyCaseAction(c, 'decide', approver, { outcome: 'grant', reason: 'A' }, at[0], ids);
    const byChangzhou = (c: Case) => applyCaseAction(c, 'decide', approver2, { outcome: 'grant', reason: 'C' }, at[1], ids);
    expect(byAnji(joint).state).toBe('in_review');
    const first = byChangzhou(byAnji(joint));
    const second = byAnji(byChangzhou(joint));
    for (const c of [first, second]) {
      expect(c).toMatchObject({ state: 'decided', decision: { outcome: 'grant', reason: '330523: A; 320400: C', at: at[1] }, version: joint.version + 2 });
      expect(c.parts.map((p) => p.status)).toEqual(['granted', 'granted']);
    }
    expect({ ...first, history: [] }).toEqual({ ...second, history: [] });
    // One refusal refuses the case, whichever part came first.
    const refusedFirst = applyCaseAction(byAnji(joint), 'decide', approver2, { outcome: 'refuse', reason: '未备案' }, at[1], ids);
    expect(refusedFirst.decision).toEqual({ outcome: 'refuse', reason: '320400: 未备案', at: at[1] });
  });

  it('a hand-off is accepted only as what acceptance at the accepting node produces', () => {
    const accepted = run(fresh('joint', ['330523', '320400']), ['precheck', clerk, checked], ['accept', clerk]);
    expect(handOffRefusal(accepted, '522732')).toBeNull();
    // From another node than the accepting one.
    expect(handOffRefusal(accepted, '330523')).toMatch(/accepting node/);
    // Further along than acceptance: reviewed, decided, concluded.
    const concluded = run(accepted, ['start-review', approver], ['decide', approver, { outcome: 'grant', reason: 'A' }], ['decide', approver2, { outcome: 'grant', reason: 'C' }], [
      'conclude',
      approver,
      { result: { code: 'OK', description: '办结' } },
    ]);
    expect(handOffRefusal(concluded, '522732')).not.toBeNull();
    // Forged fields on an accepted copy, or a history the state machine would not produce.
    expect(handOffRefusal({ ...accepted, decision: { outcome: 'grant', reason: 'x', at: accepted.updatedAt } }, '522732')).not.toBeNull();
    expect(handOffRefusal({ ...accepted, parts: accepted.parts.map((p) => ({ ...p, status: 'granted' as const })) }, '522732')).not.toBeNull();
    expect(handOffRefusal({ ...accepted, history: accepted.history.map((h) => (h.action === 'accept' ? { ...h, actor: { ...h.actor, role: 'approver' as const } } : h)) }, '522732')).not.toBeNull();
    expect(handOffRefusal({ ...accepted, history: accepted.history.filter((h) => h.action !== 'precheck'), version: accepted.version - 1 }, '522732')).toBeNull();
    expect(handOffRefusal({ ...accepted, id: 'C-330523-UNIT01' }, '522732')).toMatch(/identifier/);
    expect(handOffRefusal({ ...accepted, identityVerified: false }, '522732')).not.toBeNull();
  });

  it('evidence: a destination gets the data an agreement with the provider grants it, or a reference', () => {
    const entry = { provider: '522732', service: 'household.residence-proof', requestId: 'r1', fetchedAt: now(), fetchedBy: '330523', purpose: '户籍类证明开具', data: { name: '张三', householdAddress: 'x', sex: '1' } };
    const grants: Record<string, { fields: string[]; purposes: string[] }> = { '320400': { fields: ['name', 'sex'], purposes: ['户籍类证明开具'] }, '310118': { fields: ['name'], purposes: ['居住证办理'] } };
    const find = (q: { requester: string }) => (grants[q.requester] ? { grant: grants[q.requester]! } : undefined);
    expect(evidenceFor('522732', [entry], 'N034', find, new Date())).toEqual([entry]);
    expect(evidenceFor('320400', [entry], 'N034', find, new Date())).toEqual([{ ...entry, data: { name: '张三', sex: '1' } }]);
    const reference: Partial<typeof entry> = { ...entry };
    delete reference.data;
    // No grant, or a grant for another purpose: a reference without data.
    expect(evidenceFor('310118', [entry], 'N034', find, new Date())).toEqual([reference]);
    expect(evidenceFor('440300', [entry], 'N034', find, new Date())).toEqual([reference]);
  });

  it('opens cases at the accepting node only, with the right number of competent nodes', () => {
    expect(() => openCase({ ...fresh(), competentNodes: ['330523'], mode: 'joint', materials: [] } as never, clerk, now())).toThrow(TongbanError);
    expect(refused(() => openCase({ ...fresh(), materials: [] } as never, { ...clerk, node: '330523' }, now()))).toBe('CASE_FORBIDDEN');
  });
});

describe('preview (EU once-only): the applicant sees evidence before the deciding node does', () => {
  const otherApplicant: Actor = { node: '522732', id: '11010519491231003X', role: 'applicant' };
  /** The accepting node's clerk fetches evidence held for preview (a pension item: data from Anji). */
  const fetchAt = (c: Case, requestId: string, fetchedBy = '522732', preview: 'pending' | null = 'pending'): Case => {
    const at = now();
    const evidence = { provider: '330523', service: 'social-insurance.contribution-history', requestId, fetchedAt: at, fetchedBy, purpose: '养老保险关系转移接续', data: { name: '张三', contributionMonths: 120 }, ...(preview ? { preview } : {}) };
    const actor = fetchedBy === '522732' ? clerk : approver;
    return applyCaseAction(c, 'fetch-evidence', actor, { reason: 'x', evidence }, at, ids);
  };
  const prechecked = () => run(fresh('online'), ['precheck', clerk, checked]);
  const find = () => ({ grant: { fields: ['name', 'contributionMonths'], purposes: ['养老保险关系转移接续'] } });

  it('is asked for by the catalogue item or the agreement item; absent on either means as before', () => {
    expect(previewRequired(undefined, undefined)).toBe(false);
    expect(previewRequired({}, {})).toBe(false);
    expect(previewRequired({ preview: true }, undefined)).toBe(true);
    expect(previewRequired({ preview: false }, { preview: true })).toBe(true);
  });

  it('held evidence blocks the hand-off (EVIDENCE_PREVIEW_PENDING) and goes to no other node, not even as data to a granted one', () => {
    const held = fetchAt(prechecked(), 'r-held');
    expect(held.evidence[0]).toMatchObject({ preview: 'pending', data: { contributionMonths: 120 } });
    expect(refused(() => run(held, ['accept', clerk]))).toBe('EVIDENCE_PREVIEW_PENDING');
    const reference = { ...held.evidence[0]! };
    delete reference.data;
    expect(evidenceFor('320400', held.evidence, 'N010', find, new Date())).toEqual([reference]);
    // Only the accepting node holds evidence for preview: a deciding node's pending entry is refused.
    expect(refused(() => fetchAt(run(prechecked(), ['accept', clerk]), 'r-x', '330523'))).toBe('CASE_TRANSITION_NOT_ALLOWED');
    // Nobody records evidence as already released or refused by fetching it.
    const at = now();
    expect(refused(() => applyCaseAction(held, 'fetch-evidence', clerk, { reason: 'x', evidence: { ...held.evidence[0]!, requestId: 'r2', fetchedAt: at, preview: 'released' } }, at, ids))).toBe('CASE_TRANSITION_NOT_ALLOWED');
  });

  it('only the applicant of the case releases or refuses, at the accepting node, once', () => {
    const held = fetchAt(prechecked(), 'r-1');
    expect(refused(() => run(held, ['release-evidence', clerk, { requestId: 'r-1' }]))).toBe('CASE_FORBIDDEN');
    expect(refused(() => run(held, ['release-evidence', otherApplicant, { requestId: 'r-1' }]))).toBe('CASE_FORBIDDEN');
    expect(refused(() => run(held, ['release-evidence', applicant, { requestId: 'nope' }]))).toBe('CASE_TRANSITION_NOT_ALLOWED');
    expect(refused(() => run(held, ['release-evidence', applicant, {}]))).toBe('CASE_TRANSITION_NOT_ALLOWED');
    // A client cannot slip other data in with a release (the route does not take `evidence`; between nodes it must be the entry held).
    expect(refused(() => run(held, ['release-evidence', applicant, { requestId: 'r-1', evidence: { ...held.evidence[0]!, requestId: 'r-9' } }]))).toBe('CASE_TRANSITION_NOT_ALLOWED');
    const released = run(held, ['release-evidence', applicant, { requestId: 'r-1' }]);
    expect(released.evidence[0]).toMatchObject({ preview: 'released', data: { contributionMonths: 120 } });
    expect(released.history.at(-1)).toMatchObject({ action: 'release-evidence', actor: applicant, from: 'applied', to: 'applied' });
    expect(refused(() => run(released, ['refuse-evidence', applicant, { requestId: 'r-1' }]))).toBe('CASE_TRANSITION_NOT_ALLOWED');
    // Not previewed at all (an item without preview): nothing to release.
    const plain = fetchAt(prechecked(), 'r-plain', '522732', null);
    expect(refused(() => run(plain, ['release-evidence', applicant, { requestId: 'r-plain' }]))).toBe('CASE_TRANSITION_NOT_ALLOWED');
  });

  it('released evidence goes on as before; refused evidence loses its data, and the case goes on without it', () => {
    const both = fetchAt(fetchAt(prechecked(), 'r-keep'), 'r-drop');
    const decided = run(both, ['release-evidence', applicant, { requestId: 'r-keep' }], ['refuse-evidence', applicant, { requestId: 'r-drop', reason: '数据有误' }], ['accept', clerk]);
    expect(decided.state).toBe('accepted');
    expect(decided.evidence.map((e) => [e.requestId, e.preview, e.data !== undefined])).toEqual([
      ['r-keep', 'released', true],
      ['r-drop', 'refused', false],
    ]);
    expect(JSON.stringify(decided)).toContain('数据有误');
    // The hand-off carries the released data to a granted node, and never the refused.
    const sent = evidenceFor('320400', decided.evidence, 'N010', find, new Date());
    expect(sent.map((e) => e.data !== undefined)).toEqual([true, false]);
    expect(handOffRefusal({ ...decided, evidence: sent }, '522732')).toBeNull();
    // A hand-off with held evidence, refused evidence that kept its data, or a preview status the history does not show, is refused.
    expect(handOffRefusal({ ...decided, evidence: decided.evidence.map((e) => ({ ...e, preview: 'pending' as const })) }, '522732')).toMatch(/released/);
    expect(handOffRefusal({ ...decided, evidence: decided.evidence.map((e) => ({ ...e, data: { x: 1 } })) }, '522732')).toMatch(/refused/);
    expect(handOffRefusal({ ...decided, evidence: decided.evidence.map((e) => ({ ...e, preview: 'released' as const })) }, '522732')).toMatch(/history/);
  });

  it('after the hand-off: held evidence reaches the other copies as a reference; the release brings them the data', () => {
    const here = fetchAt(run(prechecked(), ['accept', clerk]), 'r-late');
    // What the deciding node replays: the step with the entry as evidenceFor sends it (no data while held).
    const there0 = { ...run(prechecked(), ['accept', clerk]) };
    const fetched = here.history.at(-1)!;
    const sentEntry = evidenceFor('330523', [here.evidence.at(-1)!], 'N010', find, new Date())[0]!;
    expect(sentEntry.data).toBeUndefined();
    const there = applyCaseAction(there0, 'fetch-evidence', clerk, { reason: 'x', evidence: sentEntry }, fetched.at, ids);
    expect(there.evidence.at(-1)).toMatchObject({ preview: 'pending' });
    const released = run(here, ['release-evidence', applicant, { requestId: 'r-late' }]);
    const carried = evidenceFor('330523', [released.evidence.at(-1)!], 'N010', find, new Date())[0]!;
    const at = now();
    const replayed = applyCaseAction(there, 'release-evidence', applicant, { requestId: 'r-late', evidence: carried }, at, ids);
    expect(replayed.evidence.at(-1)).toMatchObject({ preview: 'released', data: { name: '张三', contributionMonths: 120 } });
    // A refusal carries no data, and takes none.
    expect(refused(() => applyCaseAction(there, 'refuse-evidence', applicant, { requestId: 'r-late', evidence: carried }, at, ids))).toBe('CASE_TRANSITION_NOT_ALLOWED');
    expect(applyCaseAction(there, 'refuse-evidence', applicant, { requestId: 'r-late' }, at, ids).evidence.at(-1)).not.toHaveProperty('data');
  });
});
