import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeLocalItem } from '../src/catalog/index.ts';
import { TongbanError } from '../src/errors/index.ts';
import { openStore, type DirectoryNodeRecord, type Store } from '../src/store/index.ts';
import { AuditLog, auditPages, verifyChain } from '../src/audit/index.ts';

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
      expect(await store.checkpoints.list('522732')).toEqual([cp]);
    });
  });
}
