import { describe, expect, it } from 'vitest';
import { TongbanError } from '../errors/index.ts';
import type { Actor, Case } from './model.ts';
import { applyCaseAction, mergePartDecisions, openCase, type ActionInput, type CaseAction } from './state-machine.ts';

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

  it('joint parts: concurrent decisions merge into one decided case', () => {
    const joint = run(fresh('joint', ['330523', '320400']), ['precheck', clerk, checked], ['accept', clerk], ['start-review', approver]);
    const byAnji = run(joint, ['decide', approver, { outcome: 'grant', reason: 'A' }]);
    const byChangzhou = run(joint, ['decide', approver2, { outcome: 'grant', reason: 'C' }]);
    expect(byAnji.state).toBe('in_review');
    expect(byAnji.version).toBe(byChangzhou.version);
    const merged = mergePartDecisions(byAnji, byChangzhou, now())!;
    expect(merged).toMatchObject({ state: 'decided', decision: { outcome: 'grant' } });
    expect(merged.parts.map((p) => p.status)).toEqual(['granted', 'granted']);
    expect(merged.version).toBe(byAnji.version + 1);
    expect(merged.history.filter((h) => h.action === 'decide')).toHaveLength(2);
    expect(mergePartDecisions(merged, byChangzhou, now())).toBeNull();
  });

  it('opens cases at the accepting node only, with the right number of competent nodes', () => {
    expect(() => openCase({ ...fresh(), competentNodes: ['330523'], mode: 'joint', materials: [] } as never, clerk, now())).toThrow(TongbanError);
    expect(refused(() => openCase({ ...fresh(), materials: [] } as never, { ...clerk, node: '330523' }, now()))).toBe('CASE_FORBIDDEN');
  });
});
