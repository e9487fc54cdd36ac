import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { Agreement, AgreementLifecycles, PolicyIndex, type SignedAgreement } from '../src/agreements/index.ts';
import type { StateChange } from '../src/agreements/lifecycle.ts';
import { AuditLog, auditPages, verifyChain } from '../src/audit/index.ts';
import { bridgeCaseEvents, openCase, type Case, type CaseEvents, type ThreadMessage } from '../src/cases/index.ts';
import { generateEncryptionKey, generateSigningKey } from '../src/crypto/index.ts';
import { DirectoryClient, HubDirectory, type DirectoryEntry } from '../src/directory/index.ts';
import { FAILED_LOGIN_WINDOW_MS, LoginThrottle, MAX_FAILED_LOGINS, MAX_FAILED_LOGINS_PER_LOGIN } from '../src/identity/index.ts';
import type { DirectorySource } from '../src/exchange/index.ts';
import { OutboxWorker } from '../src/messaging/outbox-worker.ts';
import { PERIODIC_LEASE, PeriodicWork } from '../src/node/periodic.ts';
import { openStore, type Store } from '../src/store/index.ts';
import type { StoreFixture } from './store-contract.ts';

const SANDU = '522732';
const DESTINATIONS = ['330523', '310118'];

/** A receiving node as the outbox sees it: records every POST, answers slowly, sometimes 503 (retry). */
async function receivingServer(options: { busyRate: number }): Promise<{ url: string; posts: Array<{ id: string; to: string; conversation: string; accepted: boolean }>; close: () => Promise<void> }> {
  const posts: Array<{ id: string; to: string; conversation: string; accepted: boolean }> = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const envelope = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: string; to: string; conversation: string };
      const accepted = Math.random() >= options.busyRate;
      posts.push({ id: envelope.id, to: envelope.to, conversation: envelope.conversation, accepted });
      setTimeout(() => {
        response.writeHead(accepted ? 200 : 503, { 'content-type': 'application/json' });
        response.end(JSON.stringify(accepted ? { id: envelope.id, result: 'applied', replayed: false } : { code: 'STORE_UNAVAILABLE' }));
      }, Math.floor(Math.random() * 8));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    posts,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Every destination at the receiving server's address (the outbox needs only endpoints). */
function directoryAt(url: string): DirectorySource {
  const view = { node: (division: string) => ({ division, endpoint: url }), hub: () => undefined, policy: new Map() };
  return { current: async () => view as unknown as Awaited<ReturnType<DirectorySource['current']>> };
}

async function until(what: string, ok: () => Promise<boolean> | boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await ok()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`never: ${what}`);
}

/**
 * Several replicas of one node on one database (issue 15): two stores opened on the same
 * database stand for two replica processes. On PostgreSQL they are two pools; on SQLite two
 * connections to one file in one process (one process per file is the rule on SQLite; these
 * tests show the same contract holds there).
 */
/** An agreement in force between two nodes, granting `requester` the name from `provider`'s household registry. */
function replicasAgreement(id: string, topology: 'hub' | 'bridge', provider: string, requester: string): Agreement {
  return Agreement.parse({
    id,
    version: 1,
    title: 'replicas',
    parties: [provider, requester],
    topology,
    validFrom: '2020-01-01T00:00:00.000Z',
    validUntil: '2099-01-01T00:00:00.000Z',
    items: [{ itemCode: 'N034', grants: [{ provider, service: 'household.residence-proof', requesters: [requester], fields: ['name'], purposes: ['p'], consentRequired: false }] }],
  });
}

