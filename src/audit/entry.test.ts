import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../crypto/jws.ts';
import { AuditEvent, chainEntries, entryHash, operatorActor } from './entry.ts';
import { verifyChain } from './verify.ts';

const at = '2026-11-30T01:00:00.000Z';

describe('audit entries: the actor', () => {
  it('an entry names who authenticated; a chain with and without actors verifies, and an altered actor does not', async () => {
    const before = chainEntries(undefined, [{ kind: 'case.apply', outcome: 'allowed', caseId: 'C-522732-A1', operator: 'clerk-1' }], at);
    // An entry written before actors existed hashes exactly as it did: no `actor` member at all.
    expect(before[0]).not.toHaveProperty('actor');
    const { prevHash, hash, ...rest } = before[0]!;
    expect(hash).toBe(createHash('sha256').update(prevHash).update('\n').update(canonicalJson({ kind: 'case.apply', outcome: 'allowed', caseId: 'C-522732-A1', operator: 'clerk-1', detail: {}, seq: 1, at })).digest('hex'));
    expect(entryHash({ prevHash, ...rest })).toBe(hash);
    const after = chainEntries(before[0], [
      { kind: 'case.read', outcome: 'allowed', caseId: 'C-522732-A1', actor: { subject: 'clerk-1', node: '522732', role: 'clerk' } },
      { kind: 'exchange.request', outcome: 'refused', code: 'OPERATOR_NOT_CALLER', actor: operatorActor('330523') },
    ], at);
    expect(after[1]!.actor).toEqual({ subject: 'operator-token', node: '330523', role: 'operator' });
    const chain = [...before, ...after];
    expect(await verifyChain([chain], [])).toMatchObject({ ok: true, entries: 3 });
    const forged = chain.map((e) => (e.seq === 2 ? { ...e, actor: { ...e.actor!, subject: 'someone-else' } } : e));
    expect(await verifyChain([forged], [])).toMatchObject({ ok: false, seq: 2, reason: 'hash' });
    const dropped = chain.map((e) => {
      if (e.seq !== 2) return e;
      const rest = { ...e };
      delete rest.actor;
      return rest;
    });
    expect(await verifyChain([dropped], [])).toMatchObject({ ok: false, seq: 2, reason: 'hash' });
  });

  it('an actor is a subject, a division and a role: nothing else, nothing malformed', () => {
    expect(AuditEvent.safeParse({ kind: 'x', outcome: 'allowed', actor: { subject: 'a', node: '52273', role: 'clerk' } }).success).toBe(false);
    expect(AuditEvent.safeParse({ kind: 'x', outcome: 'allowed', actor: { subject: 'a', node: '522732', role: 'clerk', name: '张三' } }).success).toBe(false);
    expect(AuditEvent.safeParse({ kind: 'x', outcome: 'allowed', actor: { subject: '', node: '522732', role: 'clerk' } }).success).toBe(false);
    expect(AuditEvent.safeParse({ kind: 'x', outcome: 'allowed', actor: { subject: 'p-1', node: '522732', role: 'applicant' } }).success).toBe(true);
  });
});
