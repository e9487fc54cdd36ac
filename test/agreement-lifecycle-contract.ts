import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextStateChange, signStateChange, emptyLifecycle, Agreement } from '../src/agreements/index.ts';
import { fromBase64url } from '../src/crypto/base64url.ts';
import { sampleSubjects } from '../src/demo/registries.ts';
import { type DirectorySnapshot } from '../src/directory/index.ts';
import { runTongban } from './support/cli.ts';
import { startTestFederation, withStandInHub, type Backend, type TestFederation } from './support/federation.ts';

const HUB = '100000';
const SANDU = '522732';
const ANJI = '330523';
const CHANGZHOU = '320400';
const QINGPU = '310118';
const SANDU_ANJI = 'AGR-522732-330523-001';
const SANDU_CHANGZHOU = 'AGR-522732-320400-001';
const DELTA = 'AGR-HUB-DELTA-001';

/**
 * The lifecycle of agreements after registration (issue 11, items 2, 4 and 8 in part), against
 * real servers: a suspension takes effect on the very next exchange, on the bridge path and on
 * the hub path; resumption restores it; every party logs both; termination is final; a hub
 * cannot make up a state change. Runs once on SQLite and once on PostgreSQL.
 */
export function agreementLifecycleContract(backend: Backend): void {
  let t: TestFederation;
  let person: string;

  beforeAll(async () => {
    t = await startTestFederation(backend, { directory: { refreshSeconds: 0.5, snapshotTtlSeconds: 600 } });
    person = sampleSubjects(t.f.registryPath(SANDU), 1).people[0]!.idNumber;
    // The servers listen on ephemeral ports; tell the CLI where the nodes answer.
    for (const division of [SANDU, CHANGZHOU]) {
      const server = t.f.nodes.get(division)!;
      const config = JSON.parse(readFileSync(server.configPath, 'utf8'));
      writeFileSync(server.configPath, JSON.stringify({ ...config, server: { ...config.server, publicUrl: server.endpoint } }));
    }
  }, 90_000);
  afterAll(async () => {
    await t?.stop();
  });

  const household = (from: string, agreementId: string, via?: 'bridge' | 'hub') =>
    t.operator(from, '/v1/operator/exchange', {
      provider: SANDU,
      service: 'household.residence-proof',
      subject: { type: 'idNumber', value: person },
      purpose: '户籍类证明开具',
      agreementId,
      itemCode: 'N034',
      ...(via ? { via } : {}),
    });
  const step = (division: string, id: string, action: 'suspend' | 'resume' | 'terminate', reason: string, actor = 'wang.li') =>
    t.operator(division, `/v1/operator/agreements/${id}/${action}`, { reason, actor });
  const stateEntries = async (division: string, id: string) => (await t.auditEntries(division)).filter((e) => e.kind === 'agreement.state' && e.agreementId === id);
  const snapshot = async (): Promise<DirectorySnapshot> => {
    const { snapshot: jws } = (await (await fetch(new URL('/v1/directory/snapshot', t.f.hub.endpoint))).json()) as { snapshot: string };
    return JSON.parse(new TextDecoder().decode(fromBase64url(jws.split('.')[1]!))) as DirectorySnapshot;
  };

  it('bridge path: the provider suspends, the very next exchange is refused (AGREEMENT_SUSPENDED); resuming restores it; both are in the audit log of both parties and of the hub', async () => {
    expect((await household(ANJI, SANDU_ANJI)).status).toBe(200);
    const suspended = await step(SANDU, SANDU_ANJI, 'suspend', 'incident: data seen outside the agreed purpose');
    expect(suspended.status).toBe(200);
    expect(suspended.json).toMatchObject({ agreementId: SANDU_ANJI, seq: 1, action: 'suspend', from: 'active', to: 'suspended', party: SANDU, actor: 'wang.li' });
    // The hub and the other party were told at once, each by a request signed by Sandu.
    expect(suspended.json.notified.map((n: { division: string; status: number }) => [n.division, n.status]).sort()).toEqual([
      [HUB, 200],
      [ANJI, 200],
    ]);

    const refused = await household(ANJI, SANDU_ANJI);
    expect(refused.status).toBe(403);
    expect(refused.json.code).toBe('AGREEMENT_SUSPENDED');
    expect(refused.json.detail).toContain(`suspended by ${SANDU}; only ${SANDU} can resume it`);
    // Sandu refused it itself: its own policy index, no snapshot involved.
    const provided = (await t.auditEntries(SANDU)).filter((e) => e.kind === 'exchange.provide' && e.agreementId === SANDU_ANJI);
    expect(provided.at(-1)).toMatchObject({ outcome: 'refused', code: 'AGREEMENT_SUSPENDED' });

    // Only the suspending party may resume.
    const byOther = await step(ANJI, SANDU_ANJI, 'resume', 'we think it is fine');
    expect(byOther.status).toBe(409);
    expect(byOther.json.code).toBe('AGREEMENT_TRANSITION_NOT_ALLOWED');
    const resumed = await step(SANDU, SANDU_ANJI, 'resume', 'incident closed', 'zhao.min');
    expect(resumed.json).toMatchObject({ seq: 2, action: 'resume', from: 'suspended', to: 'active' });
    expect((await household(ANJI, SANDU_ANJI)).status).toBe(200);

    for (const division of [SANDU, ANJI, HUB]) {
      const entries = (await stateEntries(division, SANDU_ANJI)).filter((e) => e.outcome === 'allowed');
      expect(entries.map((e) => [e.detail.action, e.operator, e.requester, e.detail.reason])).toEqual([
        ['suspend', 'wang.li', SANDU, 'incident: data seen outside the agreed purpose'],
        ['resume', 'zhao.min', SANDU, 'incident closed'],
      ]);
      expect(entries[0].detail.source).toBe(division === SANDU ? 'local' : division === HUB ? 'hub' : 'peer');
    }
    // Anji's refused resumption is in its own log, with the reason.
    expect((await stateEntries(ANJI, SANDU_ANJI)).find((e) => e.outcome === 'refused')).toMatchObject({ code: 'AGREEMENT_TRANSITION_NOT_ALLOWED', operator: 'wang.li' });
    // The hub publishes both changes, as Sandu signed them.
    expect((await snapshot()).agreementStates).toEqual([suspended.json.jws, resumed.json.jws]);
  }, 60_000);

  it('hub path: a party that is not the provider suspends; the hub refuses the very next relayed request, and every party logs it; resuming restores it', async () => {
    expect((await household(QINGPU, DELTA, 'hub')).status).toBe(200);
    const suspended = await step(ANJI, DELTA, 'suspend', 'security contact unreachable');
    expect(suspended.status).toBe(200);
    expect(suspended.json.notified.every((n: { status: number }) => n.status === 200)).toBe(true);

    const refused = await household(QINGPU, DELTA, 'hub');
    expect(refused.status).toBe(403);
    expect(refused.json.code).toBe('AGREEMENT_SUSPENDED');
    const relayed = (await t.auditEntries(HUB)).filter((e) => e.kind === 'exchange.relay' && e.agreementId === DELTA);
    expect(relayed.at(-1)).toMatchObject({ outcome: 'refused', code: 'AGREEMENT_SUSPENDED' });
    // The provider knows too (told directly): were the hub to forward, Sandu would refuse.
    expect((await stateEntries(SANDU, DELTA)).at(-1)).toMatchObject({ outcome: 'allowed', detail: { action: 'suspend', source: 'peer' } });

    expect((await step(ANJI, DELTA, 'resume', 'contact restored')).status).toBe(200);
    expect((await household(QINGPU, DELTA, 'hub')).status).toBe(200);
    for (const division of [SANDU, ANJI, CHANGZHOU, QINGPU, HUB]) {
      const actions = (await stateEntries(division, DELTA)).filter((e) => e.outcome === 'allowed').map((e) => [e.detail.action, e.requester, e.operator]);
      expect(actions).toEqual([
        ['suspend', ANJI, 'wang.li'],
        ['resume', ANJI, 'wang.li'],
      ]);
    }
  }, 60_000);

  it('a party that was down learns of a suspension once it is back (the next snapshot it adopts, or the message retried), applies it once, and logs it', async () => {
    const changzhou = t.f.nodes.get(CHANGZHOU)!;
    await changzhou.stop();
    let suspended;
    try {
      suspended = await step(QINGPU, DELTA, 'suspend', 'audit of Qingpu’s own access');
      expect(suspended.status).toBe(200);
      expect(suspended.json.notified.find((n: { division: string }) => n.division === CHANGZHOU)).toMatchObject({ status: null });
      // The message to Changzhou waits in Qingpu's outbox, retried.
      const waiting = async () => ((await t.operator(QINGPU, '/v1/operator/outbox')).json.messages as Array<{ kind: string; destination: string }>).filter((m) => m.kind === 'agreement.state' && m.destination === CHANGZHOU);
      const until = Date.now() + 10_000;
      while ((await waiting()).length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
      expect(await waiting()).toHaveLength(1);
    } finally {
      await changzhou.start();
    }
    await t.operator(CHANGZHOU, '/v1/operator/directory/refresh', {});
    const deadline = Date.now() + 10_000;
    let entries = await stateEntries(CHANGZHOU, DELTA);
    while (entries.at(-1)?.detail.action !== 'suspend' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      entries = await stateEntries(CHANGZHOU, DELTA);
    }
    // Whichever comes first — the snapshot or the message Qingpu's outbox retries — it is applied once.
    expect(entries.at(-1)).toMatchObject({ outcome: 'allowed', requester: QINGPU, detail: { action: 'suspend', reason: 'audit of Qingpu’s own access' } });
    expect(['snapshot', 'peer']).toContain(entries.at(-1).detail.source);
    await new Promise((r) => setTimeout(r, 1500));
    const suspensions = (await stateEntries(CHANGZHOU, DELTA)).filter((e) => e.outcome === 'allowed' && e.detail.seq === suspended!.json.seq);
    expect(suspensions).toHaveLength(1);
    // Delivered by now: nothing left to retry.
    const left = Date.now() + 15_000;
    const pending = async () => ((await t.operator(QINGPU, '/v1/operator/outbox')).json.messages as Array<{ kind: string }>).filter((m) => m.kind === 'agreement.state');
    while ((await pending()).length > 0 && Date.now() < left) await new Promise((r) => setTimeout(r, 300));
    expect(await pending()).toEqual([]);
    expect((await step(QINGPU, DELTA, 'resume', 'done')).status).toBe(200);
  }, 60_000);

  it('a terminated agreement stays refused: no party can resume it (CLI and API), every exchange under it is refused', async () => {
    const cli = await runTongban(['agreement', 'terminate', SANDU_CHANGZHOU, '--node', CHANGZHOU, '--reason', 'partnership ended', '--actor', 'li.na', '--federation', t.f.dir], { cwd: t.f.dir });
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain('active → terminated');
    for (const division of [SANDU, CHANGZHOU]) {
      const resume = await step(division, SANDU_CHANGZHOU, 'resume', 'please');
      expect(resume.status).toBe(409);
      expect(resume.json.code).toBe('AGREEMENT_TRANSITION_NOT_ALLOWED');
    }
    const again = await runTongban(['agreement', 'suspend', SANDU_CHANGZHOU, '--node', SANDU, '--reason', 'x', '--json', '--federation', t.f.dir], { cwd: t.f.dir });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('AGREEMENT_TRANSITION_NOT_ALLOWED');
    const refused = await household(CHANGZHOU, SANDU_CHANGZHOU);
    expect(refused.status).toBe(403);
    expect(refused.json.code).toBe('AGREEMENT_TERMINATED');
  }, 60_000);

  describe('nobody but a party can change an agreement’s state', () => {
    it('a state change the hub signs, or one a party signs in another party’s name, is refused at the node and logged; the agreement stays active', async () => {
      const { body } = { body: await snapshot() };
      const agreement = Agreement.parse(body.agreements.find((a) => a.agreement.id === SANDU_ANJI)!.agreement);
      // The chain Sandu and Anji hold has two changes (suspended, resumed).
      const held = { ...emptyLifecycle(SANDU_ANJI), seq: 2 };
      const forgedChange = { ...nextStateChange(emptyLifecycle(SANDU_ANJI), agreement, 'suspend', { party: SANDU, actor: 'hub-admin' }, 'forged', new Date()), seq: 3, previous: null };
      const byHub = await signStateChange(forgedChange, t.key(HUB));
      expect(held.seq).toBe(2);

      // Pushed directly: the hub is not a party.
      const pushed = await t.raw({ from: HUB, to: ANJI, path: `/v1/agreements/${SANDU_ANJI}/state`, body: { change: byHub } });
      expect(pushed.status).toBe(403);
      expect(pushed.json.code).toBe('NOT_A_PARTY');
      // Anji signs a suspension in Sandu's name (so that only "Sandu" could lift it), and sends it itself.
      const inSandusName = await signStateChange(forgedChange, t.key(ANJI));
      const asAnji = await t.raw({ from: ANJI, to: SANDU, path: `/v1/agreements/${SANDU_ANJI}/state`, body: { change: inSandusName } });
      expect(asAnji.status).toBe(422);
      expect(asAnji.json.code).toBe('AGREEMENT_STATE_INVALID');
      const atHub = await t.raw({ from: ANJI, to: HUB, path: `/v1/agreements/${SANDU_ANJI}/state`, body: { change: inSandusName } });
      expect(atHub.json.code).toBe('AGREEMENT_STATE_INVALID');

      // Published in a snapshot signed with the real hub key.
      const forged: DirectorySnapshot = { ...body, version: body.version + 1, agreementStates: [...(body.agreementStates ?? []), byHub] };
      await withStandInHub(t, forged, async () => {
        const refreshed = await t.operator(ANJI, '/v1/operator/directory/refresh', {});
        expect(refreshed.json).toMatchObject({ refreshed: true, version: forged.version });
        const refusals = (await stateEntries(ANJI, SANDU_ANJI)).filter((e) => e.outcome === 'refused');
        expect(refusals.map((e) => e.code)).toEqual(expect.arrayContaining(['NOT_A_PARTY', 'AGREEMENT_STATE_INVALID']));
        expect(refusals.at(-1)).toMatchObject({ code: 'AGREEMENT_STATE_INVALID', detail: { source: 'snapshot' } });
        // The bridge works on: Sandu and Anji still hold the agreement as active.
        expect((await household(ANJI, SANDU_ANJI)).status).toBe(200);
      });
      expect((await stateEntries(SANDU, SANDU_ANJI)).find((e) => e.outcome === 'refused')).toMatchObject({ code: 'AGREEMENT_STATE_INVALID', requester: ANJI });
    }, 60_000);
  });
}
