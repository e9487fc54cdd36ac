import { afterEach, expect, it } from 'vitest';
import { AuditLog, auditPages, verifyChain } from '../src/audit/index.ts';
import { openStore, type Store } from '../src/store/index.ts';
import { replicasContract } from './replicas-contract.ts';
import { describePostgres, freshPostgresSchema } from './support/postgres.ts';

describePostgres('replicas of one node on one database', () => replicasContract(freshPostgresSchema, { dialect: 'postgres' }));

describePostgres('audit locks keyed per node', () => {
  const fixtures: Array<{ drop: () => Promise<void> }> = [];
  const stores: Store[] = [];
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close().catch(() => {});
    for (const fixture of fixtures.splice(0)) await fixture.drop();
  });
  const open = async (url?: string) => {
    let where = url;
    if (!where) {
      const fixture = freshPostgresSchema();
      fixtures.push(fixture);
      where = fixture.url;
    }
    const store = await openStore({ url: where });
    stores.push(store);
    return { store, url: where };
  };

  /** Holds `store`'s audit head lock (and checkpoint lock) in an open transaction until `release` is called. */
  const holdLocks = async (store: Store) => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const done = store.transaction(async (tx) => {
      await tx.audit.lockHead();
      await tx.checkpoints.lock();
      locked();
      await released;
      await AuditLog.appendIn(tx, [{ kind: 'test.held', outcome: 'sent', detail: {} }], new Date());
    });
    await isLocked;
    return { release, done };
  };
  const settlesWithin = async (promise: Promise<unknown>, ms: number) => Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);

  it('a node appending does not hold up another node on the same database', async () => {
    const sandu = await open();
    const anji = await open();
    const held = await holdLocks(sandu.store);
    try {
      expect(await settlesWithin(new AuditLog(anji.store).append({ kind: 'test.other', outcome: 'sent', detail: {} }), 3000)).toBe(true);
      expect(await settlesWithin(anji.store.transaction((tx) => tx.checkpoints.lock()), 3000)).toBe(true);
    } finally {
      held.release();
      await held.done;
    }
  });

  it('a replica of the same node waits for the lock and links after the holder', async () => {
    const first = await open();
    const second = await open(first.url);
    await new AuditLog(first.store).append({ kind: 'test.first', outcome: 'sent', detail: {} });
    const held = await holdLocks(first.store);
    const waiting = new AuditLog(second.store).append({ kind: 'test.second', outcome: 'sent', detail: {} });
    expect(await settlesWithin(waiting, 500)).toBe(false);
    held.release();
    await held.done;
    const [entry] = await waiting;
    expect(entry).toMatchObject({ seq: 3, kind: 'test.second' });
    expect(await verifyChain(auditPages(second.store), [])).toMatchObject({ ok: true, entries: 3 });
  });
});
