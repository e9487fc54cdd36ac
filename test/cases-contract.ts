import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sampleSubjects } from '../src/demo/registries.ts';
import { signedRequestHeaders } from '../src/exchange/index.ts';
import { inProcessServer } from '../src/federation/servers.ts';
import { PERIODIC_LEASE } from '../src/node/periodic.ts';
import { signedInCitizen, type SignedInCitizen } from './support/citizen-tokens.ts';
import { startTestFederation, type Backend, type TestFederation } from './support/federation.ts';

const SANDU_ANJI_ID = 'AGR-522732-330523-001';

/** Cross-region cases in all three modes, across separate node servers; SQLite and PostgreSQL. */
export function casesContract(backend: Backend): void {
  let t: TestFederation;
  const tokens = new Map<string, string>();
  /** Citizens signed in at the hub (real access tokens): `citizen-a` is sanduPerson, `citizen-b` otherPerson; each acts at any node. */
  const citizens = new Map<string, SignedInCitizen>();
  let sanduPerson: { idNumber: string; name: string };
  let otherPerson: { idNumber: string; name: string };

  /** Staff at the terminal: machine clients of one node, one staff role each. */
  const account = async (node: string, id: string, role: string) => {
    const r = await t.operator(node, '/v1/operator/accounts', { id, role, name: id });
    expect(r.status).toBe(201);
    tokens.set(`${node}/${id}`, r.json.token);
  };
  const tokenOf = async (node: string, who: string) => (citizens.has(who) ? citizens.get(who)!.accessToken() : (tokens.get(`${node}/${who}`) ?? 'none'));
  const citizen = (who: string) => citizens.get(who)!;
  const api = async (node: string, who: string, method: 'GET' | 'POST', path: string, body?: unknown) => {
    const endpoint = t.f.nodes.get(node)!.endpoint;
    const response = await fetch(new URL(path, endpoint), {
      method,
      headers: { authorization: `Bearer ${await tokenOf(node, who)}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, json: (await response.json()) as any };
  };
  const act = async (node: string, who: string, id: string, action: string, body: unknown = {}) => api(node, who, 'POST', `/v1/cases/${id}/actions/${action}`, body);
  /** Waits until a node's copy of a case satisfies a condition (the outbox runs asynchronously). */
  const eventually = async (node: string, who: string, id: string, ok: (c: any) => boolean) => {
    for (let i = 0; i < 100; i++) {
      const r = await api(node, who, 'GET', `/v1/cases/${id}`);
      if (r.status === 200 && ok(r.json.case)) return r.json;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`case ${id} at ${node} never reached the expected state`);
  };
  const checkAll = (materials: Array<{ name: string }>) => ({ materials: materials.map((m) => ({ name: m.name, checked: true })), identityVerified: true });

  /** Apply at the accepting node, pass the counter's checks, accept: the case is handed over. */
  const acceptedCase = async (node: string, who: string, itemCode: string, mode: string, competentNodes: string[], person = sanduPerson) => {
    const applied = await api(node, who, 'POST', '/v1/cases', { itemCode, mode, competentNodes, applicant: { idNumber: person.idNumber, name: person.name } });
    expect(applied.status).toBe(201);
    const id: string = applied.json.case.id;
    await act(node, 'clerk', id, 'precheck', checkAll(applied.json.case.materials));
    expect((await act(node, 'clerk', id, 'accept')).json.case.state).toBe('accepted');
    return id;
  };

  beforeAll(async () => {
    t = await startTestFederation(backend, { directory: { refreshSeconds: 0.5, snapshotTtlSeconds: 600 } });
    const sandu = sampleSubjects(t.f.registryPath('522732'), 2).people;
    sanduPerson = sandu[0]!;
    otherPerson = sandu[1]!;
    for (const node of ['522732', '330523', '320400', '310118']) {
      await account(node, 'clerk', 'clerk');
      await account(node, 'approver', 'approver');
      await account(node, 'supervisor', 'supervisor');
    }
    // Applicants are citizens signed in at the hub with their own token (the CLI's client, for the
    // federation): the same token acts at Sandu and at Anji (the preview tests have the Sandu citizen apply at Anji).
    citizens.set('citizen-a', await signedInCitizen(t.f, sanduPerson));
    citizens.set('citizen-b', await signedInCitizen(t.f, otherPerson));
  }, 300_000);
  afterAll(async () => {
    await t?.stop();
  });

  it('online (全程网办): a Sandu applicant applies online at home for an Anji item; Anji fetches the household data from Sandu instead of papers and decides', async () => {
    const applied = await api('522732', 'citizen-a', 'POST', '/v1/cases', {
      itemCode: 'N034',
      mode: 'online',
      competentNodes: ['330523'],
      applicant: { idNumber: sanduPerson.idNumber, name: sanduPerson.name },
    });
    expect(applied.status).toBe(201);
    const id = applied.json.case.id;
    expect(applied.json.case.materials.every((m: any) => m.kind === 'electronic')).toBe(true);
    // Not shared before acceptance: Anji does not know the case yet.
    expect((await api('330523', 'approver', 'GET', `/v1/cases/${id}`)).status).toBe(404);

    expect((await act('522732', 'clerk', id, 'accept')).json.code).toBe('CASE_TRANSITION_NOT_ALLOWED');
    await act('522732', 'clerk', id, 'precheck', checkAll(applied.json.case.materials));
    const accepted = await act('522732', 'clerk', id, 'accept');
    expect(accepted.json.case.state).toBe('accepted');
    expect(accepted.json.time).toMatchObject({ started: true, light: expect.stringMatching(/green|yellow/) });

    await eventually('330523', 'approver', id, (c) => c.state === 'accepted');
    expect((await act('330523', 'approver', id, 'start-review')).json.case.state).toBe('in_review');
    const evidence = await api('330523', 'approver', 'POST', `/v1/cases/${id}/evidence`, { provider: '522732', service: 'household.residence-proof', purpose: '户籍类证明开具' });
    expect(evidence.status).toBe(200);
    expect(evidence.json.case.evidence[0]).toMatchObject({ provider: '522732', fetchedBy: '330523', data: { name: sanduPerson.name, householdDivision: '522732' } });
    // The exchange ran under the bridge agreement and names the case in both audit logs.
    const provided = (await t.auditEntries('522732')).filter((e) => e.kind === 'exchange.provide' && e.caseId === id);
    expect(provided).toEqual([expect.objectContaining({ outcome: 'allowed', requester: '330523', agreementId: SANDU_ANJI_ID })]);
    // The accepting node cannot decide; a clerk cannot decide.
    expect((await act('522732', 'approver', id, 'decide', { outcome: 'grant', reason: 'x' })).json.code).toBe('CASE_FORBIDDEN');
    expect((await act('330523', 'clerk', id, 'decide', { outcome: 'grant', reason: 'x' })).json.code).toBe('CASE_FORBIDDEN');
    const decided = await act('330523', 'approver', id, 'decide', { outcome: 'grant', reason: '户籍信息核验一致' });
    expect(decided.json.case.decision).toMatchObject({ outcome: 'grant' });
    await act('330523', 'approver', id, 'conclude', { result: { code: 'A01', description: '出具户籍类证明（电子证明）' } });
    await eventually('522732', 'clerk', id, (c) => c.state === 'concluded');
    const delivered = await act('522732', 'clerk', id, 'deliver', { method: 'online' });
    expect(delivered.json.case.state).toBe('delivered');
    const atAnji = await eventually('330523', 'approver', id, (c) => c.state === 'delivered');
    expect(atAnji.case.history.map((h: any) => h.action)).toEqual(['apply', 'precheck', 'accept', 'start-review', 'fetch-evidence', 'decide', 'conclude', 'deliver']);
    expect(atAnji.case.history.find((h: any) => h.action === 'decide').actor).toEqual({ node: '330523', id: 'client:approver', role: 'approver' });
    expect(atAnji.case.history[0].actor).toEqual({ node: '522732', id: sanduPerson.idNumber, role: 'applicant' });
  });

  it('proxy (异地代收代办): Sandu accepts for Anji, ships the papers; Anji cannot review before receipt, confirms it, decides', async () => {
    const applied = await api('522732', 'citizen-a', 'POST', '/v1/cases', {
      itemCode: 'N010',
      mode: 'proxy',
      competentNodes: ['330523'],
      applicant: { idNumber: sanduPerson.idNumber, name: sanduPerson.name },
    });
    expect(applied.status).toBe(201);
    const id = applied.json.case.id;
    // Notice to complete, once only.
    expect((await act('522732', 'clerk', id, 'request-materials', { reason: '缺少参保缴费凭证', requestedMaterials: ['参保缴费凭证'] })).json.case.state).toBe('pending_materials');
    await act('522732', 'citizen-a', id, 'complete-materials');
    expect((await act('522732', 'clerk', id, 'request-materials', { reason: 'again', requestedMaterials: ['x'] })).json.code).toBe('CASE_TRANSITION_NOT_ALLOWED');
    await act('522732', 'clerk', id, 'precheck', checkAll(applied.json.case.materials));
    await act('522732', 'clerk', id, 'accept');
    const shipped = await act('522732', 'clerk', id, 'ship', { shipment: { carrier: 'EMS', trackingNumber: 'EA123456789CN', contents: ['居民身份证复印件', '参保缴费凭证'] } });
    const shipment = shipped.json.case.shipments[0];
    expect(shipment).toMatchObject({ to: '330523', status: 'sent', carrier: 'EMS' });

    await eventually('330523', 'approver', id, (c) => c.shipments.length === 1);
    expect((await act('330523', 'approver', id, 'start-review')).json.code).toBe('CASE_TRANSITION_NOT_ALLOWED');
    expect((await act('330523', 'clerk', id, 'receive', { shipmentId: shipment.id })).json.case.shipments[0].status).toBe('received');
    await act('330523', 'approver', id, 'start-review');
    await act('330523', 'approver', id, 'decide', { outcome: 'grant', reason: '转移接续手续齐全' });
    // Anji issues the 社会保险参保缴费证明 N010 yields: the fields no evidence of the case carries are given at the conclude.
    const certificateFields = { socialInsuranceInsuredDivision: '330523', contributionMonths: '96', socialInsuranceStatus: '1' };
    expect((await act('330523', 'approver', id, 'conclude', { result: { code: 'B02', description: '开具参保缴费凭证，纸质邮寄' }, certificateFields })).status).toBe(200);
    const back = await eventually('522732', 'clerk', id, (c) => c.state === 'concluded');
    expect(back.case.shipments[0]).toMatchObject({ status: 'received', receivedAt: expect.any(String) });
    await act('522732', 'clerk', id, 'deliver', { method: 'counter' });
    // The applicant sees their own case, delivered.
    const mine = await api('522732', 'citizen-a', 'GET', `/v1/cases/${id}`);
    expect(mine.json.case.state).toBe('delivered');
  });

  it('joint (多地联办): Anji and Changzhou decide their parts at the same time; the case concludes when both have', async () => {
    const id = await openJointCase();
    await Promise.all([
      act('330523', 'approver', id, 'decide', { outcome: 'grant', reason: '安吉部分办结' }),
      act('320400', 'approver', id, 'decide', { outcome: 'grant', reason: '常州部分办结' }),
    ]);
    for (const node of ['522732', '330523', '320400']) {
      const view = await eventually(node, node === '522732' ? 'clerk' : 'approver', id, (c) => c.state === 'decided');
      expect(view.case.parts.map((p: any) => p.status)).toEqual(['granted', 'granted']);
      expect(view.case.decision.outcome).toBe('grant');
    }
  });

  it('joint: one part refused refuses the case with that reason', async () => {
    const id = await openJointCase();
    await act('330523', 'approver', id, 'decide', { outcome: 'grant', reason: '安吉部分办结' });
    await eventually('320400', 'approver', id, (c) => c.parts.some((p: any) => p.status === 'granted'));
    const refused = await act('320400', 'approver', id, 'decide', { outcome: 'refuse', reason: '购房合同未备案' });
    expect(refused.json.case).toMatchObject({ state: 'decided', decision: { outcome: 'refuse', reason: '320400: 购房合同未备案' } });
    await eventually('522732', 'clerk', id, (c) => c.decision?.outcome === 'refuse');
  });

  async function openJointCase(): Promise<string> {
    const id = await acceptedCase('522732', 'clerk', 'N022', 'joint', ['330523', '320400']);
    await eventually('330523', 'approver', id, (c) => c.state === 'accepted');
    await act('330523', 'approver', id, 'start-review');
    await eventually('320400', 'approver', id, (c) => c.state === 'in_review');
    return id;
  }

  it('durable hand-off: the competent node is down while a proxy case is handed over; back up, the case arrives exactly once', async () => {
    await t.f.nodes.get('330523')!.stop();
    try {
      await handOffWhileDown();
    } finally {
      if (!t.f.nodes.get('330523')!.running) await t.f.nodes.get('330523')!.start();
    }
  });

  async function handOffWhileDown(): Promise<void> {
    const id = await acceptedCase('522732', 'clerk', 'N010', 'proxy', ['330523'], otherPerson);
    await act('522732', 'clerk', id, 'ship', { shipment: { carrier: '顺丰', trackingNumber: 'SF1000200030', contents: ['申请表'] } });
    const sandu = t.f.nodes.get('522732')!.runtime!;
    // Delivery has been tried and failed; the messages wait in the outbox.
    for (let i = 0; i < 50; i++) {
      const pending = (await sandu.store.outbox.list()).filter((m) => m.destination === '330523' && m.status === 'pending');
      if (pending.some((m) => m.attempts > 0)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const waiting = (await sandu.store.outbox.list()).filter((m) => m.destination === '330523' && m.status === 'pending' && m.conversation === `case:${id}`);
    expect(waiting.length).toBe(2);
    // The first was tried and failed; the second waits behind it (order per destination and case).
    expect(waiting[0]).toMatchObject({ attempts: expect.any(Number), lastError: expect.any(String) });
    expect(waiting[0]!.attempts).toBeGreaterThan(0);

    await t.f.nodes.get('330523')!.start();
    const arrived = await eventually('330523', 'approver', id, (c) => c.shipments.length === 1);
    expect(arrived.case.state).toBe('accepted');
    for (let i = 0; i < 50 && (await sandu.store.outbox.list()).some((m) => m.status === 'pending'); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await sandu.store.outbox.list()).filter((m) => m.conversation === `case:${id}`).every((m) => m.status === 'delivered')).toBe(true);

    // Exactly once: each hand-off was applied once on Anji; a duplicate delivery changes nothing.
    const received = (await t.auditEntries('330523')).filter((e) => e.kind === 'case.received' && e.caseId === id);
    expect(received.map((e) => e.detail.version)).toEqual([...new Set(received.map((e) => e.detail.version))]);
    expect(received).toHaveLength(2);
    const message = waiting[0]!;
    const url = new URL('/v1/cases/inbox', t.f.nodes.get('330523')!.endpoint).toString();
    const body = JSON.stringify({ id: message.id, kind: message.kind, payload: message.payload });
    const duplicate = await fetch(url, { method: 'POST', headers: await signedRequestHeaders(t.key('522732'), url, body, new Date()), body });
    expect(await duplicate.json()).toMatchObject({ id: message.id, replayed: true });
    expect((await t.auditEntries('330523')).filter((e) => e.kind === 'case.received' && e.caseId === id)).toHaveLength(2);
  }

  it('access: a clerk of a third node cannot read the case; an applicant cannot read another applicant’s', async () => {
    const id = await acceptedCase('522732', 'citizen-a', 'N034', 'online', ['330523']);
    await eventually('330523', 'approver', id, (c) => c.state === 'accepted');
    // Changzhou takes no part: it never receives the case, and its staff cannot use Sandu's API.
    expect((await api('320400', 'clerk', 'GET', `/v1/cases/${id}`)).json.code).toBe('CASE_NOT_FOUND');
    expect((await api('320400', 'clerk', 'GET', '/v1/cases')).json.cases.map((c: any) => c.case.id)).not.toContain(id);
    const foreignToken = tokens.get('320400/clerk')!;
    const viaSandu = await fetch(new URL(`/v1/cases/${id}`, t.f.nodes.get('522732')!.endpoint), { headers: { authorization: `Bearer ${foreignToken}` } });
    expect(viaSandu.status).toBe(401);
    // Applicant B sees neither A's case nor A's list; applicants cannot act for others.
    expect((await api('522732', 'citizen-b', 'GET', `/v1/cases/${id}`)).json.code).toBe('CASE_NOT_FOUND');
    const listOfB = (await api('522732', 'citizen-b', 'GET', '/v1/cases')).json.cases;
    expect(listOfB.every((c: any) => c.case.applicant.idNumber === otherPerson.idNumber)).toBe(true);
    expect(listOfB.map((c: any) => c.case.id)).not.toContain(id);
    expect((await api('522732', 'citizen-b', 'POST', `/v1/cases/${id}/actions/withdraw`, { reason: 'x' })).json.code).toBe('CASE_NOT_FOUND');
    const forged = await api('522732', 'citizen-b', 'POST', '/v1/cases', { itemCode: 'N034', mode: 'online', competentNodes: ['330523'], applicant: { idNumber: sanduPerson.idNumber, name: 'x' } });
    expect(forged.json.code).toBe('CASE_FORBIDDEN');
    // A's own list holds A's cases only.
    const own = await api('522732', 'citizen-a', 'GET', '/v1/cases');
    expect(own.json.cases.length).toBeGreaterThan(0);
    expect(own.json.cases.every((c: any) => c.case.applicant.idNumber === sanduPerson.idNumber)).toBe(true);
    // Without a token: 401.
    expect((await fetch(new URL('/v1/cases', t.f.nodes.get('522732')!.endpoint))).status).toBe(401);
    // The citizen's one sign-in at the hub is taken at another node as well: A reads their case at Anji, B does not.
    expect((await api('330523', 'citizen-a', 'GET', `/v1/cases/${id}`)).status).toBe(200);
    expect((await api('330523', 'citizen-b', 'GET', `/v1/cases/${id}`)).json.code).toBe('CASE_NOT_FOUND');
    // Machine clients act in cases with clerk, approver or supervisor only; the other staff roles take no part.
    await account('522732', 'data-admin', 'dataAdmin');
    expect((await api('522732', 'data-admin', 'GET', '/v1/cases')).json.code).toBe('CASE_FORBIDDEN');
    expect((await api('522732', 'data-admin', 'GET', `/v1/cases/${id}`)).json.code).toBe('CASE_FORBIDDEN');
  });

  it('consultation: a signed thread between the two nodes, escalated to a supervisor, kept in both audit logs', async () => {
    const id = await acceptedCase('522732', 'clerk', 'N010', 'proxy', ['330523']);
    await eventually('330523', 'approver', id, () => true);
    const posted = await api('330523', 'approver', 'POST', `/v1/cases/${id}/thread`, { text: '缴费年限与原件不一致，请核实。' });
    expect(posted.status).toBe(201);
    const escalated = await api('522732', 'clerk', 'POST', `/v1/cases/${id}/thread`, { text: '协议未约定此情形，提请督办。', escalation: true });
    expect(escalated.json.escalation).toBe(true);
    for (const [node, who] of [['522732', 'clerk'], ['330523', 'approver']] as const) {
      for (let i = 0; i < 50; i++) {
        if ((await api(node, who, 'GET', `/v1/cases/${id}/thread`)).json.messages.length === 2) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const thread = (await api(node, who, 'GET', `/v1/cases/${id}/thread`)).json.messages;
      expect(thread.map((m: any) => [m.node, m.escalation])).toEqual([
        ['330523', false],
        ['522732', true],
      ]);
    }
    // The thread comes a page at a time, oldest first, with a maximum page size.
    const first = await api('522732', 'clerk', 'GET', `/v1/cases/${id}/thread?limit=1`);
    expect([first.json.messages.map((m: any) => m.node), first.json.next]).toEqual([['330523'], 1]);
    const second = await api('522732', 'clerk', 'GET', `/v1/cases/${id}/thread?limit=1&offset=1`);
    expect([second.json.messages.map((m: any) => m.node), second.json.next]).toEqual([['522732'], null]);
    const tooMany = await api('522732', 'clerk', 'GET', `/v1/cases/${id}/thread?limit=501`);
    expect([tooMany.status, tooMany.json.code]).toEqual([400, 'VALIDATION_FAILED']);
    const sanduAudit = await t.auditEntries('522732');
    expect(sanduAudit.some((e) => e.kind === 'case.escalate-thread' && e.caseId === id)).toBe(true);
    expect(sanduAudit.some((e) => e.kind === 'case.message' && e.outcome === 'received' && e.caseId === id)).toBe(true);
    // Applicants neither write nor read staff threads, not even on their own case.
    expect((await api('522732', 'citizen-a', 'POST', `/v1/cases/${id}/thread`, { text: 'hi' })).json.code).toBe('CASE_FORBIDDEN');
    const read = await api('522732', 'citizen-a', 'GET', `/v1/cases/${id}/thread`);
    expect([read.status, read.json.code]).toEqual([403, 'CASE_FORBIDDEN']);
  });

  it('server-sent events: the competent node’s screen hears of a hand-off as it arrives', async () => {
    const controller = new AbortController();
    const response = await fetch(new URL('/v1/cases/events', t.f.nodes.get('330523')!.endpoint), {
      headers: { authorization: `Bearer ${tokens.get('330523/approver')}` },
      signal: controller.signal,
    });
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = response.body!.getReader();
    const id = await acceptedCase('522732', 'clerk', 'N034', 'online', ['330523']);
    let text = '';
    const deadline = Date.now() + 10_000;
    while (!text.includes(id) && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    controller.abort();
    expect(text).toContain('event: case');
    expect(text).toContain(id);
  });

  it('an overdue case is escalated to the supervisor once', async () => {
    const id = await acceptedCase('522732', 'clerk', 'N034', 'online', ['330523']);
    const view = await eventually('330523', 'approver', id, (c) => c.state === 'accepted');
    // Backdate the acceptance on Anji's copy by 30 days: the 3-working-day promise is long gone.
    const anji = t.f.nodes.get('330523')!.runtime!;
    const old = new Date(Date.now() - 30 * 86_400_000).toISOString();
    await anji.store.cases.put({ ...view.case, acceptedAt: old, history: view.case.history.map((h: any) => (h.action === 'accept' ? { ...h, at: old } : h)), version: view.case.version + 1 });
    expect((await api('330523', 'approver', 'GET', `/v1/cases/${id}`)).json.time).toMatchObject({ overdue: true, light: 'red' });
    expect(await anji.cases.escalateOverdue()).toContain(id);
    expect(await anji.cases.escalateOverdue()).not.toContain(id);
    const escalated = await api('330523', 'supervisor', 'GET', `/v1/cases/${id}`);
    expect(escalated.json.case.escalated.reason).toMatch(/Overdue/);
    expect(escalated.json.case.history.at(-1)).toMatchObject({ action: 'escalate', actor: { role: 'system' } });
  });

  it('refuses bad input with problem+json and writes nothing', async () => {
    const before = (await api('522732', 'clerk', 'GET', '/v1/cases')).json.cases.length;
    const bad = [
      { itemCode: 'N999', mode: 'online', competentNodes: ['330523'], applicant: { idNumber: sanduPerson.idNumber, name: 'x' } },
      { itemCode: 'N034', mode: 'joint', competentNodes: ['330523'], applicant: { idNumber: sanduPerson.idNumber, name: 'x' } },
      { itemCode: 'N034', mode: 'online', competentNodes: ['330523'], applicant: { idNumber: '110105194912310021', name: 'x' } },
      { itemCode: 'N034', mode: 'online', competentNodes: ['999999'], applicant: { idNumber: sanduPerson.idNumber, name: 'x' } },
      { itemCode: 'N034', mode: 'online' },
    ];
    const codes = [];
    for (const body of bad) {
      const r = await api('522732', 'clerk', 'POST', '/v1/cases', body);
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
      codes.push(r.json.code);
    }
    expect(codes).toEqual(['ITEM_NOT_FOUND', 'VALIDATION_FAILED', 'SUBJECT_INVALID', 'NODE_UNKNOWN', 'VALIDATION_FAILED']);
    expect((await api('522732', 'clerk', 'GET', '/v1/cases')).json.cases.length).toBe(before);
    expect((await api('522732', 'clerk', 'POST', `/v1/cases/${randomUUID()}/actions/accept`, {})).json.code).toBe('CASE_NOT_FOUND');
    expect((await api('522732', 'clerk', 'POST', `/v1/cases/x/actions/fly`, {})).json.code).toBe('VALIDATION_FAILED');
  });

  /** A signed POST to another node's case inbox, as `from` (an approved node) would send it. */
  const inbox = (from: string, to: string, kind: string, payload: unknown) => t.raw({ from, to, path: '/v1/cases/inbox', body: { id: randomUUID(), kind, payload } });
  const refusedAt = async (node: string, caseId: string) => (await t.auditEntries(node)).filter((e) => e.kind === 'case.received' && e.outcome === 'refused' && e.caseId === caseId);

  it('forged copies: an approved node cannot create a concluded case at another node for the applicant to see', async () => {
    const id = await acceptedCase('522732', 'clerk', 'N034', 'online', ['330523']);
    const real = (await api('522732', 'clerk', 'GET', `/v1/cases/${id}`)).json.case;
    const at = new Date().toISOString();
    const concluded = (forgedId: string, acceptingNode: string, competent: string) => ({
      ...real,
      id: forgedId,
      acceptingNode,
      competentNodes: [competent],
      parts: [{ node: competent, status: 'granted', reason: '符合条件', decidedAt: at }],
      state: 'concluded',
      decision: { outcome: 'grant', reason: '符合条件', at },
      result: { code: 'A01', description: '准予' },
      history: [
        ...real.history.map((h: any) => ({ ...h, actor: { ...h.actor, node: acceptingNode } })),
        { action: 'decide', from: 'in_review', to: 'decided', at, actor: { node: competent, id: 'x', role: 'approver' }, reason: '符合条件' },
        { action: 'conclude', from: 'decided', to: 'concluded', at, actor: { node: competent, id: 'x', role: 'approver' } },
      ],
      version: real.version + 2,
    });
    // Anji forges a case "accepted" by itself and concluded by Sandu; and one "accepted" by Sandu.
    for (const forged of [concluded(`C-330523-${id.slice(9)}`, '330523', '522732'), concluded(`C-522732-${id.slice(9)}F`, '522732', '330523')]) {
      const r = await inbox('330523', '522732', 'case.snapshot', forged);
      expect([r.status, r.json.code]).toEqual([422, 'CASE_COPY_REJECTED']);
      expect((await api('522732', 'citizen-a', 'GET', `/v1/cases/${forged.id}`)).json.code).toBe('CASE_NOT_FOUND');
      expect((await api('522732', 'citizen-a', 'GET', '/v1/cases')).json.cases.map((c: any) => c.case.id)).not.toContain(forged.id);
      expect(await refusedAt('522732', forged.id)).toEqual([expect.objectContaining({ requester: '330523', code: 'CASE_COPY_REJECTED' })]);
    }
    // A second hand-off of a case Anji already holds is refused as well.
    await eventually('330523', 'approver', id, () => true);
    expect((await inbox('522732', '330523', 'case.snapshot', real)).json.code).toBe('CASE_COPY_REJECTED');
  });

  it('forged steps: a competent node cannot report a step its seat or role cannot take, nor one taken elsewhere', async () => {
    const id = await acceptedCase('522732', 'clerk', 'N034', 'online', ['330523']);
    const atAnji = (await eventually('330523', 'approver', id, (c) => c.state === 'accepted')).case;
    const at = new Date().toISOString();
    // A whole new copy in which Anji's clerk "withdrew" the case (only the accepting node may).
    const withdrawn = { ...atAnji, state: 'withdrawn', history: [...atAnji.history, { action: 'withdraw', from: 'accepted', to: 'withdrawn', at, actor: { node: '330523', id: 'clerk', role: 'clerk' }, reason: 'x' }], version: atAnji.version + 1, updatedAt: at };
    const refused = [
      await inbox('330523', '522732', 'case.snapshot', withdrawn),
      // The same as a step; an "accept" by the competent node; a clerk deciding; a step by Sandu's own clerk, sent by Anji.
      await inbox('330523', '522732', 'case.transition', { caseId: id, action: 'withdraw', actor: { node: '330523', id: 'clerk', role: 'clerk' }, at, input: { reason: 'x' } }),
      await inbox('330523', '522732', 'case.transition', { caseId: id, action: 'accept', actor: { node: '330523', id: 'clerk', role: 'clerk' }, at, input: {} }),
      await inbox('330523', '522732', 'case.transition', { caseId: id, action: 'start-review', actor: { node: '330523', id: 'clerk', role: 'clerk' }, at, input: {} }),
      await inbox('330523', '522732', 'case.transition', { caseId: id, action: 'withdraw', actor: { node: '522732', id: 'clerk', role: 'clerk' }, at, input: { reason: 'x' } }),
      // Skipping the state machine: concluding a case nobody reviewed.
      await inbox('330523', '522732', 'case.transition', { caseId: id, action: 'conclude', actor: { node: '330523', id: 'approver', role: 'approver' }, at, input: { result: { code: 'A', description: 'x' } } }),
    ];
    expect(refused.map((r) => [r.status, r.json.code])).toEqual(Array(6).fill([422, 'CASE_COPY_REJECTED']));
    expect((await api('522732', 'clerk', 'GET', `/v1/cases/${id}`)).json.case).toMatchObject({ state: 'accepted', version: atAnji.version });
    expect(await refusedAt('522732', id)).toHaveLength(6);
    // A legal step is replayed: Anji's approver starts the review.
    const legal = await inbox('330523', '522732', 'case.transition', { caseId: id, action: 'start-review', actor: { node: '330523', id: 'approver', role: 'approver' }, at, input: {} });
    expect([legal.status, legal.json.result]).toEqual([200, 'applied']);
    expect((await api('522732', 'clerk', 'GET', `/v1/cases/${id}`)).json.case.history.at(-1)).toMatchObject({ action: 'start-review', actor: { node: '330523', role: 'approver' } });
  });

  it('a malformed payload from an approved node is refused with VALIDATION_FAILED and stores nothing', async () => {
    const before = (await api('522732', 'clerk', 'GET', '/v1/cases')).json.total;
    for (const kind of ['case.snapshot', 'case.transition', 'case.message']) {
      const r = await inbox('330523', '522732', kind, { id: 'C-522732-X', state: 'concluded' });
      expect([r.status, r.json.code]).toEqual([400, 'VALIDATION_FAILED']);
    }
    expect((await api('522732', 'clerk', 'GET', '/v1/cases')).json.total).toBe(before);
  });

  it('evidence: in a joint case the competent node outside the agreement gets a reference, not the data', async () => {
    // Anji and Qingpu decide a pension transfer together; only Anji has an agreement with Sandu for
    // Sandu's social-insurance data under this item (the Sandu–Anji bridge); Qingpu has none.
    const id = await acceptedCase('522732', 'clerk', 'N010', 'joint', ['330523', '310118']);
    await eventually('330523', 'approver', id, (c) => c.state === 'accepted');
    await eventually('310118', 'approver', id, (c) => c.state === 'accepted');
    await act('330523', 'approver', id, 'start-review');
    const fetched = await api('330523', 'approver', 'POST', `/v1/cases/${id}/evidence`, { provider: '522732', service: 'social-insurance.contribution-history', purpose: '养老保险关系转移接续' });
    expect(fetched.status).toBe(200);
    const full = fetched.json.case.evidence[0];
    expect(full).toMatchObject({ provider: '522732', fetchedBy: '330523', purpose: '养老保险关系转移接续', data: { name: sanduPerson.name } });
    const reference = { provider: '522732', service: 'social-insurance.contribution-history', requestId: full.requestId, fetchedAt: full.fetchedAt, fetchedBy: '330523', purpose: '养老保险关系转移接续' };
    const atQingpu = await eventually('310118', 'approver', id, (c) => c.evidence.length === 1);
    expect(atQingpu.case.evidence).toEqual([reference]);
    expect(full.data).toHaveProperty('contributionMonths');
    expect(JSON.stringify(atQingpu.case)).not.toContain('contributionMonths');
    // The provider's own data goes back to it whole.
    expect((await eventually('522732', 'clerk', id, (c) => c.evidence.length === 1)).case.evidence).toEqual([full]);
    // Qingpu's copy stays in step with the others: its review and the later steps replay there.
    await act('330523', 'approver', id, 'decide', { outcome: 'grant', reason: '安吉部分' });
    await act('310118', 'approver', id, 'decide', { outcome: 'grant', reason: '青浦部分' });
    for (const [node, who] of [['522732', 'clerk'], ['330523', 'approver'], ['310118', 'approver']] as const) {
      const view = await eventually(node, who, id, (c) => c.state === 'decided');
      expect(view.case.decision).toMatchObject({ outcome: 'grant', reason: '330523: 安吉部分; 310118: 青浦部分' });
    }
  });

  it('consultation before hand-off is refused; a message stuck or refused for good holds up no later hand-off to that node', async () => {
    const applied = await api('522732', 'clerk', 'POST', '/v1/cases', { itemCode: 'N034', mode: 'online', competentNodes: ['330523'], applicant: { idNumber: sanduPerson.idNumber, name: sanduPerson.name } });
    const early = applied.json.case.id;
    const posted = await api('522732', 'clerk', 'POST', `/v1/cases/${early}/thread`, { text: '请先核实。' });
    expect([posted.status, posted.json.code]).toEqual([409, 'CASE_TRANSITION_NOT_ALLOWED']);
    const sandu = t.f.nodes.get('522732')!.runtime!;
    expect((await sandu.store.outbox.list()).filter((m) => m.conversation === `case:${early}`)).toEqual([]);

    // Two messages Anji will not take: a thread message on a case it does not hold (retried, as
    // its hand-off may still come) and a step it refuses for good.
    const held = await acceptedCase('522732', 'clerk', 'N034', 'online', ['330523']);
    await eventually('330523', 'approver', held, () => true);
    const at = new Date().toISOString();
    await sandu.store.outbox.enqueue({ id: `stuck-${randomUUID()}`, destination: '330523', conversation: `case:${early}`, kind: 'case.message', payload: { id: `522732-${randomUUID()}`, caseId: early, node: '522732', author: 'clerk', role: 'clerk', text: '请先核实。', at, escalation: false, signature: 'x' } });
    const deadId = `dead-${randomUUID()}`;
    await sandu.store.outbox.enqueue({ id: deadId, destination: '330523', conversation: `case:${held}`, kind: 'case.transition', payload: { caseId: held, action: 'conclude', actor: { node: '522732', id: 'clerk', role: 'clerk' }, at, input: {} } });
    // A later hand-off to the same node arrives all the same.
    const later = await acceptedCase('522732', 'clerk', 'N034', 'online', ['330523']);
    await eventually('330523', 'approver', later, (c) => c.state === 'accepted');
    // The refused one is final, in the operator's list with its error and in both audit logs.
    for (let i = 0; i < 50 && (await sandu.store.outbox.list()).find((m) => m.id === deadId)?.status !== 'dead'; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    const failed = (await t.operator('522732', '/v1/operator/outbox')).json.messages;
    expect(failed.find((m: any) => m.id === deadId)).toMatchObject({ status: 'dead', caseId: held, attempts: 1, lastError: expect.stringContaining('CASE_COPY_REJECTED') });
    expect(failed.find((m: any) => m.caseId === early)).toMatchObject({ status: 'pending', lastError: expect.stringContaining('CASE_NOT_YET_SHARED') });
    expect((await t.auditEntries('522732')).filter((e) => e.kind === 'case.delivery' && e.caseId === held)).toEqual([expect.objectContaining({ outcome: 'refused', code: 'CASE_COPY_REJECTED' })]);
    expect(await refusedAt('330523', held)).toHaveLength(1);
  });

  it('listing pages in the database: true total, disjoint complete pages, state filter', async () => {
    await api('522732', 'clerk', 'POST', '/v1/cases', { itemCode: 'N034', mode: 'online', competentNodes: ['330523'], applicant: { idNumber: otherPerson.idNumber, name: otherPerson.name } });
    const total = (await api('522732', 'clerk', 'GET', '/v1/cases?limit=1')).json.total;
    expect(total).toBeGreaterThan(5);
    const seen: string[] = [];
    for (let offset = 0; offset < total; offset += 4) {
      const page = (await api('522732', 'clerk', 'GET', `/v1/cases?limit=4&offset=${offset}`)).json;
      expect(page.total).toBe(total);
      seen.push(...page.cases.map((c: any) => c.case.id));
    }
    expect(seen).toHaveLength(total);
    expect(new Set(seen).size).toBe(total);
    const applied = (await api('522732', 'clerk', 'GET', '/v1/cases?state=applied&limit=1000')).json;
    expect(applied.cases.length).toBe(applied.total);
    expect(applied.total).toBeGreaterThan(0);
    expect(applied.cases.every((c: any) => c.case.state === 'applied')).toBe(true);
    // An applicant's total counts their own cases only.
    const mine = (await api('522732', 'citizen-b', 'GET', '/v1/cases?limit=1')).json;
    expect(mine.total).toBe((await api('522732', 'citizen-b', 'GET', '/v1/cases?limit=1000')).json.cases.length);
    expect((await api('522732', 'clerk', 'GET', '/v1/cases?state=flying')).json.code).toBe('VALIDATION_FAILED');
  });

  it('the decision queue lists the cases this node decides, from hand-over to conclusion, in the database', async () => {
    const id = await acceptedCase('522732', 'clerk', 'N010', 'proxy', ['330523']);
    await eventually('330523', 'approver', id, (c) => c.state === 'accepted');
    const queue = async (node: string, who: string, extra = '') => (await api(node, who, 'GET', `/v1/cases?queue=decision&limit=1000${extra}`)).json;
    const anji = await queue('330523', 'approver');
    expect(anji.cases.map((c: any) => c.case.id)).toContain(id);
    expect(anji.total).toBe(anji.cases.length);
    expect(anji.cases.every((c: any) => c.case.competentNodes.includes('330523') && ['accepted', 'in_review', 'special_procedure', 'suspended', 'decided'].includes(c.case.state))).toBe(true);
    // Sandu accepted it but does not decide it: not in Sandu's queue, though in its list.
    expect((await queue('522732', 'clerk')).cases.map((c: any) => c.case.id)).not.toContain(id);
    expect((await api('522732', 'clerk', 'GET', '/v1/cases?limit=1000')).json.cases.map((c: any) => c.case.id)).toContain(id);
    // With a state: the intersection; a state outside the queue gives nothing.
    expect((await queue('330523', 'approver', '&state=accepted')).cases.map((c: any) => c.case.id)).toContain(id);
    expect((await queue('330523', 'approver', '&state=applied')).total).toBe(0);
    // The store filter itself (the index's table): Anji decides it, Sandu does not.
    const store = (node: string) => t.f.nodes.get(node)!.runtime!.store;
    expect((await store('330523').cases.list({ competent: '330523', limit: 1000 })).map((c) => c.id)).toContain(id);
    expect((await store('522732').cases.list({ competent: '522732', limit: 1000 })).map((c) => c.id)).not.toContain(id);
    expect(await store('330523').cases.count({ competent: '330523', states: ['accepted'] })).toBeGreaterThan(0);
  });

  it('competent nodes: the directory’s nodes for an item, those whose agreement covers it first', async () => {
    const answer = await api('522732', 'clerk', 'GET', '/v1/cases/competent-nodes?itemCode=N010&mode=proxy');
    expect(answer.status).toBe(200);
    const nodes: Array<{ division: string; name: string; agreements: string[]; grants: unknown[] }> = answer.json.nodes;
    expect(nodes.map((n) => n.division).sort()).toEqual(['310118', '320400', '330523', '522732']);
    expect(nodes.find((n) => n.division === '330523')!.agreements).toEqual([SANDU_ANJI_ID]);
    expect(nodes.find((n) => n.division === '310118')!.agreements).toEqual([]);
    // The evidence Sandu may fetch from Anji for N010, under their agreement.
    expect(nodes.find((n) => n.division === '330523')!.grants).toEqual([{ service: 'social-insurance.contribution-history', agreement: SANDU_ANJI_ID, purposes: ['养老保险关系转移接续'], consentRequired: false }]);
    // Covered ones first.
    const covered = nodes.map((n) => n.agreements.length > 0);
    expect(covered).toEqual([...covered].sort((a, b) => Number(b) - Number(a)));
    // A citizen may ask too (their application form); an unknown item is ITEM_NOT_FOUND.
    expect((await api('522732', 'citizen-a', 'GET', '/v1/cases/competent-nodes?itemCode=N010')).status).toBe(200);
    expect((await api('522732', 'clerk', 'GET', '/v1/cases/competent-nodes?itemCode=N999')).json.code).toBe('ITEM_NOT_FOUND');
    // A suspended agreement offers nothing: Anji is listed without it (and without its evidence) until it is resumed.
    expect((await t.operator('522732', `/v1/operator/agreements/${SANDU_ANJI_ID}/suspend`, { reason: '核查' })).status).toBe(200);
    try {
      const suspended = (await api('522732', 'clerk', 'GET', '/v1/cases/competent-nodes?itemCode=N010&mode=proxy')).json.nodes as typeof nodes;
      expect(suspended.find((n) => n.division === '330523')).toMatchObject({ agreements: [], grants: [] });
    } finally {
      expect((await t.operator('522732', `/v1/operator/agreements/${SANDU_ANJI_ID}/resume`, { reason: '核查完毕' })).status).toBe(200);
    }
    expect((await api('522732', 'clerk', 'GET', '/v1/cases/competent-nodes?itemCode=N010&mode=proxy')).json.nodes.find((n: { division: string }) => n.division === '330523').agreements).toEqual([SANDU_ANJI_ID]);
  });

  it('escalation walks every open case in pages', async () => {
    const anji = t.f.nodes.get('330523')!.runtime!;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const id = await acceptedCase('522732', 'clerk', 'N034', 'online', ['330523']);
      const view = await eventually('330523', 'approver', id, (c) => c.state === 'accepted');
      const old = new Date(Date.now() - 30 * 86_400_000).toISOString();
      await anji.store.cases.put({ ...view.case, acceptedAt: old, history: view.case.history.map((h: any) => (h.action === 'accept' ? { ...h, at: old } : h)), version: view.case.version + 1 });
      ids.push(id);
    }
    expect(await anji.cases.escalateOverdue({ pageSize: 2 })).toEqual(expect.arrayContaining(ids));
    expect(await anji.cases.escalateOverdue({ pageSize: 2 })).toEqual([]);
    // Sandu replays each escalation as Anji's monitor's step.
    for (const id of ids) await eventually('522732', 'clerk', id, (c) => c.escalated !== undefined && c.history.at(-1).actor.node === '330523');
  });

  // ---- Who did it is who signed in (issue 12 item 3) ----

  /** The audit entries a node wrote while `fn` ran (reads are audited before they are answered). */
  const entriesDuring = async (node: string, fn: () => Promise<unknown>) => {
    const before = (await t.auditEntries(node)).length;
    await fn();
    return (await t.auditEntries(node)).slice(before);
  };

  it('the exchange’s operator is the authenticated caller: a body naming someone else is refused, audited, and nothing is sent', async () => {
    const ask = (extra: Record<string, unknown>) =>
      t.operator('330523', '/v1/operator/exchange', { provider: '522732', service: 'household.residence-proof', subject: { type: 'idNumber', value: sanduPerson.idNumber }, purpose: '户籍类证明开具', ...extra });
    const caseId = `OP-${randomUUID()}`;
    const forged = await ask({ caseId, operator: { id: 'clerk-007', role: 'clerk' } });
    expect([forged.status, forged.json.code]).toEqual([400, 'OPERATOR_NOT_CALLER']);
    const atAnji = (await t.auditEntries('330523')).filter((e) => e.caseId === caseId);
    expect(atAnji).toEqual([expect.objectContaining({ kind: 'exchange.request', outcome: 'refused', code: 'OPERATOR_NOT_CALLER', operator: 'operator-token', actor: { subject: 'operator-token', node: '330523', role: 'operator' } })]);
    expect(JSON.stringify(atAnji)).not.toContain('clerk-007');
    // Nothing reached the provider.
    expect((await t.auditEntries('522732')).filter((e) => e.caseId === caseId)).toEqual([]);

    // Without `operator` (or naming the caller itself) the request is the caller's: both logs say so.
    for (const extra of [{}, { operator: { id: 'operator-token', role: 'operator' } }]) {
      const id = `OP-${randomUUID()}`;
      const r = await ask({ caseId: id, ...extra });
      expect(r.status).toBe(200);
      expect((await t.auditEntries('330523')).filter((e) => e.caseId === id)).toEqual([
        expect.objectContaining({ kind: 'exchange.request', outcome: 'allowed', operator: 'operator-token', actor: { subject: 'operator-token', node: '330523', role: 'operator' } }),
      ]);
      // The provider records the operator as the requester signed it (Anji's word, bound to Anji's signature); nobody authenticated at Sandu.
      const provided = (await t.auditEntries('522732')).filter((e) => e.caseId === id);
      expect(provided).toEqual([expect.objectContaining({ kind: 'exchange.provide', requester: '330523', operator: 'operator-token', detail: expect.objectContaining({ operatorRole: 'operator' }) })]);
      expect(provided[0]).not.toHaveProperty('actor');
    }
  });

  it('a case step, a thread message and the evidence exchange name the signed-in principal; a body naming someone else changes nothing', async () => {
    const id = await acceptedCase('522732', 'citizen-a', 'N034', 'online', ['330523']);
    await eventually('330523', 'approver', id, (c) => c.state === 'accepted');
    // The step's body cannot carry an actor (strict schema): refused, nothing recorded.
    const named = await act('330523', 'approver', id, 'start-review', { actor: { node: '330523', id: 'supervisor', role: 'supervisor' } });
    expect([named.status, named.json.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect((await api('330523', 'approver', 'GET', `/v1/cases/${id}`)).json.case.state).toBe('accepted');
    const step = await entriesDuring('330523', () => act('330523', 'approver', id, 'start-review'));
    expect(step.find((e) => e.kind === 'case.start-review')).toMatchObject({ outcome: 'allowed', caseId: id, operator: 'client:approver', actor: { subject: 'client:approver', node: '330523', role: 'approver' }, subjectHash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    // The applicant's steps name their account, never their ID number.
    const applicantEntries = (await t.auditEntries('522732')).filter((e) => e.caseId === id && e.actor?.role === 'applicant');
    expect(applicantEntries.map((e) => e.kind)).toContain('case.apply');
    expect(applicantEntries.every((e) => e.actor.subject === citizen('citizen-a').subject)).toBe(true);
    expect(JSON.stringify(await t.auditEntries('522732'))).not.toContain(sanduPerson.idNumber);

    // A thread message is the signed-in author's: author, node and role a body gives are ignored.
    const posted = await api('330523', 'approver', 'POST', `/v1/cases/${id}/thread`, { text: '请补充户籍信息。', author: 'supervisor', node: '110105', role: 'supervisor' });
    expect(posted.status).toBe(201);
    expect(posted.json).toMatchObject({ author: 'client:approver', node: '330523', role: 'approver' });
    const atSandu = await (async () => {
      for (let i = 0; i < 50; i++) {
        const thread = await api('522732', 'clerk', 'GET', `/v1/cases/${id}/thread`);
        if (thread.json.messages.length > 0) return thread.json.messages;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error('the thread message never arrived');
    })();
    expect(atSandu[0]).toMatchObject({ author: 'client:approver', node: '330523', role: 'approver' });
    expect((await t.auditEntries('330523')).find((e) => e.kind === 'case.message' && e.caseId === id && e.outcome === 'sent')).toMatchObject({ actor: { subject: 'client:approver', node: '330523', role: 'approver' } });

    // The exchange a case step makes carries the person who asked, in both logs.
    const fetched = await api('330523', 'approver', 'POST', `/v1/cases/${id}/evidence`, { provider: '522732', service: 'household.residence-proof', purpose: '户籍类证明开具' });
    expect(fetched.status).toBe(200);
    const requestId = fetched.json.case.evidence[0].requestId;
    expect((await t.auditEntries('330523')).filter((e) => e.requestId === requestId).map((e) => [e.kind, e.actor])).toEqual([
      ['exchange.request', { subject: 'client:approver', node: '330523', role: 'approver' }],
      ['case.fetch-evidence', { subject: 'client:approver', node: '330523', role: 'approver' }],
    ]);
    expect((await t.auditEntries('522732')).find((e) => e.kind === 'exchange.provide' && e.requestId === requestId)).toMatchObject({ operator: 'client:approver', requester: '330523', detail: { operatorRole: 'approver' } });
  });

  it('reads are audited: a case, a list (one entry per call), a thread; a refused read too', async () => {
    const id = await acceptedCase('522732', 'citizen-a', 'N034', 'online', ['330523']);
    const read = await entriesDuring('522732', () => api('522732', 'clerk', 'GET', `/v1/cases/${id}`));
    expect(read).toEqual([expect.objectContaining({ kind: 'case.read', outcome: 'allowed', caseId: id, itemCode: 'N034', actor: { subject: 'client:clerk', node: '522732', role: 'clerk' }, subjectHash: expect.any(String) })]);
    const mine = await entriesDuring('522732', () => api('522732', 'citizen-a', 'GET', `/v1/cases/${id}`));
    expect(mine).toEqual([expect.objectContaining({ kind: 'case.read', outcome: 'allowed', actor: { subject: citizen('citizen-a').subject, node: '522732', role: 'applicant' } })]);
    // The same citizen's entries carry the same keyed subject hash (what a data tracker looks for).
    expect(mine[0].subjectHash).toBe(read[0].subjectHash);
    const probe = await entriesDuring('522732', () => api('522732', 'citizen-b', 'GET', `/v1/cases/${id}`));
    expect(probe).toEqual([expect.objectContaining({ kind: 'case.read', outcome: 'refused', code: 'CASE_NOT_FOUND', caseId: id, actor: { subject: citizen('citizen-b').subject, node: '522732', role: 'applicant' } })]);
    const listed = await entriesDuring('522732', () => api('522732', 'clerk', 'GET', '/v1/cases?limit=3'));
    expect(listed).toEqual([expect.objectContaining({ kind: 'case.list', outcome: 'allowed', actor: { subject: 'client:clerk', node: '522732', role: 'clerk' }, detail: expect.objectContaining({ shown: 3, limit: 3 }) })]);
    const thread = await entriesDuring('522732', () => api('522732', 'supervisor', 'GET', `/v1/cases/${id}/thread`));
    expect(thread).toEqual([expect.objectContaining({ kind: 'case.read-thread', outcome: 'allowed', caseId: id, actor: { subject: 'client:supervisor', node: '522732', role: 'supervisor' } })]);
    const applicantThread = await entriesDuring('522732', () => api('522732', 'citizen-a', 'GET', `/v1/cases/${id}/thread`));
    expect(applicantThread).toEqual([expect.objectContaining({ kind: 'case.read-thread', outcome: 'refused', code: 'CASE_FORBIDDEN' })]);
  });

  // ---- Preview (issue 12 item 5) ----

  /**
   * The demo's AGR-HUB-PREVIEW-001 marks N035 (criminal-record certificate) for preview: Anji and
   * Changzhou may have Sandu's household record for it, after the applicant has seen it. Anji
   * accepts a Sandu citizen's application for Changzhou to decide; Anji's clerk fetches the record.
   */
  const previewCase = async (who = 'citizen-a') => {
    const applied = await api('330523', who, 'POST', '/v1/cases', { itemCode: 'N035', mode: 'online', competentNodes: ['320400'], applicant: { idNumber: sanduPerson.idNumber, name: sanduPerson.name } });
    expect(applied.status).toBe(201);
    const id: string = applied.json.case.id;
    await act('330523', 'clerk', id, 'precheck', checkAll(applied.json.case.materials));
    return id;
  };
  const fetchHousehold = (node: string, who: string, id: string) => api(node, who, 'POST', `/v1/cases/${id}/evidence`, { provider: '522732', service: 'household.residence-proof', purpose: '无犯罪记录证明开具' });
  const outboxTo = async (node: string, destination: string, id: string) => JSON.stringify((await t.f.nodes.get(node)!.runtime!.store.outbox.list()).filter((m) => m.destination === destination && m.conversation === `case:${id}`));

  it('preview: evidence is held for the applicant, who sees it and refuses it; the deciding node never receives it and the case goes on', async () => {
    const id = await previewCase();
    const fetched = await fetchHousehold('330523', 'clerk', id);
    expect(fetched.status).toBe(200);
    const held = fetched.json.case.evidence[0];
    expect(held).toMatchObject({ provider: '522732', fetchedBy: '330523', preview: 'pending', data: { name: sanduPerson.name } });
    const address: string = held.data.householdAddress;
    expect(address.length).toBeGreaterThan(3);
    // The hand-off waits for the applicant: refused with its own code, nothing sent.
    const early = await act('330523', 'clerk', id, 'accept');
    expect([early.status, early.json.code]).toEqual([409, 'EVIDENCE_PREVIEW_PENDING']);
    expect((await api('320400', 'approver', 'GET', `/v1/cases/${id}`)).json.code).toBe('CASE_NOT_FOUND');
    // The applicant sees the evidence with its data; another applicant sees nothing; staff cannot decide for the applicant.
    const seen = await api('330523', 'citizen-a', 'GET', `/v1/cases/${id}`);
    expect(seen.json.case.evidence[0]).toEqual(held);
    expect((await api('330523', 'citizen-b', 'GET', `/v1/cases/${id}`)).json.code).toBe('CASE_NOT_FOUND');
    expect((await act('330523', 'citizen-b', id, 'refuse-evidence', { requestId: held.requestId })).json.code).toBe('CASE_NOT_FOUND');
    expect((await act('330523', 'clerk', id, 'release-evidence', { requestId: held.requestId })).json.code).toBe('CASE_FORBIDDEN');
    expect((await act('330523', 'citizen-a', id, 'refuse-evidence', { requestId: 'no-such-request' })).json.code).toBe('CASE_TRANSITION_NOT_ALLOWED');
    // The applicant refuses: the data is gone, the refusal is on record (history and audit), the case goes on.
    const refusedStep = await act('330523', 'citizen-a', id, 'refuse-evidence', { requestId: held.requestId, reason: '户籍地址有误' });
    expect(refusedStep.status).toBe(200);
    const reference = { ...held };
    delete reference.data;
    expect(refusedStep.json.case.evidence).toEqual([{ ...reference, preview: 'refused' }]);
    expect(refusedStep.json.case.history.at(-1)).toMatchObject({ action: 'refuse-evidence', actor: { node: '330523', role: 'applicant' }, reason: '户籍地址有误' });
    expect((await t.auditEntries('330523')).find((e) => e.kind === 'case.refuse-evidence' && e.caseId === id && e.outcome === 'allowed')).toMatchObject({
      outcome: 'allowed',
      actor: { subject: citizen('citizen-a').subject, node: '330523', role: 'applicant' },
      detail: expect.objectContaining({ evidenceRequest: held.requestId }),
    });
    expect((await act('330523', 'citizen-a', id, 'release-evidence', { requestId: held.requestId })).json.code).toBe('CASE_TRANSITION_NOT_ALLOWED');
    expect((await act('330523', 'clerk', id, 'accept')).json.case.state).toBe('accepted');
    // Changzhou gets the case with a reference marked refused: never the data, neither in its copy nor on the way.
    const atChangzhou = await eventually('320400', 'approver', id, (c) => c.state === 'accepted');
    expect(atChangzhou.case.evidence).toEqual([{ ...reference, preview: 'refused' }]);
    expect(JSON.stringify(atChangzhou.case)).not.toContain(address);
    expect(await outboxTo('330523', '320400', id)).not.toContain(address);
    // The deciding node cannot fetch the previewed data itself (it would hold it before the applicant saw it): refused before anything is sent.
    const provided = async () => (await t.auditEntries('522732')).filter((e) => e.kind === 'exchange.provide' && e.caseId === id).length;
    expect(await provided()).toBe(1);
    const own = await fetchHousehold('320400', 'approver', id);
    expect([own.status, own.json.code]).toEqual([403, 'CASE_FORBIDDEN']);
    expect(await provided()).toBe(1);
    // The case goes on without that evidence.
    await act('320400', 'approver', id, 'start-review');
    expect((await act('320400', 'approver', id, 'decide', { outcome: 'grant', reason: '经核查无犯罪记录' })).json.case.state).toBe('decided');
    await eventually('330523', 'clerk', id, (c) => c.state === 'decided');
  });

  it('preview: released evidence reaches the deciding node; fetched after the hand-off, it travels as a reference until released', async () => {
    // Released before the hand-off: the hand-off carries it.
    const first = await previewCase();
    const held = (await fetchHousehold('330523', 'clerk', first)).json.case.evidence[0];
    const released = await act('330523', 'citizen-a', first, 'release-evidence', { requestId: held.requestId });
    expect(released.json.case.evidence[0]).toEqual({ ...held, preview: 'released' });
    await act('330523', 'clerk', first, 'accept');
    const there = await eventually('320400', 'approver', first, (c) => c.state === 'accepted');
    expect(there.case.evidence[0]).toMatchObject({ requestId: held.requestId, preview: 'released', data: { name: sanduPerson.name, householdAddress: held.data.householdAddress } });

    // Fetched after the hand-off: Changzhou learns that evidence exists (a reference, held), then gets the data on release.
    const second = await previewCase();
    await act('330523', 'clerk', second, 'accept');
    await eventually('320400', 'approver', second, (c) => c.state === 'accepted');
    const late = (await fetchHousehold('330523', 'clerk', second)).json.case.evidence[0];
    expect(late.preview).toBe('pending');
    const pendingThere = await eventually('320400', 'approver', second, (c) => c.evidence.length === 1);
    expect(pendingThere.case.evidence[0]).toEqual({ provider: '522732', service: 'household.residence-proof', requestId: late.requestId, fetchedAt: late.fetchedAt, fetchedBy: '330523', purpose: '无犯罪记录证明开具', preview: 'pending' });
    expect(await outboxTo('330523', '320400', second)).not.toContain(late.data.householdAddress);
    await act('330523', 'citizen-a', second, 'release-evidence', { requestId: late.requestId });
    const releasedThere = await eventually('320400', 'approver', second, (c) => c.evidence[0]?.preview === 'released');
    expect(releasedThere.case.evidence[0]).toEqual({ ...late, preview: 'released' });
    expect(releasedThere.case.history.at(-1)).toMatchObject({ action: 'release-evidence', actor: { node: '330523', role: 'applicant' } });
  });

  // Last: the second replica enrols its own address at the hub (a change request nothing else here reads).
  it.skipIf(backend !== 'postgres')('server-sent events across replicas: a client of a second replica of the competent node hears of a hand-off the first replica received', async () => {
    const first = t.f.nodes.get('330523')!;
    const second = inProcessServer('330523', first.configPath, 0, '127.0.0.1', () => {});
    await second.start();
    const controller = new AbortController();
    try {
      const response = await fetch(new URL('/v1/cases/events', second.endpoint), {
        headers: { authorization: `Bearer ${tokens.get('330523/approver')}` },
        signal: controller.signal,
      });
      expect(response.status).toBe(200);
      const reader = response.body!.getReader();
      // The hand-off goes to the address in the directory: the first replica's.
      const id = await acceptedCase('522732', 'clerk', 'N034', 'online', ['330523']);
      let text = '';
      const deadline = Date.now() + 10_000;
      while (!text.includes(id) && Date.now() < deadline) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      expect(text).toContain('event: case');
      expect(text).toContain(id);
      expect(new URL(second.endpoint).port).not.toBe(new URL(first.endpoint).port);
      // The periodic work stays with the first replica: the second runs none of it while the first holds the lease.
      expect(second.runtime!.replica).not.toBe(first.runtime!.replica);
      expect((await second.runtime!.store.leases.get(PERIODIC_LEASE))?.holder).toBe(first.runtime!.replica);
    } finally {
      controller.abort();
      await second.stop();
    }
  });
}
