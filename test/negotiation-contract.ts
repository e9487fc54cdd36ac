import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { signRound, termsHash, type Agreement } from '../src/agreements/index.ts';
import { sampleSubjects } from '../src/demo/registries.ts';
import { freePortRun } from './free-ports.ts';
import { runTongban } from './support/cli.ts';
import { startTestFederation, type Backend, type TestFederation } from './support/federation.ts';

const QINGPU = '310118'; // convener
const ANJI = '330523';
const CHANGZHOU = '320400';
const SANDU = '522732';
const INSURANCE = ['idNumber', 'name', 'socialInsuranceInsuredDivision', 'socialInsuranceStatus', 'contributionMonths', 'contributionStartDate'];

/** Polls until `check` holds (messages between nodes are delivered asynchronously). */
async function until<T>(what: string, read: () => Promise<T>, check: (value: T) => boolean, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value).slice(0, 600)}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/**
 * Negotiation between separate node servers (issue 11): a three-party agreement through two
 * counter-offers, each round's diff, signed, registered, active, an exchange under it; a sign
 * request for terms never accepted refused; a template instance reaching active in fewer rounds,
 * with the report showing it. Runs on SQLite and on PostgreSQL.
 */
export function negotiationContract(backend: Backend): void {
  let t: TestFederation;
  const now = Date.now();
  const terms = {
    id: 'AGR-TRIO-001',
    version: 1,
    title: '青浦—安吉—常州 养老保险关系转移接续合作协议',
    parties: [QINGPU, ANJI, CHANGZHOU],
    topology: 'hub',
    validFrom: new Date(now - 86_400_000).toISOString(),
    validUntil: new Date(now + 365 * 86_400_000).toISOString(),
    items: [
      {
        itemCode: 'N010',
        mode: 'joint',
        acceptingNodes: [QINGPU, CHANGZHOU],
        decidingNodes: [QINGPU, ANJI],
        timeLimitDays: 10,
        acceptance: { materials: [{ name: '居民身份证', kind: 'physical', required: true }], conditions: ['参保人本人申请'] },
        grants: [{ provider: ANJI, service: 'social-insurance.contribution-history', requesters: [QINGPU, CHANGZHOU], fields: INSURANCE, purposes: ['养老保险关系转移接续'], consentRequired: false }],
      },
    ],
    securityDuties: {
      contacts: [
        { party: QINGPU, name: '青浦区数据局' },
        { party: ANJI, name: '安吉县数据局' },
        { party: CHANGZHOU, name: '常州市数据局' },
      ],
      incidentNotificationHours: 24,
      retentionDays: 1095,
      encryptionRequired: true,
    },
  };
  const withChanges = (days: number, retention: number) => ({ ...terms, items: terms.items.map((i) => ({ ...i, timeLimitDays: days })), securityDuties: { ...terms.securityDuties, retentionDays: retention } });
  const show = async (node: string, id: string) => (await t.operator(node, `/v1/operator/agreements/drafts/${id}`)).json;
  const act = (node: string, id: string, body: Record<string, unknown>) => t.operator(node, `/v1/operator/agreements/drafts/${id}/actions`, body);
  // Template list and show need no node; everything else names the test federation's folder.
  const cli = (args: string[]) => runTongban(args.includes('--node') ? [...args, '--federation', t.f.dir] : args, { cwd: process.cwd() });

  beforeAll(async () => {
    // Fixed ports (free ones found now), so the CLI finds each node where its config says.
    t = await startTestFederation(backend, { portBase: await freePortRun(5) });
  }, 300_000);
  afterAll(async () => {
    await t?.stop();
  });

  it('three parties negotiate through two counter-offers, sign, register, and exchange under the agreement', async () => {
    const drafted = await t.operator(QINGPU, '/v1/operator/agreements/drafts', { terms, operator: 'wang.li' });
    expect(drafted.status, JSON.stringify(drafted.json)).toBe(201);
    const id: string = drafted.json.id;
    expect(drafted.json).toMatchObject({ state: 'draft', convener: QINGPU, parties: [QINGPU, ANJI, CHANGZHOU] });

    // Round 1, by the convener; every party receives its copy.
    expect((await act(QINGPU, id, { action: 'propose' })).json.negotiation).toMatchObject({ state: 'proposed', rounds: [{ number: 1, author: QINGPU }] });
    for (const party of [ANJI, CHANGZHOU]) await until(`${party} holds round 1`, () => show(party, id), (n) => n.rounds?.length === 1);

    // Round 2: Anji counters round 1 (longer time limit); the step goes to the convener, which numbers it.
    const fromAnji = await act(ANJI, id, { action: 'counter', answers: 1, terms: withChanges(15, 1095) });
    expect(fromAnji.status, JSON.stringify(fromAnji.json)).toBe(200);
    expect(fromAnji.json.forwardedTo).toBe(QINGPU);
    const round2 = await until('Changzhou holds round 2', () => show(CHANGZHOU, id), (n) => n.rounds?.length === 2);
    expect(round2.rounds[1]).toMatchObject({ number: 2, author: ANJI, answers: 1, changes: ['items[N010].timeLimitDays: 10 → 15'] });

    // A counter to round 1 from Changzhou is now out of date; answering round 2 makes round 3.
    const stale = await act(CHANGZHOU, id, { action: 'counter', answers: 1, terms: withChanges(12, 1095) });
    expect(stale.json.code).toBe('NEGOTIATION_ROUND_STALE');
    expect((await act(CHANGZHOU, id, { action: 'counter', answers: 2, terms: withChanges(12, 730) })).status).toBe(200);
    const round3 = await until('Qingpu holds round 3', () => show(QINGPU, id), (n) => n.rounds?.length === 3);
    expect(round3.rounds[2]).toMatchObject({ number: 3, author: CHANGZHOU, answers: 2, changes: ['items[N010].timeLimitDays: 15 → 12', 'securityDuties.retentionDays: 1095 → 730'] });
    expect(round3.state).toBe('countered');

    // Signing terms a party has not accepted is refused, by the sign endpoint and in the negotiation.
    const unaccepted = await t.operator(QINGPU, '/v1/operator/agreements/sign', { agreement: round3.rounds[2].terms });
    expect(unaccepted.status).toBe(409);
    expect(unaccepted.json.code).toBe('AGREEMENT_NOT_ACCEPTED');
    await until('Anji holds round 3', () => show(ANJI, id), (n) => n.rounds?.length === 3);
    expect((await act(ANJI, id, { action: 'sign' })).json.code).toBe('AGREEMENT_NOT_ACCEPTED'); // Anji accepted round 2, its own
    expect((await t.operator(ANJI, '/v1/operator/agreements/sign', { agreement: round3.rounds[1].terms })).json.code).toBe('AGREEMENT_NOT_ACCEPTED');

    // Everyone accepts round 3 (Changzhou did by offering it), then signs exactly it.
    expect((await act(QINGPU, id, { action: 'accept', round: 3 })).status).toBe(200);
    expect((await act(ANJI, id, { action: 'accept', round: 3 })).status).toBe(200);
    await until('every party accepted', () => show(ANJI, id), (n) => n.state === 'accepted');
    await until('Changzhou sees it accepted', () => show(CHANGZHOU, id), (n) => n.state === 'accepted');
    for (const party of [QINGPU, ANJI, CHANGZHOU]) {
      const signed = await act(party, id, { action: 'sign' });
      expect(signed.status, JSON.stringify(signed.json)).toBe(200);
    }
    await until('every party signed', () => show(QINGPU, id), (n) => n.state === 'signed');

    // The convener registers it at the hub; it is active, at every party.
    const registered = await act(QINGPU, id, { action: 'register' });
    expect(registered.status, JSON.stringify(registered.json)).toBe(200);
    expect(registered.json.negotiation.state).toBe('active');
    for (const party of [ANJI, CHANGZHOU]) await until(`${party} sees it active`, () => show(party, id), (n) => n.state === 'active');
    const hub = await fetch(new URL(`/v1/agreements/${terms.id}`, t.f.hub.endpoint));
    const registeredTerms = ((await hub.json()) as { agreement: { items: Array<{ timeLimitDays: number }> } }).agreement;
    expect(registeredTerms.items[0]!.timeLimitDays).toBe(12);

    // An exchange under it: Changzhou asks Anji through the hub.
    const person = sampleSubjects(t.f.registryPath(ANJI), 1).people[0]!;
    const exchange = await until(
      'the exchange under the new agreement succeeds',
      () => t.operator(CHANGZHOU, '/v1/operator/exchange', { provider: ANJI, service: 'social-insurance.contribution-history', agreementId: terms.id, itemCode: 'N010', subject: { type: 'idNumber', value: person.idNumber }, purpose: '养老保险关系转移接续', via: 'hub' }),
      (r) => r.status === 200,
    );
    expect(exchange.json.response.data.name).toBe(person.name);

    // Forgeries, signed by a real party: a step in another party's name, a copy not from the
    // convener, a convener's copy that rewrites earlier steps. Each refused; nothing changes.
    const envelope = (from: string, to: string, kind: string, payload: unknown) => ({ id: randomUUID(), kind, conversation: `agreement:${terms.id}`, from, to, payload });
    const inName = await t.raw({ from: ANJI, to: QINGPU, path: '/v1/messages/inbox', body: envelope(ANJI, QINGPU, 'agreement.step', { negotiation: id, action: 'abandon', actor: { node: CHANGZHOU, id: 'x', role: 'operator' }, reason: 'forged' }) });
    expect([inName.status, inName.json.code]).toEqual([403, 'NEGOTIATION_FORBIDDEN']);
    const active = await show(ANJI, id);
    const copy = active; // the view's extra fields (parties, each round's changes) are dropped by the receiver's schema
    const notConvener = await t.raw({ from: ANJI, to: CHANGZHOU, path: '/v1/messages/inbox', body: envelope(ANJI, CHANGZHOU, 'agreement.negotiation', { ...copy, version: copy.version + 1, state: 'abandoned' }) });
    expect([notConvener.status, notConvener.json.code]).toEqual([403, 'NEGOTIATION_FORBIDDEN']);
    const rewritten = { ...copy, version: copy.version + 1, history: copy.history.map((h: { action: string }) => (h.action === 'counter' ? { ...h, reason: 'rewritten' } : h)) };
    const rewrite = await t.raw({ from: QINGPU, to: ANJI, path: '/v1/messages/inbox', body: envelope(QINGPU, ANJI, 'agreement.negotiation', rewritten) });
    expect([rewrite.status, rewrite.json.code]).toEqual([409, 'NEGOTIATION_TRANSITION_NOT_ALLOWED']);
    expect((await show(ANJI, id)).version).toBe(active.version);
    expect((await show(CHANGZHOU, id)).state).toBe('active');

    // Every step is in the parties' audit logs.
    const negotiated = (await t.auditEntries(QINGPU)).filter((e) => e.kind === 'agreement.negotiate' && e.detail.negotiation === id);
    expect(negotiated.filter((e) => e.outcome === 'allowed').map((e) => e.detail.action)).toEqual(['draft', 'propose', 'counter', 'counter', 'accept', 'accept', 'sign', 'sign', 'sign', 'register', 'activate']);
    const atAnji = (await t.auditEntries(ANJI)).filter((e) => e.kind === 'agreement.negotiate' && e.detail.negotiation === id);
    expect(atAnji.some((e) => e.outcome === 'refused' && e.code === 'AGREEMENT_NOT_ACCEPTED')).toBe(true);
    expect(atAnji.filter((e) => e.outcome === 'received').at(-1)!.detail.action).toBe('activate');
  }, 240_000);

  it('a template instantiated for a new partner reaches active in fewer rounds, and the report shows it (CLI)', async () => {
    const templates = await cli(['template', 'list']);
    expect(templates.stdout).toMatch(/^yangtze-delta\s+national-baseline\s+/m);
    expect((await cli(['template', 'show', 'yangtze-delta'])).stdout).toMatch(/N001\s+proxy\s+\$each\s+business\.registration/);
    const drafted = await cli(['template', 'instantiate', 'yangtze-delta', '--node', QINGPU, '--partners', SANDU, '--id', 'AGR-310118-522732-001', '--json']);
    expect(drafted.code, drafted.stderr).toBe(0);
    const id: string = JSON.parse(drafted.stdout).id;
    expect(JSON.parse(drafted.stdout)).toMatchObject({ template: { id: 'yangtze-delta' }, changesFromTemplate: [] });
    expect((await cli(['agreement', 'propose', '--node', QINGPU, '--negotiation', id])).stdout).toMatch(/^state\s+proposed$/m);
    await until('Sandu holds round 1', () => show(SANDU, id), (n) => n.rounds?.length === 1);
    const accepted = await cli(['agreement', 'accept', '--node', SANDU, '--negotiation', id]);
    expect(accepted.stdout).toMatch(/^sent to\s+310118/m);
    await until('accepted at Sandu', () => show(SANDU, id), (n) => n.state === 'accepted');
    for (const party of [QINGPU, SANDU]) expect((await cli(['agreement', 'sign', '--node', party, '--negotiation', id])).code).toBe(0);
    await until('signed', () => show(QINGPU, id), (n) => n.state === 'signed');
    const registered = await cli(['agreement', 'register', '--node', QINGPU, '--negotiation', id]);
    expect(registered.stdout, registered.stderr).toMatch(/^state\s+active$/m);

    expect((await cli(['agreement', 'diff', '--node', QINGPU, '--negotiation', id, '--template'])).stdout.trim()).toBe('(no changes)');
    expect((await cli(['agreement', 'show', '--node', SANDU, '--negotiation', id])).stdout).toMatch(/activate/);
    expect((await cli(['agreement', 'list', '--node', QINGPU])).stdout).toMatch(new RegExp(`${id}\\s+AGR-310118-522732-001\\s+1\\s+310118\\s+active\\s+1\\s+yangtze-delta`));
    const trio = (await t.operator(QINGPU, '/v1/operator/agreements/drafts?agreementId=AGR-TRIO-001')).json[0];
    const diff = await cli(['agreement', 'diff', '--node', QINGPU, '--negotiation', trio.id, '--round', '2']);
    expect(diff.stdout.trim()).toBe('items[N010].timeLimitDays: 10 → 15');

    const report = JSON.parse((await cli(['agreement', 'report', '--node', QINGPU, '--json'])).stdout);
    expect(report.fromTemplate).toMatchObject({ agreements: 1, active: 1, medianRounds: 1 });
    expect(report.fromScratch).toMatchObject({ agreements: 1, active: 1, medianRounds: 3 });
    expect(report.fromTemplate.medianRounds).toBeLessThan(report.fromScratch.medianRounds);
    expect((await cli(['agreement', 'report', '--node', QINGPU])).stdout).toMatch(/^template\s+1\s+1\s+1\s+1\s+/m);
  }, 240_000);

  it('a convener cannot make a party sign terms it did not accept: a copy whose rounds do not hash to their terms, rewrites a round or misattributes one, is refused', async () => {
    const pair = { ...terms, id: 'AGR-310118-330523-077', parties: [QINGPU, ANJI], topology: 'bridge', items: terms.items.map((i) => ({ ...i, acceptingNodes: [QINGPU], grants: i.grants.map((g) => ({ ...g, requesters: [QINGPU] })) })), securityDuties: { ...terms.securityDuties, contacts: terms.securityDuties.contacts.slice(0, 2) } };
    const worse = { ...pair, items: pair.items.map((i) => ({ ...i, timeLimitDays: 99 })) };
    const drafted = await t.operator(QINGPU, '/v1/operator/agreements/drafts', { terms: pair, operator: 'wang.li' });
    const id: string = drafted.json.id;
    expect((await act(QINGPU, id, { action: 'propose' })).status).toBe(200);
    await until('Anji holds round 1', () => show(ANJI, id), (n) => n.rounds?.length === 1);
    expect((await act(ANJI, id, { action: 'accept', round: 1 })).status).toBe(200);
    const copy = await until('Anji sees it accepted', () => show(ANJI, id), (n) => n.state === 'accepted');
    const at = new Date().toISOString();
    const step = { action: 'edit', from: 'accepted', to: 'accepted', actor: { node: QINGPU, id: 'mallory', role: 'operator' }, node: QINGPU, at, round: 2 };
    // A convener's copies: round 1 rewritten in place (its hash kept), and a round 2 of other terms under round 1's hash.
    const forgeries = {
      // Correctly hashed, but said to be Anji's, signed by the convener (a round Anji never offered).
      misattributed: { ...copy, version: copy.version + 1, state: 'countered', terms: worse, rounds: [...copy.rounds, { number: 2, terms: worse, hash: termsHash(worse as Agreement), author: ANJI, answers: 1, authorSignature: await signRound(worse as Agreement, t.key(QINGPU)), at }], acceptances: [{ party: ANJI, round: 2, hash: termsHash(worse as Agreement), at }], history: [...copy.history, { ...step, action: 'counter', to: 'countered', actor: { node: ANJI, id: 'x', role: 'operator' }, node: ANJI }] },
      inPlace: { ...copy, version: copy.version + 1, terms: worse, rounds: [{ ...copy.rounds[0], terms: worse }], history: [...copy.history, { ...step, round: 1 }] },
      appended: { ...copy, version: copy.version + 1, terms: worse, rounds: [...copy.rounds, { ...copy.rounds[0], number: 2, answers: 1, terms: worse, at }], acceptances: copy.acceptances.map((a: object) => ({ ...a, round: 2 })), history: [...copy.history, step] },
    };
    for (const [name, forged] of Object.entries(forgeries)) {
      const sent = await t.raw({ from: QINGPU, to: ANJI, path: '/v1/messages/inbox', body: { id: randomUUID(), kind: 'agreement.negotiation', conversation: `agreement:${pair.id}`, from: QINGPU, to: ANJI, payload: forged } });
      expect([name, sent.status, sent.json.code]).toEqual([name, 409, 'NEGOTIATION_TRANSITION_NOT_ALLOWED']);
    }
    const held = await show(ANJI, id);
    expect([held.version, held.rounds.length, held.rounds[0].terms.items[0].timeLimitDays]).toEqual([copy.version, 1, 10]);
    // What Anji signs is what it accepted: the registered agreement carries round 1's terms.
    expect((await act(ANJI, id, { action: 'sign' })).status).toBe(200);
    expect((await act(QINGPU, id, { action: 'sign' })).status).toBe(200);
    await until('signed', () => show(QINGPU, id), (n) => n.state === 'signed');
    expect((await act(QINGPU, id, { action: 'register' })).json.negotiation.state).toBe('active');
    const hub = (await (await fetch(new URL(`/v1/agreements/${pair.id}`, t.f.hub.endpoint))).json()) as { agreement: { items: Array<{ timeLimitDays: number }> } };
    expect(hub.agreement.items[0]!.timeLimitDays).toBe(10);
  }, 240_000);

  it('once active, the negotiation views at every party show where the agreement stands: suspended by whom and why, until resumed', async () => {
    const agreementId = 'AGR-310118-522732-001';
    const summary = async (node: string) => (await t.operator(node, `/v1/operator/agreements/drafts?agreementId=${agreementId}`)).json[0];
    expect(await summary(QINGPU)).toMatchObject({ state: 'active', agreementState: 'active' });
    expect((await summary(QINGPU)).agreementStateChange).toBeUndefined();
    const suspended = await cli(['agreement', 'suspend', agreementId, '--node', SANDU, '--reason', 'incident under review', '--actor', 'wang.li']);
    expect(suspended.code, suspended.stderr).toBe(0);
    // Qingpu, the other party, learns of it by Sandu's signed message; its negotiation views say so.
    const atQingpu = await until('Qingpu sees it suspended', () => summary(QINGPU), (n) => n.agreementState === 'suspended');
    expect(atQingpu).toMatchObject({ state: 'active', agreementStateChange: { action: 'suspend', party: SANDU, actor: 'wang.li', reason: 'incident under review' } });
    expect(await show(QINGPU, atQingpu.id)).toMatchObject({ state: 'active', agreementState: 'suspended', agreementStateChange: { party: SANDU } });
    expect((await cli(['agreement', 'list', '--node', QINGPU])).stdout).toMatch(new RegExp(`${atQingpu.id}\\s+${agreementId}\\s+1\\s+310118\\s+active \\(agreement suspended by ${SANDU} \\(wang\\.li\\) at \\S+: incident under review\\)`));
    expect((await cli(['agreement', 'show', '--node', SANDU, '--negotiation', atQingpu.id])).stdout).toMatch(new RegExp(`^state\\s+active \\(agreement suspended by ${SANDU} .*: incident under review\\)$`, 'm'));
    // Other negotiations are untouched: the trio agreement is still plainly active.
    expect((await t.operator(QINGPU, '/v1/operator/agreements/drafts?agreementId=AGR-TRIO-001')).json[0]).toMatchObject({ state: 'active', agreementState: 'active' });
    expect((await cli(['agreement', 'resume', agreementId, '--node', SANDU, '--reason', 'incident closed'])).code).toBe(0);
    const resumed = await until('Qingpu sees it resumed', () => summary(QINGPU), (n) => n.agreementState === 'active');
    expect(resumed.agreementStateChange).toBeUndefined();
  }, 120_000);

  it('drafts from a file, counters and abandons with the CLI', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tongban-terms-'));
    try {
      const bridge = { ...terms, id: 'AGR-310118-330523-009', parties: [QINGPU, ANJI], topology: 'bridge', items: terms.items.map((i) => ({ ...i, acceptingNodes: [QINGPU], grants: i.grants.map((g) => ({ ...g, requesters: [QINGPU] })) })), securityDuties: { ...terms.securityDuties, contacts: terms.securityDuties.contacts.slice(0, 2) } };
      writeFileSync(join(dir, 'terms.json'), JSON.stringify(bridge));
      writeFileSync(join(dir, 'counter.json'), JSON.stringify({ ...bridge, items: bridge.items.map((i) => ({ ...i, timeLimitDays: 5 })) }));
      const drafted = await cli(['agreement', 'draft', '--node', QINGPU, '--file', join(dir, 'terms.json')]);
      expect(drafted.code, drafted.stderr).toBe(0);
      const id = /^negotiation\s+(\S+)$/m.exec(drafted.stdout)![1]!;
      expect((await cli(['agreement', 'propose', '--node', QINGPU, '--negotiation', id])).code).toBe(0);
      await until('Anji holds round 1', () => show(ANJI, id), (n) => n.rounds?.length === 1);
      const countered = await cli(['agreement', 'counter', '--node', ANJI, '--negotiation', id, '--file', join(dir, 'counter.json')]);
      expect(countered.stdout, countered.stderr).toMatch(/^sent to\s+310118/m);
      await until('Qingpu holds round 2', () => show(QINGPU, id), (n) => n.rounds?.length === 2);
      expect((await cli(['agreement', 'diff', '--node', QINGPU, '--negotiation', id])).stdout.trim()).toBe('items[N010].timeLimitDays: 10 → 5');
      const abandoned = await cli(['agreement', 'abandon', '--node', QINGPU, '--negotiation', id, '--reason', '改日再议']);
      expect(abandoned.stdout, abandoned.stderr).toMatch(/^state\s+abandoned$/m);
      await until('Anji sees it abandoned', () => show(ANJI, id), (n) => n.state === 'abandoned');
      // A step the table does not allow from there is refused, exit 1 with the code.
      const late = await cli(['agreement', 'propose', '--node', QINGPU, '--negotiation', id]);
      expect([late.code, late.stderr]).toEqual([1, expect.stringContaining('NEGOTIATION_TRANSITION_NOT_ALLOWED')]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);

  it('a negotiation message sent while the partner is down waits in the convener’s outbox and arrives exactly once after it comes back', async () => {
    const pair = { ...terms, id: 'AGR-310118-320400-031', parties: [QINGPU, CHANGZHOU], topology: 'bridge', items: terms.items.map((i) => ({ ...i, acceptingNodes: [QINGPU], decidingNodes: [QINGPU, CHANGZHOU], grants: i.grants.map((g) => ({ ...g, provider: CHANGZHOU, requesters: [QINGPU] })) })), securityDuties: { ...terms.securityDuties, contacts: [terms.securityDuties.contacts[0]!, terms.securityDuties.contacts[2]!] } };
    const drafted = await t.operator(QINGPU, '/v1/operator/agreements/drafts', { terms: pair, operator: 'wang.li' });
    expect(drafted.status, JSON.stringify(drafted.json)).toBe(201);
    const id: string = drafted.json.id;
    const conversation = `agreement:${pair.id}`;
    const qingpu = t.f.nodes.get(QINGPU)!.runtime!;
    const copies = async () => (await qingpu.store.outbox.list()).filter((m) => m.kind === 'agreement.negotiation' && m.destination === CHANGZHOU && m.conversation === conversation);
    const changzhou = t.f.nodes.get(CHANGZHOU)!;
    await changzhou.stop();
    try {
      // Round 1 while Changzhou is down: the convener's step succeeds; the copy to Changzhou is queued.
      expect((await act(QINGPU, id, { action: 'propose' })).json.negotiation).toMatchObject({ state: 'proposed', rounds: [{ number: 1, author: QINGPU }] });
      // Tried, failed, and listed for the operator as still retrying.
      const listed = await until(
        'the copy waits in Qingpu’s outbox',
        async () => ((await t.operator(QINGPU, '/v1/operator/outbox')).json.messages as Array<{ kind: string; destination: string; conversation: string }>).filter((m) => m.kind === 'agreement.negotiation' && m.destination === CHANGZHOU && m.conversation === conversation),
        (m) => m.length > 0,
      );
      expect(listed).toEqual([expect.objectContaining({ status: 'pending', attempts: expect.any(Number), lastError: expect.any(String) })]);
      expect((await copies()).map((m) => m.status)).toEqual(['pending']);
    } finally {
      if (!changzhou.running) await changzhou.start();
    }

    // Back up: the outbox delivers at its next try; Changzhou holds round 1, applied once.
    qingpu.messages.kick();
    const [copy] = await until('the copy is delivered', copies, (m) => m.length === 1 && m[0]!.status === 'delivered');
    const held = await until('Changzhou holds round 1', () => show(CHANGZHOU, id), (n) => n.rounds?.length === 1);
    expect(held).toMatchObject({ state: 'proposed', convener: QINGPU, rounds: [{ number: 1, author: QINGPU }] });
    expect(await changzhou.runtime!.store.inbox.get(QINGPU, copy!.id)).toMatchObject({ kind: 'agreement.negotiation', result: 'applied' });
    const received = async () => (await t.auditEntries(CHANGZHOU)).filter((e) => e.kind === 'agreement.negotiate' && e.detail.negotiation === id && e.outcome === 'received');
    expect((await received()).map((e) => [e.detail.action, e.requester])).toEqual([['propose', QINGPU]]);

    // Sent again (the same id and content, straight or through the hub): a replay, nothing applied again.
    const envelope = { id: copy!.id, kind: 'agreement.negotiation', conversation, from: QINGPU, to: CHANGZHOU, payload: copy!.payload };
    const again = await t.raw({ from: QINGPU, to: CHANGZHOU, path: '/v1/messages/inbox', body: envelope });
    expect([again.status, again.json]).toEqual([200, { id: copy!.id, result: 'applied', replayed: true }]);
    expect((await show(CHANGZHOU, id)).version).toBe(held.version);
    expect(await received()).toHaveLength(1);

    // And the negotiation goes on from there: Changzhou's acceptance reaches the convener.
    expect((await act(CHANGZHOU, id, { action: 'accept', round: 1 })).status).toBe(200);
    await until('Qingpu sees it accepted', () => show(QINGPU, id), (n) => n.state === 'accepted');
    await until('Changzhou sees it accepted', () => show(CHANGZHOU, id), (n) => n.state === 'accepted');
    expect((await received()).map((e) => e.detail.action)).toEqual(['propose', 'accept']);
  }, 120_000);
}
