import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { AuditLog } from '../src/audit/index.ts';
import { TongbanError } from '../src/errors/index.ts';
import { encryptFor } from '../src/crypto/index.ts';
import { sealEnvelope, SEALED_MESSAGE_CTY, signEnvelope, type UnsignedEnvelope } from '../src/messaging/index.ts';
import type { NodeRuntime } from '../src/node/index.ts';
import { startTestFederation, type Backend, type TestFederation } from './support/federation.ts';

const SANDU = '522732';
const ANJI = '330523';
const QINGPU = '310118';
const CHANGZHOU = '320400';
const HUB = '100000';

/** Node-to-node messages between separate node servers (src/messaging); SQLite and PostgreSQL. */
export function messagingContract(backend: Backend): void {
  let t: TestFederation;
  /** Flaky deliveries refused so far, per message id (the handler refuses the first two). */
  const refusedSoFar = new Map<string, number>();

  const runtime = (division: string): NodeRuntime => t.f.nodes.get(division)!.runtime!;

  /** Kinds a test domain registers: `test.note` records the message in the audit log (in the handler's transaction). */
  const registerTestKinds = (node: NodeRuntime) => {
    const note = async (tx: Parameters<Parameters<NodeRuntime['messages']['register']>[2]>[0], message: { id: string; from: string; via: string; conversation: string }) => {
      await AuditLog.appendIn(tx, [{ kind: 'test.note', outcome: 'received', requester: message.from, detail: { message: message.id, via: message.via, conversation: message.conversation } }], node.clock());
    };
    node.messages.register('test.note', z.object({ text: z.string().max(100) }).strict(), async (tx, message, sender) => {
      expect(sender.division).toBe(message.from);
      await note(tx, message);
    });
    // Writes, then refuses twice as "too early" (425): the writes roll back, the sender retries.
    node.messages.register('test.flaky', z.object({ text: z.string() }), async (tx, message) => {
      await note(tx, message);
      const refused = refusedSoFar.get(message.id) ?? 0;
      if (refused < 2) {
        refusedSoFar.set(message.id, refused + 1);
        throw new TongbanError('CASE_NOT_YET_SHARED', 'not yet');
      }
    });
  };

  /** Sends from a node as a domain service would: enqueued in a transaction, kicked after commit. */
  const send = async (from: string, message: { destination: string; kind: string; payload: unknown; via?: 'bridge' | 'hub' }) => {
    const node = runtime(from);
    const conversation = `test:${randomUUID()}`;
    const id = await node.store.transaction((tx) => node.messages.send(tx, { ...message, conversation }));
    node.messages.kick();
    return { id, conversation };
  };
  const outboxEntry = async (from: string, id: string) => (await runtime(from).store.outbox.list()).find((m) => m.id === id);
  const until = async (what: string, ok: () => Promise<boolean>) => {
    for (let i = 0; i < 150; i++) {
      if (await ok()) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`never: ${what}`);
  };
  const notes = async (node: string, id: string) => (await t.auditEntries(node)).filter((e) => (e.kind === 'test.note' || e.kind === 'test.flaky') && e.detail.message === id);
  /** A node's public encryption key, as the directory publishes it. */
  const encryptionKeyOf = async (division: string) => (await runtime(SANDU).exchange.directory.current()).node(division)!.encryptionKey;
  const refusals = async (node: string, code: string) => (await t.auditEntries(node)).filter((e) => e.kind === 'message.receive' && e.outcome === 'refused' && e.code === code);

  beforeAll(async () => {
    t = await startTestFederation(backend, { directory: { refreshSeconds: 0.5, snapshotTtlSeconds: 600 } });
    for (const node of [SANDU, ANJI, QINGPU, CHANGZHOU]) registerTestKinds(runtime(node));
  }, 300_000);
  afterAll(async () => {
    await t?.stop();
  });

  it('a message to a node that is down arrives exactly once after it comes back, however often it is sent again', async () => {
    await t.f.nodes.get(ANJI)!.stop();
    let id: string;
    let conversation: string;
    try {
      ({ id, conversation } = await send(SANDU, { destination: ANJI, kind: 'test.note', payload: { text: '请核对协议第三条。' } }));
      // Tried and failed while Anji is down: it waits in Sandu's outbox.
      await until('a failed attempt', async () => ((await outboxEntry(SANDU, id))?.attempts ?? 0) > 0);
      expect(await outboxEntry(SANDU, id)).toMatchObject({ status: 'pending', conversation, lastError: expect.any(String) });
      // Hold Sandu's deliveries while Anji restarts and its test domain registers again.
      await runtime(SANDU).messages.stop();
    } finally {
      if (!t.f.nodes.get(ANJI)!.running) await t.f.nodes.get(ANJI)!.start();
    }
    registerTestKinds(runtime(ANJI));
    runtime(SANDU).messages.start();
    await until('delivered', async () => (await outboxEntry(SANDU, id))?.status === 'delivered');
    expect(await notes(ANJI, id)).toEqual([expect.objectContaining({ requester: SANDU, detail: expect.objectContaining({ via: 'bridge', conversation }) })]);

    // Duplicates — directly, through the old case inbox's sibling route, through the hub — are answered as replays and apply nothing.
    const envelope: UnsignedEnvelope = { id, kind: 'test.note', conversation, from: SANDU, to: ANJI, payload: { text: '请核对协议第三条。' } };
    const direct = await t.raw({ from: SANDU, to: ANJI, path: '/v1/messages/inbox', body: envelope });
    expect([direct.status, direct.json]).toEqual([200, { id, result: 'applied', replayed: true }]);
    const relayed = await t.raw({ from: SANDU, to: HUB, path: '/v1/messages/relay', body: await sealEnvelope(t.key(SANDU), envelope, await encryptionKeyOf(ANJI)) });
    expect([relayed.status, relayed.json]).toEqual([200, { id, result: 'applied', replayed: true }]);
    expect(await notes(ANJI, id)).toHaveLength(1);
    // The same id with other content is not the same message: refused, nothing applied.
    const reused = await t.raw({ from: SANDU, to: ANJI, path: '/v1/messages/inbox', body: { ...envelope, payload: { text: '另一条' } } });
    expect([reused.status, reused.json.code]).toEqual([409, 'IDEMPOTENCY_KEY_REUSED']);
    expect(await notes(ANJI, id)).toHaveLength(1);
  });

  it('a handler that refuses for now rolls back what it wrote; the sender retries and it is applied once', async () => {
    const { id } = await send(SANDU, { destination: ANJI, kind: 'test.flaky', payload: { text: '稍后' } });
    await until('delivered', async () => (await outboxEntry(SANDU, id))?.status === 'delivered');
    expect(refusedSoFar.get(id)).toBe(2);
    // Two refusals, each a failed attempt (a slow answer on a loaded machine may add one).
    expect((await outboxEntry(SANDU, id))?.attempts).toBeGreaterThanOrEqual(2);
    expect(await notes(ANJI, id)).toHaveLength(1);
  });

  it('a message whose `from` is not its signer is refused (403) and audited, directly and at the hub; only the hub may pass one on', async () => {
    const lie = { id: randomUUID(), kind: 'test.note', conversation: 'test:lie', from: QINGPU, to: SANDU, payload: { text: '冒名' } };
    const direct = await t.raw({ from: ANJI, to: SANDU, path: '/v1/messages/inbox', body: lie });
    expect([direct.status, direct.json.code]).toEqual([403, 'MESSAGE_SENDER_MISMATCH']);
    expect(await notes(SANDU, lie.id)).toEqual([]);
    expect((await refusals(SANDU, 'MESSAGE_SENDER_MISMATCH')).find((e) => e.detail.message === lie.id)).toMatchObject({ requester: ANJI, detail: { from: QINGPU } });
    // A genuine message Qingpu signed for Sandu, passed on by Anji (not the hub): refused all the same.
    const genuine = await signEnvelope(t.key(QINGPU), { ...lie, id: randomUUID() });
    const passedOn = await t.raw({ from: ANJI, to: SANDU, path: '/v1/messages/inbox', body: genuine });
    expect([passedOn.status, passedOn.json.code]).toEqual([403, 'MESSAGE_SENDER_MISMATCH']);
    // At the hub: Anji asks it to relay a message in Qingpu's name.
    const atHub = await t.raw({ from: ANJI, to: HUB, path: '/v1/messages/relay', body: await sealEnvelope(t.key(ANJI), lie, await encryptionKeyOf(SANDU)) });
    expect([atHub.status, atHub.json.code, atHub.json.origin]).toEqual([403, 'MESSAGE_SENDER_MISMATCH', HUB]);
    expect((await t.auditEntries(HUB)).filter((e) => e.kind === 'message.relay' && e.detail.message === lie.id)).toEqual([expect.objectContaining({ outcome: 'refused', code: 'MESSAGE_SENDER_MISMATCH', requester: ANJI })]);
    // The old case inbox binds the author to the signer the same way (its body names none).
    const legacy = await t.raw({ from: ANJI, to: SANDU, path: '/v1/cases/inbox', body: { id: randomUUID(), kind: 'test.note', payload: { text: 'x' } } });
    expect([legacy.status, legacy.json.code]).toEqual([400, 'VALIDATION_FAILED']);
  });

  it('the receiver opens a relayed message and checks its author’s own signature: the hub can neither read, alter nor redirect one', async () => {
    const envelope = { id: randomUUID(), kind: 'test.note', conversation: 'test:relay', from: SANDU, to: ANJI, payload: { text: '原文' } };
    const signed = await signEnvelope(t.key(SANDU), envelope);
    const outside = { id: envelope.id, kind: envelope.kind, conversation: envelope.conversation, from: SANDU, to: ANJI };
    /** What the hub forwards: clear metadata and the signed envelope sealed for `recipient`. */
    const sealedFor = async (recipient: string, inner: unknown, meta: Record<string, unknown> = {}) => ({
      ...outside,
      ...meta,
      sealed: await encryptFor(await encryptionKeyOf(recipient), new TextEncoder().encode(JSON.stringify(inner)), SEALED_MESSAGE_CTY),
    });
    const genuine = await sealEnvelope(t.key(SANDU), envelope, await encryptionKeyOf(ANJI));
    expect(JSON.stringify(genuine)).not.toContain('原文');
    // Signed (HTTP) by the hub itself, as its relay forwards them.
    const answers = {
      altered: await t.raw({ from: HUB, to: ANJI, path: '/v1/messages/inbox', body: await sealedFor(ANJI, { ...signed, payload: { text: '篡改' } }) }),
      relabelled: await t.raw({ from: HUB, to: ANJI, path: '/v1/messages/inbox', body: { ...genuine, conversation: 'test:other' } }),
      unsigned: await t.raw({ from: HUB, to: ANJI, path: '/v1/messages/inbox', body: await sealedFor(ANJI, envelope) }),
      redirected: await t.raw({ from: HUB, to: QINGPU, path: '/v1/messages/inbox', body: genuine }),
      misaddressed: await t.raw({ from: HUB, to: QINGPU, path: '/v1/messages/inbox', body: await sealedFor(QINGPU, signed) }),
      plainAltered: await t.raw({ from: HUB, to: ANJI, path: '/v1/messages/inbox', body: { ...signed, payload: { text: '篡改' } } }),
    };
    expect(Object.fromEntries(Object.entries(answers).map(([k, r]) => [k, [r.status, r.json.code]]))).toEqual({
      altered: [401, 'SIGNATURE_INVALID'],
      relabelled: [401, 'SIGNATURE_INVALID'],
      unsigned: [401, 'SIGNATURE_INVALID'],
      redirected: [400, 'DECRYPTION_FAILED'],
      misaddressed: [422, 'MESSAGE_MISADDRESSED'],
      plainAltered: [401, 'SIGNATURE_INVALID'],
    });
    expect(await notes(ANJI, envelope.id)).toEqual([]);
    expect(await notes(QINGPU, envelope.id)).toEqual([]);
    // Unchanged, it is taken as Sandu's.
    const intact = await t.raw({ from: HUB, to: ANJI, path: '/v1/messages/inbox', body: genuine });
    expect([intact.status, intact.json.result]).toEqual([200, 'applied']);
    expect(await notes(ANJI, envelope.id)).toEqual([expect.objectContaining({ requester: SANDU, detail: expect.objectContaining({ via: 'hub' }) })]);
  });

  it('a kind the destination does not take is refused for good: dead-lettered, listed for the operator, audited on both sides', async () => {
    const { id, conversation } = await send(SANDU, { destination: ANJI, kind: 'test.unknown', payload: { text: 'x' } });
    await until('dead', async () => (await outboxEntry(SANDU, id))?.status === 'dead');
    const listed = (await t.operator(SANDU, '/v1/operator/outbox')).json.messages.find((m: any) => m.id === id);
    expect(listed).toMatchObject({ status: 'dead', attempts: expect.any(Number), conversation, caseId: null, kind: 'test.unknown', lastError: expect.stringContaining('MESSAGE_KIND_UNKNOWN') });
    expect((await t.auditEntries(SANDU)).filter((e) => e.kind === 'test.delivery' && e.detail.message === id)).toEqual([expect.objectContaining({ outcome: 'refused', code: 'MESSAGE_KIND_UNKNOWN' })]);
    expect((await refusals(ANJI, 'MESSAGE_KIND_UNKNOWN')).find((e) => e.detail.message === id)).toMatchObject({ requester: SANDU });
  });

  it('through the hub: delivered, the receiver verifies the original author, the hub logs metadata only', async () => {
    const { id, conversation } = await send(SANDU, { destination: QINGPU, kind: 'test.note', payload: { text: '经枢纽转发的协商意见' }, via: 'hub' });
    await until('delivered', async () => (await outboxEntry(SANDU, id))?.status === 'delivered');
    expect(await outboxEntry(SANDU, id)).toMatchObject({ via: 'hub', status: 'delivered' });
    expect(await notes(QINGPU, id)).toEqual([expect.objectContaining({ requester: SANDU, detail: { message: id, via: 'hub', conversation } })]);
    const relayed = (await t.auditEntries(HUB)).filter((e) => e.kind === 'message.relay' && e.detail.message === id);
    expect(relayed).toEqual([expect.objectContaining({ outcome: 'relayed', requester: SANDU, provider: QINGPU, detail: { message: id, kind: 'test.note', conversation, status: 200 } })]);
    expect(JSON.stringify(relayed)).not.toContain('经枢纽');
    // To a node that is not in the directory, the hub refuses for good.
    const stranger = await t.raw({ from: SANDU, to: HUB, path: '/v1/messages/relay', body: await sealEnvelope(t.key(SANDU), { id: randomUUID(), kind: 'test.note', conversation: 'test:x', from: SANDU, to: '440300', payload: { text: 'x' } }, await encryptionKeyOf(ANJI)) });
    expect([stranger.status, stranger.json.code, stranger.json.origin]).toEqual([403, 'NODE_UNKNOWN', HUB]);
  });

}
