import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, sql, SqliteDialect } from 'kysely';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeLocalItem } from '../src/catalog/index.ts';
import { TongbanError } from '../src/errors/index.ts';
import { migrations, openStore, type DirectoryNodeRecord, type Store } from '../src/store/index.ts';
import { AuditLog, auditPages, verifyChain } from '../src/audit/index.ts';
import { openCase, type Case } from '../src/cases/index.ts';

export interface StoreFixture {
  readonly url: string;
  drop(): Promise<void>;
  /** Raw SQL behind the store's back (tampering tests). */
  exec(sql: string): Promise<void>;
}

function localItem(localNumber: string, name = '返乡创业补贴申领') {
  return makeLocalItem('522732', {
    localNumber,
    name,
    ministry: '三都县人社局',
    audience: 'individual',
    modes: ['online'],
    dataElements: ['idNumber', 'name'],
    timeLimit: { kind: 'promised', statutoryDays: 20, committedDays: 5, unit: 'working' },
  });
}

/**
 * The one contract every store implementation passes. Each test gets an empty database
 * (a fresh file or a fresh schema).
 */
export function storeContract(fresh: () => StoreFixture): void {
  let fixture: StoreFixture;
  let store: Store;
  const frozen = new Date('2026-11-30T02:00:00.000Z');

  beforeEach(async () => {
    fixture = fresh();
    store = await openStore({ url: fixture.url, clock: () => frozen });
  });
  afterEach(async () => {
    await store?.close();
    await fixture.drop();
  });

  /** The database behind the store, as the migrations see it. */
  const raw = (url: string): Kysely<unknown> => {
    if (!/^postgres/.test(url)) return new Kysely({ dialect: new SqliteDialect({ database: new BetterSqlite3(url) }) });
    const parsed = new URL(url);
    const schema = parsed.searchParams.get('schema');
    parsed.searchParams.delete('schema');
    return new Kysely({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: parsed.toString(), max: 1, ...(schema ? { options: `-c search_path=${schema}` } : {}) }) }) });
  };

  describe('migrations', () => {
    it('are applied once; opening again applies nothing', async () => {
      expect(await store.migrate()).toEqual([]);
      const again = await openStore({ url: fixture.url });
      try {
        expect(await again.migrate()).toEqual([]);
      } finally {
        await again.close();
      }
    });
  });

  describe('migration 007 (messaging)', () => {
    it('keeps what was queued and applied before it: case outbox rows become case: conversations, case-inbox records the inbox', async () => {
      await store.close();
      // Back to 006, with what a node running it had: a queued hand-off, a delivered one, a case-inbox record.
      const db = raw(fixture.url);
      try {
        // Every migration from 007 on, newest first (later ones sit on top of it).
        for (const name of Object.keys(migrations).filter((m) => m >= '007').sort().reverse()) {
          await migrations[name]!.down!(db);
          await sql`DELETE FROM kysely_migration WHERE name = ${name}`.execute(db);
        }
        const row = (id: string, status: string, caseId: string | null) =>
          sql`INSERT INTO outbox (id, seq, destination, kind, payload, status, attempts, next_attempt_at, created_at, delivered_at, last_error, case_id)
              VALUES (${id}, ${id === 'm1' ? 1 : 2}, '330523', 'case.snapshot', '{}', ${status}, 0, 0, '2026-11-30T01:00:00.000Z', null, null, ${caseId})`.execute(db);
        await row('m1', 'pending', 'C-522732-20261130AAAAAA');
        await row('m2', 'delivered', null);
        await sql`INSERT INTO idempotency_records (scope, key, request_hash, response, created_at) VALUES ('case-inbox', '330523:msg-1', 'h', '"stale"', '2026-11-30T01:00:00.000Z')`.execute(db);
        await sql`INSERT INTO idempotency_records (scope, key, request_hash, response, created_at) VALUES ('catalog.add', 'k', 'h', '1', '2026-11-30T01:00:00.000Z')`.execute(db);
      } finally {
        await db.destroy();
      }
      store = await openStore({ url: fixture.url, clock: () => frozen });
      const [m1, m2] = await store.outbox.list();
      expect(m1).toMatchObject({ id: 'm1', status: 'pending', conversation: 'case:C-522732-20261130AAAAAA', via: null });
      expect(m2).toMatchObject({ id: 'm2', status: 'delivered', conversation: null });
      expect((await store.outbox.due(frozen.getTime(), 10)).map((m) => m.id)).toEqual(['m1']);
      expect(await store.inbox.get('330523', 'msg-1')).toMatchObject({ kind: 'case', result: 'stale', requestHash: null });
      // Other idempotency records are not touched.
      expect((await store.idempotent('catalog.add', 'k', 'h', async () => 2)).result).toBe(1);
    });
  });

  describe('migration 016 (no applicant machine clients)', () => {
    it('revokes the applicant accounts carried over by migration 013 and erases their ID numbers; staff clients are untouched', async () => {
      await store.close();
      // Back to 013, with what a node had: an applicant account (active), one revoked already, a clerk.
      const db = raw(fixture.url);
      try {
        for (const name of Object.keys(migrations).filter((m) => m >= '016').sort().reverse()) {
          await migrations[name]!.down!(db);
          await sql`DELETE FROM kysely_migration WHERE name = ${name}`.execute(db);
        }
        const row = (id: string, role: string, idNumber: string | null, revokedAt: string | null) =>
          sql`INSERT INTO machine_clients (id, name, role, id_number, token_hash, created_at, revoked_at)
              VALUES (${id}, '张', ${role}, ${idNumber}, ${`hash-${id}`}, '2026-11-01T00:00:00.000Z', ${revokedAt})`.execute(db);
        await row('applicant-1', 'applicant', '11010519491231002X', null);
        await row('applicant-2', 'applicant', '110105194912310029', '2026-11-02T00:00:00.000Z');
        await row('clerk-1', 'clerk', null, null);
      } finally {
        await db.destroy();
      }
      store = await openStore({ url: fixture.url, clock: () => frozen });
      const { clients } = await store.machineClients.list({ limit: 10, offset: 0 });
      const byId = new Map(clients.map((c) => [c.id, c]));
      expect(byId.get('applicant-1')).toMatchObject({ role: 'applicant', revokedAt: expect.any(String) });
      expect(Date.parse(byId.get('applicant-1')!.revokedAt!)).toBeGreaterThan(Date.parse('2026-11-01T00:00:00.000Z'));
      // Revoked before: when it was revoked is kept.
      expect(byId.get('applicant-2')).toMatchObject({ revokedAt: '2026-11-02T00:00:00.000Z' });
      expect(byId.get('clerk-1')).toMatchObject({ role: 'clerk', revokedAt: null });
      expect(await store.machineClients.byTokenHash('hash-clerk-1')).toMatchObject({ id: 'clerk-1', revokedAt: null });
      // No ID number is left behind the store's back.
      const check = raw(fixture.url);
      try {
        const left = await sql<{ n: number | string }>`SELECT COUNT(*) AS n FROM machine_clients WHERE id_number IS NOT NULL`.execute(check);
        expect(Number(left.rows[0]!.n)).toBe(0);
      } finally {
        await check.destroy();
      }
    });
  });

  describe('agreement state changes (migration 008)', () => {
    it('records each change once per (agreement, seq): a second change with the same number is refused; lists in chain order', async () => {
      const change = (agreementId: string, seq: number, action: string, jws: string) => ({ agreementId, seq, action, state: action === 'suspend' ? 'suspended' : 'active', party: '522732', actor: '王', reason: '事件调查', at: '2026-11-30T01:00:00.000Z', jws, recordedAt: '2026-11-30T01:00:01.000Z' });
      expect(await store.agreementStates.add(change('AGR-B', 1, 'suspend', 'b1'))).toBe(true);
      expect(await store.agreementStates.add(change('AGR-A', 2, 'resume', 'a2'))).toBe(true);
      expect(await store.agreementStates.add(change('AGR-A', 1, 'suspend', 'a1'))).toBe(true);
      // A fork: another change 1 of AGR-A.
      expect(await store.agreementStates.add(change('AGR-A', 1, 'suspend', 'a1-fork'))).toBe(false);
      expect((await store.agreementStates.list()).map((c) => `${c.agreementId}#${c.seq}:${c.jws}`)).toEqual(['AGR-A#1:a1', 'AGR-A#2:a2', 'AGR-B#1:b1']);
      expect(await store.agreementStates.list('AGR-A')).toMatchObject([{ seq: 1, action: 'suspend', state: 'suspended', actor: '王', reason: '事件调查' }, { seq: 2 }]);
    });
  });

  describe('settings', () => {
    it('store, overwrite and list JSON values, Chinese text intact', async () => {
      expect(await store.settings.get('node')).toBeUndefined();
      await store.settings.put('node', { division: '522732', name: '三都水族自治县' });
      await store.settings.put('node', { division: '522732', name: '三都水族自治县', role: 'node' });
      await store.settings.put('port', 7701);
      expect(await store.settings.get('node')).toEqual({ division: '522732', name: '三都水族自治县', role: 'node' });
      expect(await store.settings.all()).toEqual({
        node: { division: '522732', name: '三都水族自治县', role: 'node' },
        port: 7701,
      });
    });

    it('survive closing and reopening the database', async () => {
      await store.settings.put('survives', true);
      await store.close();
      store = await openStore({ url: fixture.url });
      expect(await store.settings.get('survives')).toBe(true);
    });
  });

  describe('transactions', () => {
    it('commit every write together', async () => {
      await store.transaction(async (tx) => {
        await tx.settings.put('a', 1);
        await tx.catalogItems.add(localItem('001'));
      });
      expect(await store.settings.get('a')).toBe(1);
      expect((await store.catalogItems.list()).map((i) => i.code)).toEqual(['L522732-001']);
    });

    it('leave nothing behind when the work throws half-way', async () => {
      await expect(
        store.transaction(async (tx) => {
          await tx.settings.put('a', 1);
          await tx.catalogItems.add(localItem('001'));
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await store.settings.all()).toEqual({});
      expect(await store.catalogItems.list()).toEqual([]);
    });

    it('roll back a constraint failure with the writes before it', async () => {
      await store.catalogItems.add(localItem('001'));
      const error = await store
        .transaction(async (tx) => {
          await tx.settings.put('before', true);
          await tx.catalogItems.add(localItem('001', '重复事项'));
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TongbanError);
      expect((error as TongbanError).code).toBe('ITEM_CODE_TAKEN');
      expect(await store.settings.get('before')).toBeUndefined();
      expect((await store.catalogItems.list()).map((i) => i.name)).toEqual(['返乡创业补贴申领']);
    });
  });

  describe('idempotent writes', () => {
    it('run once per key and return the stored result on a repeat', async () => {
      let runs = 0;
      const write = () =>
        store.idempotent('catalog.add', 'key-1', 'hash-a', async (tx) => {
          runs++;
          await tx.catalogItems.add(localItem('001'));
          return { code: 'L522732-001', run: runs };
        });
      const first = await write();
      const second = await write();
      expect(first).toEqual({ result: { code: 'L522732-001', run: 1 }, replayed: false });
      expect(second).toEqual({ result: { code: 'L522732-001', run: 1 }, replayed: true });
      expect(runs).toBe(1);
      expect(await store.catalogItems.list()).toHaveLength(1);
    });

    it('refuse the same key for a different request', async () => {
      await store.idempotent('s', 'k', 'hash-a', async () => 'first');
      const error = await store.idempotent('s', 'k', 'hash-b', async () => 'second').catch((e: unknown) => e);
      expect((error as TongbanError).code).toBe('IDEMPOTENCY_KEY_REUSED');
      // Same key in another scope is a different write.
      expect((await store.idempotent('other', 'k', 'hash-b', async () => 'other')).replayed).toBe(false);
    });

    it('record nothing when the work fails, so a retry can run it', async () => {
      await expect(
        store.idempotent('s', 'k', 'h', async (tx) => {
          await tx.settings.put('partial', true);
          throw new Error('backend down');
        }),
      ).rejects.toThrow('backend down');
      expect(await store.settings.get('partial')).toBeUndefined();
      const retry = await store.idempotent('s', 'k', 'h', async (tx) => {
        await tx.settings.put('partial', false);
        return 'done';
      });
      expect(retry).toEqual({ result: 'done', replayed: false });
    });

    it('apply concurrent calls with one key exactly once', async () => {
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          store.idempotent('s', 'same', 'h', async (tx) => {
            await tx.settings.put(`applied-${i}`, true);
            return i;
          }),
        ),
      );
      const applied = Object.keys(await store.settings.all()).filter((k) => k.startsWith('applied-'));
      expect(applied).toHaveLength(1);
      expect(results.filter((r) => !r.replayed)).toHaveLength(1);
      expect(new Set(results.map((r) => r.result)).size).toBe(1);
    });
  });

  describe('catalogue and keys', () => {
    it('round-trip local items and refuse a taken code', async () => {
      await store.catalogItems.add(localItem('002'));
      await store.catalogItems.add(localItem('001'));
      expect((await store.catalogItems.list()).map((i) => i.code)).toEqual(['L522732-001', 'L522732-002']);
      await expect(store.catalogItems.add(localItem('002'))).rejects.toMatchObject({ code: 'ITEM_CODE_TAKEN' });
    });

    it('keep public key records in creation order', async () => {
      const jwk = { kty: 'OKP', crv: 'Ed25519', x: 'abc' };
      await store.keys.add({ kid: 'k2', alg: 'EdDSA', publicJwk: jwk, status: 'active', createdAt: '2026-01-02T00:00:00.000Z' });
      await store.keys.add({ kid: 'k1', alg: 'SM2', publicJwk: jwk, status: 'retired', createdAt: '2026-01-01T00:00:00.000Z' });
      expect((await store.keys.list()).map((k) => [k.kid, k.status])).toEqual([
        ['k1', 'retired'],
        ['k2', 'active'],
      ]);
    });

    it('change a key record’s status (rotations) and say when there is no such key', async () => {
      const jwk = { kty: 'OKP', crv: 'Ed25519', x: 'def' };
      await store.keys.add({ kid: 'k2', alg: 'EdDSA', publicJwk: jwk, status: 'active', createdAt: '2026-01-02T00:00:00.000Z' });
      await store.keys.add({ kid: 'k3', alg: 'EdDSA', publicJwk: jwk, status: 'pending', createdAt: '2026-01-03T00:00:00.000Z' });
      expect(await store.keys.setStatus('k3', 'active')).toBe(true);
      expect(await store.keys.setStatus('k2', 'retired')).toBe(true);
      expect(await store.keys.setStatus('no-such-kid', 'rejected')).toBe(false);
      expect((await store.keys.list()).map((k) => [k.kid, k.status])).toEqual([
        ['k2', 'retired'],
        ['k3', 'active'],
      ]);
    });

    it('answer a ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });

  describe('audit log', () => {
    it('chains concurrent appends without gaps or forks, and verifies', async () => {
      const log = new AuditLog(store, () => frozen);
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          log.append({ kind: 'exchange.request', outcome: i % 3 === 0 ? 'refused' : 'allowed', requestId: `r${i}`, detail: { i } }),
        ),
      );
      expect(results.flat().map((e) => e.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      const verdict = await verifyChain(auditPages(store, 50), []);
      expect(verdict).toMatchObject({ ok: true, entries: 40 });
    });

    it('two appenders on two connections to the same database still form one chain', async () => {
      const other = await openStore({ url: fixture.url });
      try {
        const a = new AuditLog(store);
        const b = new AuditLog(other);
        await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).append({ kind: 'k', outcome: 'sent', detail: { i } })));
        expect(await verifyChain(auditPages(store, 50), [])).toMatchObject({ ok: true, entries: 20 });
      } finally {
        await other.close();
      }
    });

    it('an edited row is reported at its sequence number; a rewritten chain by the checkpoint', async () => {
      const log = new AuditLog(store);
      for (let i = 0; i < 10; i++) await log.append({ kind: 'exchange.request', outcome: 'allowed', detail: { i } });
      const checkpoint = (await store.audit.range(8, 1))[0]!;
      await fixture.exec("UPDATE audit_log SET outcome = 'refused' WHERE seq = 6");
      expect(await verifyChain(auditPages(store, 50), [{ seq: 8, hash: checkpoint.hash }])).toMatchObject({ ok: false, seq: 6, reason: 'hash' });
      await fixture.exec('DELETE FROM audit_log WHERE seq = 10');
      expect(await verifyChain(auditPages(store, 50), [{ seq: 10, hash: 'x'.repeat(64) }])).toMatchObject({ ok: false, seq: 6 });
    });

    it('takes a batch larger than one statement may bind', async () => {
      const log = new AuditLog(store);
      await Promise.all(Array.from({ length: 2500 }, (_, i) => log.append({ kind: 'k', outcome: 'sent', detail: { i } })));
      expect(await verifyChain(auditPages(store, 50), [])).toMatchObject({ ok: true, entries: 2500 });
    });

    it('finds entries by subject hash', async () => {
      const log = new AuditLog(store);
      const hash = 'a'.repeat(64);
      await log.append({ kind: 'k', outcome: 'allowed', subjectHash: hash }, { kind: 'k', outcome: 'allowed', subjectHash: 'b'.repeat(64) });
      expect((await store.audit.bySubject(hash)).map((e) => e.seq)).toEqual([1]);
    });

    it("pages a subject's entries newest first, never another subject's", async () => {
      const log = new AuditLog(store);
      const mine = 'c'.repeat(64);
      const other = 'd'.repeat(64);
      for (let i = 0; i < 7; i++) await log.append({ kind: 'k', outcome: 'allowed', subjectHash: i % 2 === 0 ? mine : other, detail: { i } }, { kind: 'k', outcome: 'allowed', subjectHash: mine });
      const all = await store.audit.bySubject(mine);
      expect(all).toHaveLength(11);
      const first = await store.audit.bySubjectPage(mine, { limit: 4 });
      expect(first.map((e) => e.seq)).toEqual(all.map((e) => e.seq).reverse().slice(0, 4));
      const second = await store.audit.bySubjectPage(mine, { before: first.at(-1)!.seq, limit: 4 });
      expect(second.map((e) => e.seq)).toEqual(all.map((e) => e.seq).reverse().slice(4, 8));
      const rest = await store.audit.bySubjectPage(mine, { before: second.at(-1)!.seq, limit: 100 });
      expect([...first, ...second, ...rest].map((e) => e.seq)).toEqual(all.map((e) => e.seq).reverse());
      expect([...first, ...second, ...rest].every((e) => e.subjectHash === mine)).toBe(true);
      expect(await store.audit.bySubjectPage(mine, { before: 1, limit: 10 })).toEqual([]);
      expect(await store.audit.bySubjectPage('e'.repeat(64), { limit: 10 })).toEqual([]);
    });

    it('pages the entries of several subjects at once (an ID number and certificates), newest first, and nobody else’s', async () => {
      const log = new AuditLog(store);
      const [id, certificate, other] = ['1'.repeat(64), '2'.repeat(64), '3'.repeat(64)];
      for (let i = 0; i < 6; i++) await log.append({ kind: 'k', outcome: 'allowed', subjectHash: [id, certificate, other][i % 3]!, detail: { i } });
      const first = await store.audit.bySubjectsPage([id, certificate], { limit: 3 });
      expect(first.map((e) => e.seq)).toEqual([5, 4, 2]);
      expect((await store.audit.bySubjectsPage([id, certificate], { before: 2, limit: 10 })).map((e) => e.seq)).toEqual([1]);
      expect(await store.audit.bySubjectsPage([], { limit: 10 })).toEqual([]);
      expect((await store.audit.bySubjectsPage([other], { limit: 10 })).map((e) => e.seq)).toEqual([6, 3]);
    });
  });

  describe('federation records', () => {
    const node: DirectoryNodeRecord = {
      division: '522732',
      name: '三都水族自治县',
      role: 'node',
      endpoint: 'http://127.0.0.1:7701',
      signingKey: { kid: '522732:abc', jwk: { kty: 'OKP', crv: 'Ed25519', x: 'x'.repeat(43) } },
      encryptionKey: { kid: '522732:enc', jwk: { kty: 'OKP', crv: 'X25519', x: 'y'.repeat(43) } },
      services: [{ id: 'household.residence-proof', fields: ['idNumber', 'name'], subject: 'idNumber' }],
      status: 'pending',
      enrolledAt: '2026-11-30T00:00:00.000Z',
      decidedAt: null,
      decidedBy: null,
    };

    it('keep directory entries and their status changes', async () => {
      await store.directory.upsert(node);
      await store.directory.upsert({ ...node, status: 'approved', decidedAt: '2026-11-30T01:00:00.000Z', decidedBy: 'admin' });
      expect(await store.directory.get('522732')).toEqual({ ...node, status: 'approved', decidedAt: '2026-11-30T01:00:00.000Z', decidedBy: 'admin' });
      expect(await store.directory.list()).toHaveLength(1);
    });

    it('nonces remembered at the same moment (one group commit): each pair is new exactly once', async () => {
      const results = await Promise.all([
        store.nonces.remember('g', 'same', 1000),
        store.nonces.remember('g', 'same', 1000),
        store.nonces.remember('g', 'other', 1000),
        store.nonces.remember('h', 'same', 1000),
      ]);
      expect(results).toEqual([true, false, true, true]);
      expect(await store.nonces.remember('g', 'other', 1000)).toBe(false);
    });

    it('remember a nonce once, and forget it after expiry', async () => {
      expect(await store.nonces.remember('k', 'n1', 1000)).toBe(true);
      expect(await store.nonces.remember('k', 'n1', 1000)).toBe(false);
      expect(await store.nonces.remember('other', 'n1', 1000)).toBe(true);
      expect(await store.nonces.purge(1001)).toBe(2);
      expect(await store.nonces.remember('k', 'n1', 2000)).toBe(true);
    });

    it('store checkpoints once per sequence number', async () => {
      const cp = { division: '522732', seq: 5, hash: 'h'.repeat(64), at: '2026-11-30T00:00:00.000Z', jws: 'a.b.c' };
      expect(await store.checkpoints.add(cp)).toBe(true);
      expect(await store.checkpoints.add(cp)).toBe(false);
      expect(await store.checkpoints.list('522732', { limit: 10 })).toEqual([cp]);
    });

    it('pages checkpoints in SQL by sequence number, and finds the latest and one by seq', async () => {
      const cp = (seq: number, division = '522732') => ({ division, seq, hash: seq.toString(16).padStart(64, '0'), at: '2026-11-30T00:00:00.000Z', jws: 'a.b.c' });
      for (const seq of [3, 1, 7, 5, 9]) await store.checkpoints.add(cp(seq));
      await store.checkpoints.add(cp(100, '330523'));
      expect((await store.checkpoints.list('522732', { limit: 2 })).map((c) => c.seq)).toEqual([1, 3]);
      expect((await store.checkpoints.list('522732', { after: 3, limit: 2 })).map((c) => c.seq)).toEqual([5, 7]);
      expect((await store.checkpoints.list('522732', { after: 7, limit: 2 })).map((c) => c.seq)).toEqual([9]);
      expect(await store.checkpoints.latest('522732')).toEqual(cp(9));
      expect(await store.checkpoints.latest('110000')).toBeUndefined();
      expect(await store.checkpoints.get('522732', 5)).toEqual(cp(5));
      expect(await store.checkpoints.get('522732', 4)).toBeUndefined();
    });

    it('records an audit incident once per offending claim, in order, and pages them', async () => {
      const incident = (claimedSeq: number, division = '522732') => ({
        division,
        kind: 'conflict' as const,
        claimedSeq,
        claimedHash: 'c'.repeat(64),
        witnessedSeq: claimedSeq,
        witnessedHash: 'w'.repeat(64),
        jws: 'a.b.c',
        at: '2026-11-30T00:00:00.000Z',
      });
      const first = await store.transaction(async (tx) => {
        await tx.checkpoints.lock();
        return tx.incidents.add(incident(5));
      });
      expect(first).toEqual({ incident: { seq: 1, ...incident(5) }, recorded: true });
      expect(await store.incidents.add(incident(5))).toEqual({ incident: { seq: 1, ...incident(5) }, recorded: false });
      expect((await store.incidents.add(incident(6, '330523'))).incident.seq).toBe(2);
      expect((await store.incidents.add(incident(7))).incident.seq).toBe(3);
      expect((await store.incidents.list({ limit: 2 })).map((i) => i.seq)).toEqual([1, 2]);
      expect((await store.incidents.list({ after: 2, limit: 2 })).map((i) => i.seq)).toEqual([3]);
      expect((await store.incidents.list({ limit: 10, division: '522732' })).map((i) => i.claimedSeq)).toEqual([5, 7]);
    });
  });

  describe('cases', () => {
    const caseNumber = (i: number) => `C-522732-20261130${String(i).padStart(6, '0')}`;
    const aCase = (i: number, at = `2026-11-30T01:${String(i % 60).padStart(2, '0')}:00.000Z`): Case =>
      openCase(
        {
          id: caseNumber(i),
          itemCode: 'N034',
          itemName: '户籍类证明',
          mode: 'online',
          applicant: { idNumber: i % 2 ? '11010519491231002X' : '110105194912310029', name: '张三' },
          acceptingNode: '522732',
          competentNodes: ['330523'],
          materials: [],
          timeLimit: { unit: 'working', statutoryDays: 20, committedDays: 3 },
        },
        { node: '522732', id: 'clerk', role: 'clerk' },
        at,
      );

    it('compare-and-set: of concurrent updates from the same version exactly one wins, on any connection', async () => {
      const other = await openStore({ url: fixture.url });
      try {
        const c = aCase(1);
        expect(await store.cases.put(c, 0)).toBe(true);
        expect(await store.cases.put(c, 0)).toBe(false);
        const next = (n: number): Case => ({ ...c, state: 'withdrawn', version: 2, history: [...c.history, { action: 'withdraw', from: 'applied', to: 'withdrawn', at: c.createdAt, actor: { node: '522732', id: `clerk-${n}`, role: 'clerk' }, reason: `r${n}` }] });
        const results = await Promise.all(Array.from({ length: 8 }, (_, n) => (n % 2 ? other : store).cases.put(next(n), 1)));
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = results.indexOf(true);
        expect((await store.cases.get(c.id))!.history.at(-1)!.reason).toBe(`r${winner}`);
        // Without an expected version a copy is stored only if it is newer.
        expect(await store.cases.put(next(9))).toBe(false);
        expect(await store.cases.put({ ...next(9), version: 3 })).toBe(true);
        expect(await store.cases.put({ ...next(9), version: 3 }, 2)).toBe(false);
      } finally {
        await other.close();
      }
    });

    it('lists in pages with a true total, filtered by state and applicant in the database', async () => {
      for (let i = 1; i <= 25; i++) {
        const c = aCase(i);
        expect(await store.cases.put(i % 3 === 0 ? { ...c, state: 'accepted', version: 2 } : c, i % 3 === 0 ? undefined : 0)).toBe(true);
      }
      expect(await store.cases.count({ participant: '522732' })).toBe(25);
      expect(await store.cases.count({ participant: '330523', states: ['accepted'] })).toBe(8);
      expect(await store.cases.count({ participant: '310118' })).toBe(0);
      expect(await store.cases.count({ applicantId: '11010519491231002X' })).toBe(13);
      const pages: string[][] = [];
      for (let offset = 0; offset < 25; offset += 10) pages.push((await store.cases.list({ participant: '522732', limit: 10, offset })).map((c) => c.id));
      expect(pages.map((p) => p.length)).toEqual([10, 10, 5]);
      const all = pages.flat();
      expect(new Set(all).size).toBe(25);
      // Newest first.
      expect(all[0]).toBe(caseNumber(25));
      const accepted = await store.cases.list({ participant: '522732', states: ['accepted'], limit: 100 });
      expect(accepted.map((c) => c.state)).toEqual(Array(8).fill('accepted'));
      // By id after a cursor: stable however the cases change meanwhile.
      const byId = await store.cases.list({ participant: '522732', order: 'id', afterId: caseNumber(20), limit: 100 });
      expect(byId.map((c) => c.id)).toEqual([21, 22, 23, 24, 25].map(caseNumber));
    });

    it('the cases a node decides (migration 023): filtered in the database, and filled in for cases stored before it', async () => {
      for (let i = 1; i <= 6; i++) {
        const c = aCase(i);
        // Cases 5 and 6: accepted at Anji, decided at Sandu and Changzhou.
        const decidedHere = i >= 5 ? { ...c, acceptingNode: '330523', competentNodes: ['522732', '320400'], parts: [{ node: '522732', status: 'pending' as const }, { node: '320400', status: 'pending' as const }] } : c;
        expect(await store.cases.put(i % 2 ? { ...decidedHere, state: 'accepted', version: 2 } : decidedHere, i % 2 ? undefined : 0)).toBe(true);
      }
      const decides = async (node: string, states?: string[]) => (await store.cases.list({ competent: node, ...(states ? { states } : {}), limit: 100, order: 'id' })).map((c) => c.id);
      expect(await decides('330523')).toEqual([1, 2, 3, 4].map(caseNumber));
      expect(await decides('522732')).toEqual([5, 6].map(caseNumber));
      expect(await decides('330523', ['accepted'])).toEqual([1, 3].map(caseNumber));
      expect(await store.cases.count({ participant: '330523', competent: '522732' })).toBe(2);
      expect(await store.cases.count({ competent: '310118' })).toBe(0);
      // Back to before 023 and up again: the table is filled in from the cases' bodies.
      await store.close();
      const db = raw(fixture.url);
      try {
        for (const name of Object.keys(migrations).filter((m) => m >= '023').sort().reverse()) {
          await migrations[name]!.down!(db);
          await sql`DELETE FROM kysely_migration WHERE name = ${name}`.execute(db);
        }
      } finally {
        await db.destroy();
      }
      store = await openStore({ url: fixture.url, clock: () => frozen });
      expect(await decides('330523')).toEqual([1, 2, 3, 4].map(caseNumber));
      expect(await decides('320400')).toEqual([5, 6].map(caseNumber));
    });

    it('outbox: a message waits only behind earlier ones of the same conversation to the same node', async () => {
      const t0 = frozen.getTime();
      await store.outbox.enqueue({ id: 'a1', destination: '330523', conversation: 'case:C-A', kind: 'case.transition', payload: {} });
      await store.outbox.enqueue({ id: 'a2', destination: '330523', conversation: 'case:C-A', kind: 'case.transition', payload: {} });
      await store.outbox.enqueue({ id: 'b1', destination: '330523', conversation: 'case:C-B', kind: 'case.snapshot', payload: {} });
      await store.outbox.enqueue({ id: 'c1', destination: '320400', conversation: 'case:C-A', kind: 'case.transition', payload: {} });
      expect((await store.outbox.due(t0, 100)).map((m) => m.id)).toEqual(['a1', 'b1', 'c1']);
      // a1 fails and waits to retry: a2 stays behind it, nothing else does.
      await store.outbox.markFailed('a1', '503 busy', t0 + 60_000, false);
      expect((await store.outbox.due(t0, 100)).map((m) => m.id)).toEqual(['b1', 'c1']);
      // Refused for good: the next message of its case goes.
      await store.outbox.markFailed('a1', '422 refused', t0, true);
      expect((await store.outbox.due(t0, 100)).map((m) => m.id)).toEqual(['a2', 'b1', 'c1']);
      expect((await store.outbox.list({ failed: true })).map((m) => [m.id, m.status, m.attempts, m.conversation])).toEqual([['a1', 'dead', 2, 'case:C-A']]);
    });
  });

  describe('negotiations', () => {
    const n = (version: number, state = 'draft') => ({ id: 'NEG-AGR-T-1', agreementId: 'AGR-T-1', convener: '522732', state, version, createdAt: '2026-03-01T00:00:00.000Z', updatedAt: `2026-03-01T00:0${version}:00.000Z`, note: '王' });

    it('insert once, then replace only from the expected version (compare-and-set)', async () => {
      expect(await store.negotiations.put(n(1), 0)).toBe(true);
      expect(await store.negotiations.put(n(1), 0)).toBe(false);
      expect(await store.negotiations.put(n(3, 'proposed'), 2)).toBe(false);
      expect(await store.negotiations.put(n(2, 'proposed'), 1)).toBe(true);
      // Two writers from version 2: one wins.
      const both = await Promise.all([store.negotiations.put(n(3, 'countered'), 2), store.negotiations.put({ ...n(3, 'abandoned') }, 2)]);
      expect(both.filter(Boolean)).toHaveLength(1);
      expect(await store.negotiations.get('NEG-AGR-T-1')).toMatchObject({ version: 3, note: '王' });
      expect(await store.negotiations.get('NEG-NONE')).toBeUndefined();
      expect((await store.negotiations.list({ agreementId: 'AGR-T-1' })).length).toBe(1);
      expect(await store.negotiations.list({ agreementId: 'AGR-OTHER' })).toEqual([]);
    });

    it('keep one accepted hash per agreement version, replaced or removed', async () => {
      const at = '2026-03-01T00:00:00.000Z';
      await store.acceptances.put({ agreementId: 'AGR-T-1', version: 1, hash: 'a'.repeat(64), negotiationId: 'NEG-AGR-T-1', acceptedAt: at });
      await store.acceptances.put({ agreementId: 'AGR-T-1', version: 1, hash: 'b'.repeat(64), acceptedAt: at });
      expect(await store.acceptances.get('AGR-T-1', 1)).toEqual({ agreementId: 'AGR-T-1', version: 1, hash: 'b'.repeat(64), negotiationId: null, acceptedAt: at });
      expect(await store.acceptances.get('AGR-T-1', 2)).toBeUndefined();
      await store.acceptances.remove('AGR-T-1', 1);
      expect(await store.acceptances.get('AGR-T-1', 1)).toBeUndefined();
    });
  });

  describe('consents (migration 011)', () => {
    const id = '6f1c2f4e-8f7a-4b7e-9d3c-2a1b0c9d8e7f';
    const record = (overrides: Record<string, unknown> = {}) => ({
      id,
      subjectKey: 'a'.repeat(64),
      requester: '330523',
      provider: '522732',
      artefact: 'h.p.s',
      status: 'active' as const,
      expiresAt: '2026-12-30T00:00:00.000Z',
      revokedAt: null,
      useCount: 0,
      lastUsedAt: null,
      createdAt: '2026-11-30T02:00:00.000Z',
      ...overrides,
    });

    it('the hub keeps them per citizen, revokes once, and keeps only the provider’s higher counts', async () => {
      await store.consents.add(record());
      await store.consents.add(record({ id: '7f1c2f4e-8f7a-4b7e-9d3c-2a1b0c9d8e7f', createdAt: '2026-11-30T03:00:00.000Z' }));
      await store.consents.add(record({ id: '8f1c2f4e-8f7a-4b7e-9d3c-2a1b0c9d8e7f', subjectKey: 'b'.repeat(64) }));
      const mine = await store.consents.listBySubject('a'.repeat(64), { limit: 1, offset: 0 });
      expect(mine.total).toBe(2);
      expect(mine.consents.map((c) => c.id)).toEqual(['7f1c2f4e-8f7a-4b7e-9d3c-2a1b0c9d8e7f']);
      expect(await store.consents.revoke(id, '2026-11-30T04:00:00.000Z')).toBe(true);
      expect(await store.consents.revoke(id, '2026-11-30T05:00:00.000Z')).toBe(false);
      expect(await store.consents.get(id)).toMatchObject({ status: 'revoked', revokedAt: '2026-11-30T04:00:00.000Z' });
      expect(await store.consents.reportUses(id, '330523', 3, '2026-11-30T04:00:00.000Z')).toBe(false);
      expect(await store.consents.reportUses(id, '522732', 3, '2026-11-30T04:00:00.000Z')).toBe(true);
      expect(await store.consents.reportUses(id, '522732', 2, '2026-11-30T03:00:00.000Z')).toBe(false);
      expect(await store.consents.get(id)).toMatchObject({ useCount: 3, lastUsedAt: '2026-11-30T04:00:00.000Z' });
    });

    it('a provider counts uses atomically: of concurrent uses of a single-use consent exactly one counts; none after a revocation', async () => {
      const outcomes = await Promise.all(Array.from({ length: 8 }, () => store.transaction((tx) => tx.consentUses.use(id, { single: true, at: '2026-11-30T02:00:00.000Z' }))));
      expect(outcomes.filter((o) => o.outcome === 'counted')).toHaveLength(1);
      expect(outcomes.filter((o) => o.outcome === 'used')).toHaveLength(7);
      const other = '9f1c2f4e-8f7a-4b7e-9d3c-2a1b0c9d8e7f';
      const many = await Promise.all(Array.from({ length: 5 }, () => store.transaction((tx) => tx.consentUses.use(other, { single: false, at: '2026-11-30T02:00:00.000Z' }))));
      expect(many.every((o) => o.outcome === 'counted')).toBe(true);
      expect(await store.consentUses.get(other)).toMatchObject({ uses: 5, revokedAt: null });
      await store.consentUses.revoke(other, '2026-11-30T03:00:00.000Z');
      await store.consentUses.revoke(other, '2026-11-30T04:00:00.000Z');
      expect(await store.consentUses.use(other, { single: false, at: '2026-11-30T05:00:00.000Z' })).toEqual({ outcome: 'revoked', uses: 5 });
      expect(await store.consentUses.get(other)).toMatchObject({ uses: 5, revokedAt: '2026-11-30T03:00:00.000Z' });
      // A revocation that arrives before any use is kept too.
      await store.consentUses.revoke('af1c2f4e-8f7a-4b7e-9d3c-2a1b0c9d8e7f', '2026-11-30T03:00:00.000Z');
      expect((await store.consentUses.use('af1c2f4e-8f7a-4b7e-9d3c-2a1b0c9d8e7f', { single: true, at: '2026-11-30T05:00:00.000Z' })).outcome).toBe('revoked');
    });
  });
  describe('certificate verification (migration 019)', () => {
    it('a challenge is used once, by exactly one of concurrent uses, and not after it expires', async () => {
      const at = frozen.getTime();
      await store.certificateChallenges.add({ nonce: 'n-concurrent-0000001', requestedBy: 'p-clerk', createdAt: frozen.toISOString(), expiresAt: at + 300_000 });
      const uses = await Promise.all(Array.from({ length: 8 }, () => store.transaction((tx) => tx.certificateChallenges.use('n-concurrent-0000001', at + 1000))));
      expect(uses.filter(Boolean)).toHaveLength(1);
      expect(await store.certificateChallenges.use('n-concurrent-0000001', at + 2000)).toBe(false);
      await store.certificateChallenges.add({ nonce: 'n-expiring-000000001', requestedBy: 'p-clerk', createdAt: frozen.toISOString(), expiresAt: at + 300_000 });
      expect(await store.certificateChallenges.use('n-expiring-000000001', at + 300_000)).toBe(false);
      expect(await store.certificateChallenges.use('n-unknown-0000000001', at)).toBe(false);
      // Expired ones are purged; a fresh one stays.
      await store.certificateChallenges.add({ nonce: 'n-fresh-000000000001', requestedBy: 'p-clerk', createdAt: frozen.toISOString(), expiresAt: at + 900_000 });
      expect(await store.certificateChallenges.purge(at + 600_000)).toBe(2);
      expect(await store.certificateChallenges.use('n-fresh-000000000001', at + 600_000)).toBe(true);
    });

    it('the status-list cache keeps the last list fetched per URI', async () => {
      const uri = 'http://127.0.0.1:7702/v1/certificates/status-lists/L1';
      expect(await store.statusListCache.get(uri)).toBeUndefined();
      await store.statusListCache.put({ uri, jwt: 'a.b.c', fetchedAt: 1_800_000_000_000 });
      await store.statusListCache.put({ uri, jwt: 'd.e.f', fetchedAt: 1_800_000_060_000 });
      expect(await store.statusListCache.get(uri)).toEqual({ uri, jwt: 'd.e.f', fetchedAt: 1_800_000_060_000 });
    });
  });
  describe('issued certificates and status lists (migration 018)', () => {
    it('indexes handed out in transactions at once are distinct; a full list is followed by a new one; one taken in a rolled-back transaction is handed out again', async () => {
      const taken = await Promise.all(Array.from({ length: 11 }, () => store.transaction((tx) => tx.statusLists.allocate(4))));
      expect(new Set(taken.map((s) => `${s.listId}#${s.idx}`)).size).toBe(11);
      expect(taken.map((s) => `${s.listId}#${s.idx}`).sort()).toEqual(['1#0', '1#1', '1#2', '1#3', '2#0', '2#1', '2#2', '2#3', '3#0', '3#1', '3#2']);
      await expect(
        store.transaction(async (tx) => {
          expect(await tx.statusLists.allocate(4)).toEqual({ listId: 3, idx: 3 });
          throw new Error('rolled back');
        }),
      ).rejects.toThrow('rolled back');
      expect(await store.statusLists.allocate(4)).toEqual({ listId: 3, idx: 3 });
      expect(await store.statusLists.get(3)).toMatchObject({ id: 3, size: 4, nextIdx: 4 });
      expect(await store.statusLists.get(4)).toBeUndefined();
    });
    it('one certificate per case; status changes only from the states named; bound once', async () => {
      const record = { id: 'CERT-1', caseId: 'C-330523-X1', vct: 'urn:tongban:certificate:marriage', subjectKey: 'a'.repeat(64), sdJwt: 'jwt~d1~', statusListId: 1, statusIdx: 0, status: 'valid' as const, statusReason: null, statusChangedAt: null, boundThumbprint: null, issuedAt: frozen.toISOString(), expiresAt: '2126-11-30T00:00:00.000Z' };
      expect(await store.certificates.add(record)).toBe(true);
      expect(await store.certificates.add({ ...record, id: 'CERT-2', statusIdx: 1 })).toBe(false);
      expect(await store.certificates.byCase('C-330523-X1')).toEqual(record);
      expect(await store.certificates.setStatus('CERT-1', ['suspended'], 'valid', 'x', frozen.toISOString())).toBe(false);
      expect(await store.certificates.setStatus('CERT-1', ['valid', 'suspended'], 'revoked', '撤销', frozen.toISOString())).toBe(true);
      expect(await store.certificates.setStatus('CERT-1', ['valid', 'suspended'], 'revoked', 'again', frozen.toISOString())).toBe(false);
      expect(await store.certificates.get('CERT-1')).toMatchObject({ status: 'revoked', statusReason: '撤销' });
      expect(await store.certificates.statuses(1)).toEqual([{ idx: 0, status: 'revoked' }]);
      expect(await store.certificates.bind('CERT-1', 'bound~d1~', 't'.repeat(43))).toBe(true);
      expect(await store.certificates.bind('CERT-1', 'other~d1~', 'u'.repeat(43))).toBe(false);
      expect(await store.certificates.get('CERT-1')).toMatchObject({ sdJwt: 'bound~d1~', boundThumbprint: 't'.repeat(43) });
      expect(await store.certificates.list({ subjectKey: 'b'.repeat(64) }, { limit: 10, offset: 0 })).toEqual({ certificates: [], total: 0 });
      expect((await store.certificates.list({ subjectKey: 'a'.repeat(64) }, { limit: 10, offset: 0 })).total).toBe(1);
    });
  });
  describe('certificate issuers and index (migration 017)', () => {
    const jwk = { kty: 'OKP' as const, crv: 'Ed25519' as const, x: 'a'.repeat(43) };
    it('the hub keeps issuers and their keys, replaces them by key, and lists them by division and start', async () => {
      const issuer = { division: '330523', authority: '安吉县政务服务管理局', authorityCode: '11330523MB330523XC', types: ['urn:tongban:certificate:marriage'], authorisedAt: '2026-11-30T02:00:00.000Z', authorisedBy: 'admin-token', withdrawnAt: null };
      await store.certificateIssuers.put(issuer);
      await store.certificateIssuers.put({ ...issuer, division: '320400', authorityCode: '11320400MB3204009J' });
      await store.certificateIssuers.put({ ...issuer, withdrawnAt: '2026-11-30T03:00:00.000Z' });
      expect(await store.certificateIssuers.get('330523')).toEqual({ ...issuer, withdrawnAt: '2026-11-30T03:00:00.000Z' });
      expect((await store.certificateIssuers.list()).map((i) => i.division)).toEqual(['320400', '330523']);
      expect(await store.certificateIssuers.get('522732')).toBeUndefined();
      const key = { division: '330523', kid: '330523:b', jwk, from: '2026-11-30T02:00:00.000Z', retiredAt: null, verifyUntil: null };
      await store.certificateIssuers.putKey(key);
      await store.certificateIssuers.putKey({ ...key, kid: '330523:a', from: '2026-11-30T04:00:00.000Z' });
      await store.certificateIssuers.putKey({ ...key, division: '320400', kid: '320400:c' });
      await store.certificateIssuers.putKey({ ...key, retiredAt: '2026-11-30T04:00:00.000Z', verifyUntil: '2027-11-30T04:00:00.000Z' });
      expect(await store.certificateIssuers.keys('330523')).toEqual([
        { ...key, retiredAt: '2026-11-30T04:00:00.000Z', verifyUntil: '2027-11-30T04:00:00.000Z' },
        { ...key, kid: '330523:a', from: '2026-11-30T04:00:00.000Z' },
      ]);
      expect((await store.certificateIssuers.keys()).map((k) => k.kid)).toEqual(['320400:c', '330523:b', '330523:a']);
    });

    it('files a certificate once (the first filing stays) and lists a holder’s newest first, nobody else’s', async () => {
      const record = { certificateId: '1.2.156.3005.2.A', subjectKey: 'a'.repeat(64), issuer: '330523', vct: 'urn:tongban:certificate:marriage', issuedAt: '2026-11-30T02:00:00.000Z', expiresAt: '2126-11-30T02:00:00.000Z', status: { list: 3, index: 1041 } };
      expect(await store.certificateIndex.add(record)).toBe(true);
      expect(await store.certificateIndex.add({ ...record, issuer: '320400', subjectKey: 'b'.repeat(64) })).toBe(false);
      expect(await store.certificateIndex.get(record.certificateId)).toEqual(record);
      expect(await store.certificateIndex.add({ ...record, certificateId: '1.2.156.3005.2.B', issuedAt: '2026-11-30T03:00:00.000Z' })).toBe(true);
      expect(await store.certificateIndex.add({ ...record, certificateId: '1.2.156.3005.2.C', subjectKey: 'b'.repeat(64), status: null })).toBe(true);
      expect((await store.certificateIndex.get('1.2.156.3005.2.C'))!.status).toBeNull();
      const page = await store.certificateIndex.listBySubject('a'.repeat(64), { limit: 1, offset: 0 });
      expect(page).toEqual({ certificates: [{ ...record, certificateId: '1.2.156.3005.2.B', issuedAt: '2026-11-30T03:00:00.000Z' }], total: 2 });
      expect((await store.certificateIndex.listBySubject('a'.repeat(64), { limit: 10, offset: 1 })).certificates.map((c) => c.certificateId)).toEqual(['1.2.156.3005.2.A']);
      expect(await store.certificateIndex.listBySubject('c'.repeat(64), { limit: 10, offset: 0 })).toEqual({ certificates: [], total: 0 });
    });
  });
  describe('node-local admin grants (migration 026)', () => {
    it('a grant replaces the last one; passphrase attempts are counted before they are checked: of eight at once exactly five pass; revoked counts none', async () => {
      const grant = { login: 'grant@522732', roles: ['dataAdmin'] as const, passphraseHash: 'scrypt$x', grantedAt: '2026-11-30T01:00:00.000Z', grantedBy: 'operator' };
      await store.adminGrants.put(grant);
      expect(await store.adminGrants.get(grant.login)).toEqual({ ...grant, roles: ['dataAdmin'], failures: 0, revokedAt: null });
      const attempts = await Promise.all(Array.from({ length: 8 }, () => store.adminGrants.attempt(grant.login, 5)));
      expect(attempts.filter(Boolean)).toHaveLength(5);
      expect((await store.adminGrants.get(grant.login))!.failures).toBe(5);
      expect(await store.adminGrants.attempt(grant.login, 5)).toBe(false);
      await store.adminGrants.clearFailures(grant.login);
      expect(await store.adminGrants.attempt(grant.login, 5)).toBe(true);
      // Granting again starts afresh, with both roles.
      await store.adminGrants.put({ ...grant, roles: ['dataAdmin', 'operator'] });
      expect(await store.adminGrants.get(grant.login)).toMatchObject({ roles: ['dataAdmin', 'operator'], failures: 0 });
      expect((await store.adminGrants.revoke(grant.login, '2026-11-30T02:00:00.000Z'))!.revokedAt).toBe('2026-11-30T02:00:00.000Z');
      expect(await store.adminGrants.attempt(grant.login, 5)).toBe(false);
      expect(await store.adminGrants.attempt('nobody@522732', 5)).toBe(false);
      expect((await store.adminGrants.list()).map((g) => g.login)).toContain(grant.login);
    });
  });
  describe('staff and node sessions (the operator manages staff, issue 12)', () => {
    it("a node's staff, paged and scoped to that node; every session of one person removed at once", async () => {
      const staff = (login: string, node: string) => ({ id: `p-${login}`, login, kind: 'staff' as const, name: login, idNumber: null, node, roles: ['clerk'], passwordHash: 'x', disabled: false, createdAt: frozen.toISOString() });
      for (const login of ['c@330523', 'a@330523', 'b@330523']) expect(await store.people.add(staff(login, '330523'))).toBe(true);
      await store.people.add(staff('z@522732', '522732'));
      const first = await store.people.staffOf('330523', { limit: 2, offset: 0 });
      expect([first.people.map((p) => p.login), first.total]).toEqual([['a@330523', 'b@330523'], 3]);
      expect((await store.people.staffOf('330523', { limit: 2, offset: 2 })).people.map((p) => p.login)).toEqual(['c@330523']);
      expect(await store.people.staffOf('440300', { limit: 5, offset: 0 })).toEqual({ people: [], total: 0 });

      const session = (idHash: string, subject: string) => ({ idHash, subject, person: { subject }, createdAt: frozen.toISOString(), idleExpiresAt: frozen.getTime() + 60_000, expiresAt: frozen.getTime() + 120_000 });
      await store.sessions.add(session('h1', 'p-a'));
      await store.sessions.add(session('h2', 'p-a'));
      await store.sessions.add(session('h3', 'p-b'));
      expect(await store.sessions.removeBySubject('p-a')).toBe(2);
      expect(await store.sessions.removeBySubject('p-a')).toBe(0);
      expect([await store.sessions.get('h1'), await store.sessions.get('h2')]).toEqual([undefined, undefined]);
      expect(await store.sessions.get('h3')).toMatchObject({ subject: 'p-b' });
    });
  });
}