export function replicasContract(fresh: () => StoreFixture, options: { dialect: 'sqlite' | 'postgres' }): void {
  let fixture: StoreFixture;
  let a: Store;
  let b: Store;
  const closers: Array<() => Promise<void>> = [];

  beforeEach(async () => {
    fixture = fresh();
    a = await openStore({ url: fixture.url });
    b = await openStore({ url: fixture.url });
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => {});
    await a?.close().catch(() => {});
    await b?.close().catch(() => {});
    await fixture.drop();
  });

  /** Enqueues `perConversation` messages in each of `conversations` conversations to each destination; returns them in order per queue. */
  const enqueue = async (store: Store, conversations: number, perConversation: number): Promise<Map<string, string[]>> => {
    const queues = new Map<string, string[]>();
    for (let n = 0; n < perConversation; n++) {
      for (const destination of DESTINATIONS) {
        for (let c = 0; c < conversations; c++) {
          const conversation = `case:C${c}`;
          const id = randomUUID();
          await store.outbox.enqueue({ id, destination, kind: 'test.note', conversation, payload: { n } });
          const key = `${destination} ${conversation}`;
          queues.set(key, [...(queues.get(key) ?? []), id]);
        }
      }
    }
    return queues;
  };

  const worker = async (store: Store, directory: DirectorySource, replica: string, clock: () => Date = () => new Date(), leaseMs?: number) => {
    const w = new OutboxWorker({
      self: SANDU,
      store,
      signingKey: { current: () => key },
      directory,
      clock,
      intervalMs: 20,
      viaHub: [],
      log: () => {},
      replica,
      ...(leaseMs ? { leaseMs } : {}),
    });
    closers.push(async () => {
      w.stop();
      await w.idle();
    });
    return w;
  };
  let key: Awaited<ReturnType<typeof generateSigningKey>>;
  beforeEach(async () => {
    key ??= await generateSigningKey('Ed25519', SANDU);
  });

  it('outbox: two replicas delivering at once send every message exactly once, in order per destination and conversation', async () => {
    const receiver = await receivingServer({ busyRate: 0.15 });
    closers.push(receiver.close);
    const queues = await enqueue(a, 3, 15);
    const total = [...queues.values()].reduce((n, q) => n + q.length, 0);
    const directory = directoryAt(receiver.url);
    const one = await worker(a, directory, 'replica-a');
    const two = await worker(b, directory, 'replica-b');
    one.start();
    two.start();
    await until('all delivered', async () => (await a.outbox.list()).every((m) => m.status === 'delivered'));
    const accepted = receiver.posts.filter((p) => p.accepted);
    expect(accepted).toHaveLength(total);
    // No message was sent again once accepted, nor sent twice at once.
    const perId = new Map<string, number>();
    for (const post of receiver.posts) perId.set(post.id, (perId.get(post.id) ?? 0) + (post.accepted ? 1 : 0));
    expect([...perId.values()].every((n) => n === 1)).toBe(true);
    const acceptedIndex = new Map(accepted.map((p, i) => [p.id, i]));
    for (const post of receiver.posts.filter((p) => !p.accepted)) expect(receiver.posts.indexOf(post)).toBeLessThan(receiver.posts.findIndex((p) => p.id === post.id && p.accepted));
    // In order per queue: each queue's accepted sequence is its enqueue order.
    for (const [queue, ids] of queues) {
      const [destination, conversation] = queue.split(' ');
      expect(accepted.filter((p) => p.to === destination && p.conversation === conversation).map((p) => p.id), queue).toEqual(ids);
      expect(ids.map((id) => acceptedIndex.get(id)!)).toEqual([...ids.map((id) => acceptedIndex.get(id)!)].sort((x, y) => x - y));
    }
    // No claim outlives its delivery.
    const rows = await a.outbox.list();
    expect(rows.every((m) => m.claimedBy === null && m.leaseUntil === null)).toBe(true);
  }, 120_000);

  it('outbox: claims are disjoint; a queue waits behind a leased or retrying head; a dead claimer is replaced after its lease; a late claimer records nothing', async () => {
    const t0 = 1_800_000_000_000;
    const lease = 30_000;
    await a.outbox.enqueue({ id: 'x1', destination: '330523', kind: 'test.note', conversation: 'case:X', payload: {} });
    await a.outbox.enqueue({ id: 'x2', destination: '330523', kind: 'test.note', conversation: 'case:X', payload: {} });
    await a.outbox.enqueue({ id: 'y1', destination: '330523', kind: 'test.note', conversation: 'case:Y', payload: {} });
    await a.outbox.enqueue({ id: 'z1', destination: '310118', kind: 'test.note', conversation: 'case:X', payload: {} });
    // Due at t0 (they were enqueued now, before t0).
    const [first, second] = await Promise.all([a.outbox.claim('replica-a', t0, lease, 2), b.outbox.claim('replica-b', t0, lease, 10)]);
    const ids = [...first, ...second].map((m) => m.id).sort();
    expect(ids).toEqual(['x1', 'y1', 'z1']);
    expect(first.every((m) => m.claimedBy === 'replica-a' && m.leaseUntil === t0 + lease)).toBe(true);
    // Nothing left: x2 waits behind x1 (leased), the rest are leased.
    expect(await b.outbox.claim('replica-b', t0 + 1000, lease, 10)).toEqual([]);
    const holderOf = (id: string) => (first.some((m) => m.id === id) ? { store: a, replica: 'replica-a' } : { store: b, replica: 'replica-b' });

    // x1 fails for now: no longer leased, but x2 still waits behind it until it is delivered.
    const x1 = holderOf('x1');
    expect(await x1.store.outbox.markFailed('x1', '503', t0 + 5000, false, x1.replica)).toBe(true);
    expect((await b.outbox.claim('replica-b', t0 + 1000, lease, 10)).map((m) => m.id)).toEqual([]);
    expect((await b.outbox.claim('replica-b', t0 + 5000, lease, 10)).map((m) => m.id)).toEqual(['x1']);

    // The holder of y1 "dies" (never marks it): after its lease, another replica takes y1 over.
    const y1 = holderOf('y1');
    const other = y1.replica === 'replica-a' ? { store: b, replica: 'replica-b' } : { store: a, replica: 'replica-a' };
    expect((await other.store.outbox.claim(other.replica, t0 + lease - 1, lease, 10)).map((m) => m.id)).not.toContain('y1');
    expect((await other.store.outbox.claim(other.replica, t0 + lease, lease, 10)).map((m) => m.id)).toContain('y1');
    // The late first claimer answers after all: its records are ignored.
    expect(await y1.store.outbox.markFailed('y1', 'late', t0, true, y1.replica)).toBe(false);
    expect(await y1.store.outbox.markDelivered('y1', y1.replica)).toBe(false);
    expect((await a.outbox.list()).find((m) => m.id === 'y1')).toMatchObject({ status: 'pending', claimedBy: other.replica, attempts: 0 });
    expect(await other.store.outbox.markDelivered('y1', other.replica)).toBe(true);

    // x1 delivered: x2 becomes claimable.
    expect(await b.outbox.markDelivered('x1', 'replica-b')).toBe(true);
    expect((await a.outbox.claim('replica-a', t0 + 6000, lease, 10)).map((m) => m.id)).toEqual(['x2']);
    // Released claims are free at once.
    await a.outbox.release(['x2'], 'replica-a');
    expect((await b.outbox.claim('replica-b', t0 + 6000, lease, 10)).map((m) => m.id)).toEqual(['x2']);
  });

  it('outbox: a replica killed while holding claims is replaced after the lease (on SQLite, one process to a store, at once); nothing is lost or sent twice', async () => {
    const receiver = await receivingServer({ busyRate: 0 });
    closers.push(receiver.close);
    const queues = await enqueue(a, 2, 3);
    // Replica A claims the heads and dies (its store closed without a word).
    const claimed = await a.outbox.claim('replica-a', Date.now(), 30_000, 100);
    expect(claimed.length).toBe(4);
    await a.close();
    let offset = 0;
    const survivor = await worker(b, directoryAt(receiver.url), 'replica-b', () => new Date(Date.now() + offset));
    survivor.start();
    if (options.dialect === 'postgres') {
      await new Promise((resolve) => setTimeout(resolve, 300));
      // Every queue's head is under A's lease: nothing moves.
      expect(receiver.posts).toEqual([]);
      offset = 31_000;
      survivor.kick();
    }
    // On SQLite one process holds the store: a claim not the worker's own is a dead process's, taken back at once (no wait for the lease).
    await until('all delivered', async () => (await b.outbox.list()).every((m) => m.status === 'delivered'));
    if (options.dialect === 'sqlite') expect(offset).toBe(0);
    for (const [queue, ids] of queues) {
      const [destination, conversation] = queue.split(' ');
      expect(receiver.posts.filter((p) => p.to === destination && p.conversation === conversation).map((p) => p.id)).toEqual(ids);
    }
  });

  it('audit: two replicas of one node appending at once keep one chain, and it verifies', async () => {
    // On SQLite a second connection in the same process would wait synchronously for the first
    // (better-sqlite3 blocks the event loop): there, the two writers share the one store.
    const second = options.dialect === 'postgres' ? b : a;
    const logs = [new AuditLog(a), new AuditLog(second)];
    const appends: Array<Promise<unknown>> = [];
    for (let i = 0; i < 60; i++) {
      for (const [n, log] of logs.entries()) {
        appends.push(log.append({ kind: 'test.append', outcome: 'sent', detail: { replica: n, i } }));
        // Appends inside other transactions too (cases, messages), not only the batched path.
        if (i % 10 === 0) appends.push((n === 0 ? a : second).transaction((tx) => AuditLog.appendIn(tx, [{ kind: 'test.tx', outcome: 'sent', detail: { replica: n, i } }], new Date())));
      }
      if (i % 7 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(appends);
    const verdict = await verifyChain(auditPages(a), []);
    expect(verdict).toMatchObject({ ok: true, entries: 120 + 12 });
    expect(await b.audit.head()).toEqual(await a.audit.head());
  });

  it('periodic work: with two replicas only the lease holder runs a tick; a holder that dies is replaced after the lease; one that stops hands over at once', async () => {
    let now = 1_800_000_000_000;
    const leaseMs = 10_000;
    const runs: string[] = [];
    const replica = (store: Store, holder: string) => {
      const work = new PeriodicWork({ store, holder, clock: () => new Date(now), leaseMs, log: () => {} });
      // A long period: the test ticks by hand.
      work.every('escalation', 3600, async () => {
        runs.push(holder);
      });
      closers.push(() => work.stop());
      return work;
    };
    const one = replica(a, 'replica-a');
    const two = replica(b, 'replica-b');
    for (let i = 0; i < 5; i++) {
      const ran = await Promise.all([one.tick('escalation'), two.tick('escalation')]);
      expect(ran.filter(Boolean)).toHaveLength(1);
      now += leaseMs / 3;
    }
    expect(new Set(runs).size).toBe(1);
    const [holder, other] = runs[0] === 'replica-a' ? [one, two] : [two, one];
    const holderStore = runs[0] === 'replica-a' ? a : b;
    const otherStore = runs[0] === 'replica-a' ? b : a;
    const otherName = runs[0] === 'replica-a' ? 'replica-b' : 'replica-a';
    expect(await otherStore.leases.get(PERIODIC_LEASE)).toMatchObject({ holder: runs[0] });

    // The holder dies: its timers stop and its database connection goes, the lease stays behind.
    await holder.stop();
    await holderStore.close();
    const renewedUntil = (await otherStore.leases.get(PERIODIC_LEASE))!.until;
    now = renewedUntil - 1;
    expect(await other.tick('escalation')).toBe(false);
    now = renewedUntil;
    expect(await other.tick('escalation')).toBe(true);
    expect(runs.at(-1)).toBe(otherName);

    // A graceful stop releases the lease: a third replica takes over at its next tick, not after the lease.
    const third = replica(otherStore, 'replica-c');
    expect(await third.tick('escalation')).toBe(false);
    await other.release();
    expect(await other.tick('escalation')).toBe(false);
    expect(await third.tick('escalation')).toBe(true);
    expect(runs.at(-1)).toBe('replica-c');
  });

  it('directory refresh: only the lease holder asks the hub; the other replica adopts the snapshot the holder stored', async () => {
    const hubKey = await generateSigningKey('Ed25519', '100000');
    const entryOf = async (division: string, role: 'hub' | 'node'): Promise<DirectoryEntry> => {
      const signing = await generateSigningKey('Ed25519', division);
      const encryption = await generateEncryptionKey(division);
      return { division, name: division, role, endpoint: `http://127.0.0.1:9/${division}`, signingKey: { kid: signing.kid, jwk: signing.publicJwk }, encryptionKey: { kid: encryption.kid, jwk: encryption.publicJwk }, services: [] };
    };
    const hubFixture = fresh();
    const hubStore = await openStore({ url: hubFixture.url });
    closers.push(async () => {
      await hubStore.close();
      await hubFixture.drop();
    });
    const hub = new HubDirectory({ store: hubStore, hubKey, self: await entryOf('100000', 'hub'), snapshotTtlSeconds: 3600, clock: () => new Date() });
    const approve = async (division: string) => {
      await hubStore.directory.upsert({ ...(await entryOf(division, 'node')), status: 'approved', enrolledAt: new Date().toISOString(), decidedAt: new Date().toISOString(), decidedBy: 'test' });
      hub.changed();
    };
    let asked = 0;
    const server = createServer((_request, response) => {
      asked++;
      void hub.snapshot().then(({ jws, view }) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ snapshot: jws, version: view.version }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const hubUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await approve(SANDU);
    const replica = async (store: Store, holder: string) => {
      const work = new PeriodicWork({ store, holder, clock: () => new Date(), leaseMs: 60_000, log: () => {} });
      closers.push(() => work.stop());
      const client = new DirectoryClient({ store, hubUrl, hubKey: { kid: hubKey.kid, jwk: hubKey.publicJwk }, refreshSeconds: 3600, clock: () => new Date() });
      client.holdsLease = () => work.hold();
      closers.push(async () => client.stop());
      return { work, client };
    };
    const one = await replica(a, 'replica-a');
    const two = await replica(b, 'replica-b');
    expect(await one.work.hold()).toBe(true);
    // At start each replica loads what is stored and asks the hub once.
    await one.client.start();
    await two.client.start();
    const started = (await one.client.current()).version;
    expect((await two.client.current()).version).toBe(started);

    for (const division of ['330523', '310118', '320400']) {
      await approve(division);
      const before = asked;
      await one.client.periodicRefresh();
      await two.client.periodicRefresh();
      // One request to the hub per tick of the node, however many replicas tick.
      expect(asked - before).toBe(1);
      const version = (await one.client.current()).version;
      expect(version).toBeGreaterThan(started);
      expect((await two.client.current()).version).toBe(version);
      expect((await two.client.current()).node(division)).toBeDefined();
    }
  });

  it('hub snapshot: two hub replicas never publish two different snapshots under one version, nor older content under a newer one', async () => {
    const entryOf = async (division: string, role: 'hub' | 'node'): Promise<DirectoryEntry> => {
      const signing = await generateSigningKey('Ed25519', division);
      const encryption = await generateEncryptionKey(division);
      return { division, name: division, role, endpoint: `http://127.0.0.1:9/${division}`, signingKey: { kid: signing.kid, jwk: signing.publicJwk }, encryptionKey: { kid: encryption.kid, jwk: encryption.publicJwk }, services: [] };
    };
    const hubKey = await generateSigningKey('Ed25519', '100000');
    const self = await entryOf('100000', 'hub');
    // On SQLite (one process per file) the two hub instances share the one store.
    // Clocks a millisecond apart: two replicas signing at the same instant would otherwise sign identical bytes.
    const hubs = [a, options.dialect === 'postgres' ? b : a].map((store, i) => new HubDirectory({ store, hubKey, self, snapshotTtlSeconds: 3600, clock: () => new Date(Date.now() + i) }));
    const published = new Map<number, Set<string>>();
    const seen: Array<{ version: number; divisions: string[] }> = [];
    const record = (result: { jws: string; view: { version: number; snapshot: { nodes: readonly { division: string }[] } } }) => {
      const jwss = published.get(result.view.version) ?? new Set<string>();
      jwss.add(result.jws);
      published.set(result.view.version, jwss);
      seen.push({ version: result.view.version, divisions: result.view.snapshot.nodes.map((n) => n.division).sort() });
    };
    for (const division of ['522732', '330523', '320400', '310118', '330100', '320500']) {
      // A node approved through one replica; both are told (as each would be by its own request or by the database).
      await a.directory.upsert({ ...(await entryOf(division, 'node')), status: 'approved', enrolledAt: new Date().toISOString(), decidedAt: new Date().toISOString(), decidedBy: 'test' });
      for (const hub of hubs) hub.changed();
      const results = await Promise.all([hubs[0]!.snapshot(), hubs[1]!.snapshot(), hubs[1]!.snapshot(), hubs[0]!.snapshot()]);
      results.forEach(record);
    }
    for (const [version, jwss] of published) expect(jwss.size, `version ${version}`).toBe(1);
    // A higher version never publishes fewer nodes (content only moves forward with the version).
    const byVersion = [...new Map(seen.map((s) => [s.version, s.divisions])).entries()].sort(([x], [y]) => x - y);
    for (let i = 1; i < byVersion.length; i++) expect(byVersion[i]![1].length).toBeGreaterThanOrEqual(byVersion[i - 1]![1].length);
    expect(byVersion.at(-1)![1]).toHaveLength(7);
    // What a replica serves after another published a newer version: the newer one (checked once a second).
    const newest = (await a.directorySnapshots.latestVersion())!;
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await hubs[0]!.snapshot()).view.version).toBe(newest);
    expect((await hubs[1]!.snapshot()).view.version).toBe(newest);
  });

  it('case events: a change or thread message emitted at one replica reaches the subscribers of the other (PostgreSQL LISTEN/NOTIFY); nothing is bridged on SQLite', async () => {
    const c = openCase(
      {
        id: 'C-522732-20261130000001',
        itemCode: 'N034',
        itemName: '户籍类证明',
        mode: 'online',
        applicant: { idNumber: '11010519491231002X', name: '张三' },
        acceptingNode: SANDU,
        competentNodes: ['330523'],
        materials: [],
        timeLimit: { unit: 'working', statutoryDays: 20, committedDays: 3 },
      },
      { node: SANDU, id: 'clerk', role: 'clerk' },
      new Date().toISOString(),
    );
    await a.cases.put(c, 0);
    const message: ThreadMessage = { id: randomUUID(), caseId: c.id, node: SANDU, author: 'clerk', role: 'clerk', text: '请补充材料。', at: new Date().toISOString(), escalation: false, signature: 'x'.repeat(40) };
    await a.caseMessages.add(message);
    const emitters: CaseEvents[] = [new EventEmitter(), new EventEmitter()];
    const seen: Array<Array<{ kind: string; id: string; version?: number }>> = [[], []];
    emitters.forEach((emitter, n) => {
      emitter.on('change', (x: Case) => seen[n]!.push({ kind: 'change', id: x.id, version: x.version }));
      emitter.on('message', (m: ThreadMessage) => seen[n]!.push({ kind: 'message', id: m.id }));
    });
    for (const [n, store] of [a, b].entries()) {
      const stop = await bridgeCaseEvents({ store, cases: emitters[n]!, replica: `replica-${n}`, log: () => {} });
      closers.push(stop);
    }
    emitters[0]!.emit('change', c);
    emitters[0]!.emit('message', message);
    if (options.dialect === 'sqlite') {
      expect(a.notifications).toBeUndefined();
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(seen[1]).toEqual([]);
      return;
    }
    await until('replica 1 saw both', () => seen[1]!.length === 2, 5000);
    expect(seen[1]).toEqual([
      { kind: 'change', id: c.id, version: c.version },
      { kind: 'message', id: message.id },
    ]);
    // Neither echoed back to the replica where they happened, nor announced again by the one that relayed them.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(seen[0]).toHaveLength(2);
    expect(seen[1]).toHaveLength(2);
    // Another node on the same database hears nothing of it.
    const elsewhere = fresh();
    const other = await openStore({ url: elsewhere.url });
    const otherSeen: string[] = [];
    const stopOther = await other.notifications!.listen('case-events', (payload) => otherSeen.push(payload));
    try {
      emitters[0]!.emit('change', c);
      await until('replica 1 saw it again', () => seen[1]!.length === 3, 5000);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(otherSeen).toEqual([]);
    } finally {
      await stopOther();
      await other.close();
      await elsewhere.drop();
    }
  });

  it('agreement states: a suspension stored through one replica is in force at the other without a restart (refused there, published by its hub snapshot); announced at once on PostgreSQL', async () => {
    const [provider, requester, hubDivision] = [SANDU, '330523', '100000'];
    const keys = Object.fromEntries(await Promise.all([provider, requester].map(async (d) => [d, await generateSigningKey('Ed25519', d)] as const)));
    const agreement = replicasAgreement('AGR-REPLICAS-1', 'hub', provider, requester);
    const signed: SignedAgreement = { agreement, signatures: [] };
    const view = { agreements: [signed], node: (d: string) => (keys[d] ? { signingKey: { kid: keys[d].kid, jwk: keys[d].publicJwk } } : undefined) };
    const hubKey = await generateSigningKey('Ed25519', hubDivision);
    const hubEncryption = await generateEncryptionKey(hubDivision);
    const self: DirectoryEntry = { division: hubDivision, name: 'hub', role: 'hub', endpoint: 'http://127.0.0.1:9/hub', signingKey: { kid: hubKey.kid, jwk: hubKey.publicJwk }, encryptionKey: { kid: hubEncryption.kid, jwk: hubEncryption.publicJwk }, services: [] };
    const hubs = [a, b].map((store) => new HubDirectory({ store, hubKey, self, snapshotTtlSeconds: 3600, clock: () => new Date() }));
    const told: StateChange[][] = [[], [], [], []];
    const replica = (store: Store, n: number) =>
      new AgreementLifecycles({ self: provider, store, audit: new AuditLog(store), directory: { current: async () => view }, signingKey: { current: () => keys[provider]! }, clock: () => new Date(), replica: `replica-${n}`, onApplied: (c) => (told[n]!.push(c), hubs[n]?.changed()) });
    // Two listening replicas, and one that hears nothing (its notifications lost): it relies on refresh().
    const replicas = [replica(a, 0), replica(b, 1)];
    const deaf = replica(b, 2);
    for (const r of [...replicas, deaf]) await r.load();
    for (const r of replicas) closers.push(await r.listen());
    const policy = new PolicyIndex([agreement]);
    const request = { agreementId: agreement.id, requester, provider, itemCode: 'N034', service: 'household.residence-proof', fields: ['name'], purpose: 'p', hasConsent: false };
    expect(policy.decide(request, new Date(), deaf)).toMatchObject({ allowed: true });
    // Replica 1 (the other hub replica) has published a snapshot before the suspension.
    expect((await hubs[1]!.snapshot()).view.snapshot.agreementStates).toEqual([]);

    const { jws } = await replicas[0]!.act(agreement.id, 'suspend', { actor: 'operator', reason: 'audit finding' });

    // The replica that heard nothing still holds the old state in memory; a decision refreshes first and is refused.
    expect(deaf.stateOf(agreement.id)).toBe('active');
    await deaf.refresh();
    expect(deaf.stateOf(agreement.id)).toBe('suspended');
    expect(policy.decide(request, new Date(), deaf)).toMatchObject({ allowed: false, code: 'AGREEMENT_SUSPENDED' });
    if (options.dialect === 'postgres') {
      // The listening replica is told without asking, and re-issues its snapshot.
      await until('replica 1 heard of the suspension', () => replicas[1]!.stateOf(agreement.id) === 'suspended', 5000);
      expect(told[1]).toMatchObject([{ seq: 1, to: 'suspended', party: provider }]);
    } else {
      expect(a.notifications).toBeUndefined();
      await replicas[1]!.refresh();
      expect(replicas[1]!.stateOf(agreement.id)).toBe('suspended');
    }
    // Told once, where it happened, and once at each replica that took it from the database.
    expect(told[0]).toHaveLength(1);
    expect(told[2]).toHaveLength(1);
    // The snapshot replica 1 publishes now carries the suspension recorded at replica 0.
    expect((await hubs[1]!.snapshot()).view.snapshot.agreementStates).toEqual([jws]);

    // A step taken at a replica that has not looked since: it extends the chain as stored (no conflict, no fork).
    const deafAgain = replica(a, 3);
    await deafAgain.load();
    const resumed = await deaf.act(agreement.id, 'resume', { actor: 'operator', reason: 'resolved' });
    expect(resumed.change).toMatchObject({ seq: 2, to: 'active' });
    await deafAgain.refresh();
    expect(policy.decide(request, new Date(), deafAgain)).toMatchObject({ allowed: true });
    expect((await a.agreementStates.list(agreement.id)).map((c) => c.state)).toEqual(['suspended', 'active']);
    expect(await a.agreementStates.count()).toBe(2);
  });

  it('agreement states: refreshes at the same moment share one count, and none takes an answer read before it was called (a suspension committed meanwhile is seen)', async () => {
    const [provider, requester] = [SANDU, '330523'];
    const key = await generateSigningKey('Ed25519', provider);
    const agreement = replicasAgreement('AGR-REPLICAS-2', 'bridge', provider, requester);
    const view = { agreements: [{ agreement, signatures: [] }], node: (d: string) => (d === provider ? { signingKey: { kid: key.kid, jwk: key.publicJwk } } : undefined) };
    // The watching replica's counts: each reads the database at once and answers only when released.
    let counts = 0;
    const releases: Array<() => void> = [];
    const watched = new Proxy(b, {
      get: (target, name) =>
        name === 'agreementStates'
          ? {
              ...target.agreementStates,
              count: async () => {
                counts++;
                const n = await target.agreementStates.count();
                if (counts <= 2) await new Promise<void>((resolve) => releases.push(resolve));
                return n;
              },
            }
          : Reflect.get(target, name),
    }) as Store;
    const replica = (store: Store, n: number) =>
      new AgreementLifecycles({ self: provider, store, audit: new AuditLog(store), directory: { current: async () => view }, signingKey: { current: () => key }, clock: () => new Date(), replica: `replica-${n}` });
    const acting = replica(a, 0);
    const watching = replica(watched, 1);
    await acting.load();
    await watching.load();
    const released = async (count: number) => {
      await until(`count ${count} started`, () => releases.length >= count, 5000);
      releases[count - 1]!();
    };
    // A refresh whose count has read the database (before the suspension) and not answered yet.
    const early = watching.refresh();
    await until('the first count started', () => releases.length === 1, 5000);
    await acting.act(agreement.id, 'suspend', { actor: 'operator', reason: 'audit finding' });
    // Called after the commit: must see it, so neither may take the count in flight.
    const late = [watching.refresh(), watching.refresh(), watching.refresh()];
    await released(1);
    await early;
    expect(watching.stateOf(agreement.id)).toBe('active');
    await released(2);
    await Promise.all(late);
    expect(watching.stateOf(agreement.id)).toBe('suspended');
    // Four refreshes, two counts: the three late ones shared the one started after the first ended, and one reload served them.
    expect(counts).toBe(2);
  });

  it('agreement states: a count that never answers fails the refreshes sharing it (STORE_UNAVAILABLE) instead of holding every decision, and the next refresh counts afresh', async () => {
    const key = await generateSigningKey('Ed25519', SANDU);
    const view = { agreements: [], node: () => undefined };
    let counts = 0;
    const hanging = new Proxy(a, {
      get: (target, name) =>
        name === 'agreementStates'
          ? { ...target.agreementStates, count: async () => (++counts === 1 ? new Promise<number>(() => {}) : target.agreementStates.count()) }
          : Reflect.get(target, name),
    }) as Store;
    const replica = new AgreementLifecycles({ self: SANDU, store: hanging, audit: new AuditLog(hanging), directory: { current: async () => view }, signingKey: { current: () => key }, clock: () => new Date(), countTimeoutMs: 200 });
    await replica.load();
    const stuck = await Promise.allSettled([replica.refresh(), replica.refresh()]);
    expect(stuck.map((r) => (r.status === 'rejected' ? (r.reason as { code?: string }).code : r.status))).toEqual(['STORE_UNAVAILABLE', 'fulfilled']);
    await replica.refresh();
    expect(counts).toBe(3);
  });

  it('sign-in lockout: failures at two hub replicas count together, concurrent guesses included; per login and address, and per login from every address; the window ends; a success clears it', async () => {
    let now = 1_800_000_000_000;
    const key = new Uint8Array(32).fill(7);
    const second = options.dialect === 'postgres' ? b : a;
    const throttles = [new LoginThrottle(a, () => new Date(now), key), new LoginThrottle(second, () => new Date(now), key)];
    const from = '203.0.113.7';
    // Guesses spread over both replicas, all at once: exactly MAX_FAILED_LOGINS pass.
    const guesses = await Promise.all(Array.from({ length: 12 }, (_, i) => throttles[i % 2]!.attempt('zhang.san', from)));
    expect(guesses.filter(Boolean)).toHaveLength(MAX_FAILED_LOGINS);
    expect(await throttles[0]!.attempt('zhang.san', from)).toBe(false);
    expect(await throttles[1]!.attempt('zhang.san', from)).toBe(false);
    // The person, from their own address, is not locked out by a stranger's guesses; another login is not affected.
    expect(await throttles[1]!.attempt('zhang.san', '198.51.100.20')).toBe(true);
    expect(await throttles[1]!.attempt('li.si', from)).toBe(true);
    // The window ends: a fresh one starts.
    now += FAILED_LOGIN_WINDOW_MS;
    expect(await throttles[1]!.attempt('zhang.san', from)).toBe(true);
    // A success at either replica clears the count of that address.
    for (let i = 0; i < MAX_FAILED_LOGINS - 1; i++) await throttles[0]!.attempt('zhang.san', from);
    expect(await throttles[0]!.attempt('zhang.san', from)).toBe(false);
    await throttles[1]!.succeeded('zhang.san', from);
    expect(await throttles[0]!.attempt('zhang.san', from)).toBe(true);
    // Guesses from many addresses are capped per login all the same: MAX_FAILED_LOGINS_PER_LOGIN in a window, then every address is refused.
    now += FAILED_LOGIN_WINDOW_MS + 1;
    const spread = [];
    for (let i = 0; i < MAX_FAILED_LOGINS_PER_LOGIN + 5; i++) spread.push(await throttles[i % 2]!.attempt('wang.wu', `192.0.2.${i}`));
    expect(spread.filter(Boolean)).toHaveLength(MAX_FAILED_LOGINS_PER_LOGIN);
    expect(await throttles[0]!.attempt('wang.wu', '198.51.100.99')).toBe(false);
    // Purged once its window ended; the login itself is never stored.
    now += FAILED_LOGIN_WINDOW_MS + 1;
    await throttles[0]!.purge();
    expect(await throttles[0]!.attempt('zhang.san', from)).toBe(true);
    expect(await throttles[0]!.attempt('wang.wu', from)).toBe(true);
  });
}
