import { readFileSync, writeFileSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.ts';
import { subjectHash } from '../src/audit/index.ts';
import { decodeCertificate, presentCertificate, verifyPresentation, verifyStatusList, type TrustList } from '../src/certificates/index.ts';
import { generateSigningKey, signJws, type SigningKey } from '../src/crypto/index.ts';
import { sampleSubjects } from '../src/demo/registries.ts';
import { signedRequestHeaders } from '../src/exchange/index.ts';
import { makeHolderProof } from '../src/issuer/index.ts';
import { buildCreditCode } from '../src/standards/index.ts';
import { signedInCitizen, type SignedInCitizen } from './support/citizen-tokens.ts';
import { until } from './support/consent.ts';
import { startTestFederation, type Backend, type TestFederation } from './support/federation.ts';
import { cliClient, signIn } from './support/identity.ts';
import { Browser, signInAtNode } from './identity-rp-contract.ts';

const SANDU = '522732';
const ANJI = '330523';
const QINGPU = '310118';
/** Anji's status lists are made this small here, so that 50 issuances fill two and open a third. */
const LIST_SIZE = 20;

/**
 * The issuing node (docs/certificates.md, §3 of the contract): real hub and node servers on
 * loopback ports, SQLite or PostgreSQL. Anji decides N037 (婚姻登记) and issues the 结婚证 in the
 * conclude's own transaction; status changes show in the status list it serves; only the holder
 * gets the SD-JWT; the holder binds it to a key of their own.
 */
export function issuerContract(backend: Backend): void {
  let t: TestFederation;
  const tokens = new Map<string, string>();
  let holder: SignedInCitizen;
  let stranger: SignedInCitizen;
  let foreignStaff = '';
  let people: Array<{ idNumber: string; name: string }> = [];

  const endpointOf = (node: string) => t.f.nodes.get(node)!.endpoint;
  const tokenOf = async (who: string) => (who === 'holder' ? holder.accessToken() : who === 'stranger' ? stranger.accessToken() : who === 'foreign-staff' ? foreignStaff : tokens.get(who)!);
  const api = async (node: string, who: string, method: 'GET' | 'POST', path: string, body?: unknown) => {
    const response = await fetch(new URL(path, endpointOf(node)), {
      method,
      headers: { authorization: `Bearer ${await tokenOf(who)}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: response.status, json, contentType: response.headers.get('content-type') ?? '' };
  };
  const act = (node: string, who: string, id: string, action: string, body: unknown = {}) => api(node, who, 'POST', `/v1/cases/${id}/actions/${action}`, body);

  /** A case of `person` for `item` applied, accepted, reviewed and granted at `node` (accepting and competent): ready to conclude. */
  const decidedCase = async (node: string, person: { idNumber: string; name: string }, item = 'N037') => {
    const applied = await api(node, `${node}/clerk`, 'POST', '/v1/cases', { itemCode: item, mode: 'online', competentNodes: [node], applicant: person });
    expect(applied.status, JSON.stringify(applied.json)).toBe(201);
    const id: string = applied.json.case.id;
    const materials = applied.json.case.materials.map((m: { name: string }) => ({ name: m.name, checked: true }));
    for (const [who, action, body] of [
      ['clerk', 'precheck', { materials, identityVerified: true }],
      ['clerk', 'accept', {}],
      ['approver', 'start-review', {}],
      ['approver', 'decide', { outcome: 'grant', reason: '符合结婚登记条件' }],
    ] as const) {
      const r = await act(node, `${node}/${who}`, id, action, body);
      expect(r.status, `${action}: ${JSON.stringify(r.json)}`).toBe(200);
    }
    return id;
  };
  const marriageFields = (spouse: { idNumber: string; name: string }) => ({ spouseName: spouse.name, spouseIdNumber: spouse.idNumber, registrationDate: '2026-11-28' });
  const conclude = (node: string, id: string, certificateFields?: Record<string, string>) =>
    act(node, `${node}/approver`, id, 'conclude', { result: { code: 'A01', description: '颁发结婚证' }, ...(certificateFields ? { certificateFields } : {}) });
  /** The certificate of a case, as staff of its node list it (undefined when there is none). */
  const certificateOfCase = async (node: string, caseId: string) => {
    const listed = await api(node, `${node}/clerk`, 'GET', '/v1/certificates?limit=200');
    expect(listed.status).toBe(200);
    return (listed.json.certificates as any[]).find((c) => c.caseId === caseId);
  };
  const trustList = async (): Promise<TrustList> => t.f.nodes.get(ANJI)!.runtime!.certificates.trustList.current();
  const issuerKeys = (list: TrustList) => (kid: string) => list.issuers.flatMap((i) => i.keys).find((k) => k.kid === kid)?.jwk;
  /** The status a verifier reads for (uri, idx): the list fetched from the issuer and verified against the trust list. */
  const statusAt = async (uri: string, idx: number) => {
    const response = await fetch(uri);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/statuslist\+jwt/);
    const list = await verifyStatusList(await response.text(), { keys: issuerKeys(await trustList()), uri, now: new Date() });
    return list.statusAt(idx);
  };
  const verify = async (presentation: string, audience?: string) =>
    verifyPresentation(presentation, { trustList: await trustList(), now: new Date(), statusOf: (uri, idx) => statusAt(uri, idx), ...(audience ? { audience } : {}) });
  /** A certificate issued to the holder at Anji, by a conclude: its view for the holder (with sdJwt). */
  const issuedToHolder = async () => {
    const id = await decidedCase(ANJI, { idNumber: holder.idNumber, name: holder.name });
    expect((await conclude(ANJI, id, marriageFields(people[3]!))).status).toBe(200);
    const mine = await api(ANJI, 'holder', 'GET', '/v1/certificates/mine?limit=200');
    return (mine.json.certificates as any[]).find((c) => c.caseId === id);
  };

  /** Every row of every table (or of one) of a node's database, as text (what an intruder with the database would read). */
  const databaseText = async (node: string, only?: string): Promise<string> => {
    const url = loadConfig(t.f.nodes.get(node)!.configPath, {}).database.url;
    if (!url.startsWith('postgres')) {
      const db = new BetterSqlite3(url.replace(/^sqlite:/, ''), { readonly: true });
      try {
        const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).filter(({ name }) => only === undefined || name === only);
        return JSON.stringify(tables.map(({ name }) => db.prepare(`SELECT * FROM "${name}"`).all()));
      } finally {
        db.close();
      }
    }
    const parsed = new URL(url);
    const schema = parsed.searchParams.get('schema')!;
    parsed.searchParams.delete('schema');
    const client = new pg.Client({ connectionString: parsed.toString() });
    await client.connect();
    try {
      const tables = await client.query<{ table_name: string }>('SELECT table_name FROM information_schema.tables WHERE table_schema = $1', [schema]);
      const rows = [];
      for (const { table_name } of tables.rows.filter((r) => only === undefined || r.table_name === only)) rows.push((await client.query(`SELECT * FROM "${schema}"."${table_name}"`)).rows);
      return JSON.stringify(rows);
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    t = await startTestFederation(backend, { directory: { refreshSeconds: 0.5, snapshotTtlSeconds: 600 } });
    // Small status lists at Anji (a restart with the setting), before it issues anything.
    const anji = t.f.nodes.get(ANJI)!;
    const config = JSON.parse(readFileSync(anji.configPath, 'utf8'));
    writeFileSync(anji.configPath, JSON.stringify({ ...config, certificates: { statusListSize: LIST_SIZE } }, null, 2));
    await anji.stop();
    await anji.start();
    for (const node of [ANJI, QINGPU, SANDU]) {
      for (const role of ['clerk', 'approver', 'supervisor']) {
        const r = await t.operator(node, '/v1/operator/accounts', { id: `cert-${role}`, role, name: role });
        expect(r.status).toBe(201);
        tokens.set(`${node}/${role}`, r.json.token);
      }
    }
    people = sampleSubjects(t.f.registryPath(SANDU), 60).people;
    holder = await signedInCitizen(t.f, people[0]!);
    stranger = await signedInCitizen(t.f, people[1]!);
    // An approver of Sandu signed in at the hub: staff of another node at Anji.
    const staffUrl = new URL('/v1/identity/staff', t.f.hub.endpoint).toString();
    const staff = JSON.stringify({ login: 'cert-approver@522732', name: '韦', password: 'cert-staff-password', roles: ['approver'] });
    const enrolled = await fetch(staffUrl, { method: 'POST', headers: await signedRequestHeaders(t.key(SANDU), staffUrl, staff, new Date()), body: staff });
    expect(enrolled.status).toBe(201);
    foreignStaff = (await signIn(t.f.hub.endpoint, 'cert-approver@522732', 'cert-staff-password', cliClient())).accessToken;
  }, 300_000);
  afterAll(async () => {
    await t?.stop();
  });

  it('a granted N037 case concluded at Anji yields its 结婚证 in the same transaction: metadata, the applicant as holder, the given fields, signed as the trust list says', async () => {
    const spouse = people[2]!;
    const id = await decidedCase(ANJI, { idNumber: holder.idNumber, name: holder.name });
    const concluded = await conclude(ANJI, id, marriageFields(spouse));
    expect(concluded.status, JSON.stringify(concluded.json)).toBe(200);
    expect(concluded.json.case.state).toBe('concluded');

    const listed = await certificateOfCase(ANJI, id);
    expect(listed).toMatchObject({ caseId: id, vct: 'urn:tongban:certificate:marriage', typeName: '结婚证', status: 'valid', bound: false });
    // Staff see metadata and status, never the SD-JWT.
    expect(listed.sdJwt).toBeUndefined();
    const list = await trustList();
    const anji = list.issuers.find((i) => i.division === ANJI)!;
    expect(listed.metadata).toMatchObject({ id: listed.id, division: ANJI, relatedItem: 'N037', caseId: id, holderCodeType: '111', authority: anji.authority, authorityCode: anji.authorityCode, typeName: '结婚证' });
    expect(listed.statusList.uri).toMatch(new RegExp(`^${endpointOf(ANJI)}/v1/certificates/status-lists/\\d+$`));

    const mine = await api(ANJI, 'holder', 'GET', '/v1/certificates/mine');
    const held = (mine.json.certificates as any[]).find((c) => c.id === listed.id);
    const decoded = decodeCertificate(held.sdJwt);
    expect(decoded.disclosures).toEqual({ holderName: holder.name, holderIdNumber: holder.idNumber, spouseName: spouse.name, spouseIdNumber: spouse.idNumber, registrationDate: '2026-11-28' });
    expect(decoded.issuer).toBe(ANJI);
    // It verifies with the trust list alone, every field disclosed, status valid.
    const verified = await verify(await presentCertificate(held.sdJwt, { disclose: ['holderName', 'spouseName'], now: new Date() }));
    expect(verified).toMatchObject({ issuer: ANJI, vct: 'urn:tongban:certificate:marriage', disclosed: { holderName: holder.name, spouseName: spouse.name }, status: 'valid', keyBound: false });

    // One transaction: the conclude and the issuance are recorded together, with the approver and the holder's hash, no personal value.
    const entries = await t.auditEntries(ANJI);
    const issue = entries.find((e) => e.kind === 'certificate.issue' && e.caseId === id);
    const closing = entries.find((e) => e.kind === 'case.conclude' && e.caseId === id && e.outcome === 'allowed');
    expect(issue).toMatchObject({ outcome: 'allowed', actor: { node: ANJI, role: 'approver', subject: 'client:cert-approver' }, detail: { certificate: listed.id, vct: 'urn:tongban:certificate:marriage' } });
    expect(issue.seq).toBe(closing.seq + 1);
    expect(issue.at).toBe(closing.at);
    const runtime = t.f.nodes.get(ANJI)!.runtime!;
    expect(issue.subjectHash).toBe(subjectHash(runtime.auditKey, 'idNumber', holder.idNumber));
    const log = JSON.stringify(entries);
    for (const value of [spouse.name, spouse.idNumber, holder.idNumber]) expect(log).not.toContain(value);

    // The hub files it in the holder's wallet (the certificate.issued message of the same transaction).
    const wallet = await until(async () => {
      const r = await fetch(new URL('/v1/wallet', t.f.hub.endpoint), { headers: { authorization: `Bearer ${await holder.accessToken()}` } });
      const body = (await r.json()) as { certificates: Array<{ certificateId: string; issuer: string }> };
      return body.certificates.find((c) => c.certificateId === listed.id);
    }, 20_000, 'the certificate in the wallet');
    expect(wallet.issuer).toBe(ANJI);
  }, 60_000);

  it('a case accepted at Sandu and concluded at Anji: the certificate is issued at Anji, and its fields never reach Sandu', async () => {
    const spouse = people[9]!;
    const applied = await api(SANDU, `${SANDU}/clerk`, 'POST', '/v1/cases', { itemCode: 'N037', mode: 'online', competentNodes: [ANJI], applicant: { idNumber: holder.idNumber, name: holder.name } });
    const id: string = applied.json.case.id;
    expect((await act(SANDU, `${SANDU}/clerk`, id, 'precheck', { materials: applied.json.case.materials.map((m: { name: string }) => ({ name: m.name, checked: true })), identityVerified: true })).status).toBe(200);
    expect((await act(SANDU, `${SANDU}/clerk`, id, 'accept')).status).toBe(200);
    await until(async () => (await api(ANJI, `${ANJI}/approver`, 'GET', `/v1/cases/${id}`)).status === 200, 20_000, 'the hand-off at Anji');
    expect((await act(ANJI, `${ANJI}/approver`, id, 'start-review')).status).toBe(200);
    expect((await act(ANJI, `${ANJI}/approver`, id, 'decide', { outcome: 'grant', reason: '符合条件' })).status).toBe(200);
    expect((await conclude(ANJI, id, marriageFields(spouse))).status).toBe(200);
    await until(async () => (await api(SANDU, `${SANDU}/clerk`, 'GET', `/v1/cases/${id}`)).json.case?.state === 'concluded', 20_000, 'the conclude at Sandu');
    expect(await certificateOfCase(ANJI, id)).toMatchObject({ caseId: id, metadata: { division: ANJI } });
    // The step as Anji sent it (its outbox) carries none of the certificate's values …
    const sent = await databaseText(ANJI, 'outbox');
    expect(sent).toContain(`case:${id}`);
    expect(sent).not.toContain(spouse.idNumber);
    expect(sent).not.toContain(spouse.name);
    // … and Sandu, the accepting node, issued nothing and holds none of them.
    expect(await certificateOfCase(SANDU, id)).toBeUndefined();
    const sandu = await databaseText(SANDU);
    expect(sandu).toContain(id);
    expect(sandu).not.toContain(spouse.idNumber);
    expect(sandu).not.toContain(spouse.name);
  }, 60_000);

  it('a conclude refused for a missing or invalid certificate field leaves the case decided and issues nothing', async () => {
    const id = await decidedCase(ANJI, people[4]!);
    const missing = await conclude(ANJI, id, { spouseName: '李四' });
    expect(missing.status).toBe(422);
    expect(missing.json).toMatchObject({ code: 'CERTIFICATE_NOT_ISSUABLE' });
    expect(missing.json.detail).toMatch(/spouseIdNumber/);
    expect(missing.json.detail).toMatch(/registrationDate/);
    // A value its data element refuses: refused inside the transaction, which rolls back the conclude.
    const invalid = await conclude(ANJI, id, { ...marriageFields(people[5]!), spouseIdNumber: '110105194912310021' });
    expect(invalid.status).toBe(422);
    expect(invalid.json.code).toBe('CERTIFICATE_NOT_ISSUABLE');
    // A field the type does not have, or the holder's own (the applicant's): refused as invalid input.
    for (const fields of [{ ...marriageFields(people[5]!), favouriteColour: '蓝' }, { ...marriageFields(people[5]!), holderName: '冒名' }]) {
      const r = await conclude(ANJI, id, fields);
      expect(r.status).toBe(400);
      expect(r.json.code).toBe('VALIDATION_FAILED');
    }
    const c = await api(ANJI, `${ANJI}/approver`, 'GET', `/v1/cases/${id}`);
    expect(c.json.case.state).toBe('decided');
    expect(c.json.case.history.map((h: any) => h.action)).not.toContain('conclude');
    expect(await certificateOfCase(ANJI, id)).toBeUndefined();
    const refusals = (await t.auditEntries(ANJI)).filter((e) => e.kind === 'case.conclude' && e.caseId === id);
    expect(refusals.map((e) => [e.outcome, e.code])).toEqual([
      ['refused', 'CERTIFICATE_NOT_ISSUABLE'],
      ['refused', 'CERTIFICATE_NOT_ISSUABLE'],
      ['refused', 'VALIDATION_FAILED'],
      ['refused', 'VALIDATION_FAILED'],
    ]);
    // With every field, the same case concludes and gets its certificate.
    expect((await conclude(ANJI, id, marriageFields(people[5]!))).status).toBe(200);
    expect(await certificateOfCase(ANJI, id)).toMatchObject({ caseId: id, status: 'valid' });
  }, 60_000);

  it('a node not on the trust list for the type concludes without a certificate (audited); once authorised, its approver issues it with POST /v1/certificates/issue, once', async () => {
    const id = await decidedCase(QINGPU, people[6]!);
    const concluded = await conclude(QINGPU, id, marriageFields(people[7]!));
    expect(concluded.status).toBe(200);
    expect(await certificateOfCase(QINGPU, id)).toBeUndefined();
    const notIssued = (await t.auditEntries(QINGPU)).find((e) => e.kind === 'certificate.not-issued' && e.caseId === id);
    expect(notIssued).toMatchObject({ outcome: 'refused', code: 'CERTIFICATE_NOT_ISSUABLE', actor: { role: 'approver', node: QINGPU }, detail: { vct: 'urn:tongban:certificate:marriage' } });
    expect(notIssued.detail.reason).toMatch(/not authorised/);
    const early = await api(QINGPU, `${QINGPU}/approver`, 'POST', '/v1/certificates/issue', { caseId: id, certificateFields: marriageFields(people[7]!) });
    expect(early.status).toBe(422);
    expect(early.json.code).toBe('CERTIFICATE_NOT_ISSUABLE');

    // The hub's administrator authorises Qingpu for marriage certificates too.
    const authorised = await fetch(new URL('/v1/certificates/issuers', t.f.hub.endpoint), {
      method: 'POST',
      headers: { authorization: `Bearer ${t.f.adminToken()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ division: QINGPU, authority: '青浦区政务服务管理局', authorityCode: buildCreditCode('1', '1', QINGPU, `MB${QINGPU}`), types: ['business-licence', 'marriage'] }),
    });
    expect(authorised.status).toBe(200);
    await t.f.nodes.get(QINGPU)!.runtime!.certificates.trustList.refresh();

    // Only an approver of Qingpu issues; a clerk or a citizen is refused.
    for (const who of [`${QINGPU}/clerk`, 'holder']) {
      const r = await api(QINGPU, who, 'POST', '/v1/certificates/issue', { caseId: id });
      expect(r.status, who).toBe(403);
      expect(r.json.code).toBe('CERTIFICATE_FORBIDDEN');
    }
    // A case that is not concluded, or no case of Qingpu's: refused.
    const open = await decidedCase(QINGPU, people[8]!);
    expect((await api(QINGPU, `${QINGPU}/approver`, 'POST', '/v1/certificates/issue', { caseId: open })).json.code).toBe('CERTIFICATE_NOT_ISSUABLE');
    expect((await api(QINGPU, `${QINGPU}/approver`, 'POST', '/v1/certificates/issue', { caseId: 'C-310118-NOSUCHCASE' })).status).toBe(404);
    const missing = await api(QINGPU, `${QINGPU}/approver`, 'POST', '/v1/certificates/issue', { caseId: id });
    expect(missing.status).toBe(422);
    expect(missing.json.detail).toMatch(/spouseName/);

    const issued = await api(QINGPU, `${QINGPU}/approver`, 'POST', '/v1/certificates/issue', { caseId: id, certificateFields: marriageFields(people[7]!) });
    expect(issued.status, JSON.stringify(issued.json)).toBe(200);
    expect(issued.json).toMatchObject({ created: true, certificate: { caseId: id, status: 'valid', metadata: { division: QINGPU, authority: '青浦区政务服务管理局' } } });
    const again = await api(QINGPU, `${QINGPU}/approver`, 'POST', '/v1/certificates/issue', { caseId: id });
    expect(again.json).toMatchObject({ created: false, certificate: { id: issued.json.certificate.id } });
    const audited = (await t.auditEntries(QINGPU)).filter((e) => e.kind === 'certificate.issue' && e.caseId === id);
    expect(audited.map((e) => [e.outcome, e.code ?? null])).toEqual([
      ['refused', 'CERTIFICATE_NOT_ISSUABLE'],
      ['refused', 'CERTIFICATE_FORBIDDEN'],
      ['refused', 'CERTIFICATE_FORBIDDEN'],
      ['refused', 'CERTIFICATE_NOT_ISSUABLE'],
      ['allowed', null],
    ]);
  }, 90_000);

  it('50 concludes at once get 50 distinct status indexes, filling lists of 20 and opening new ones', async () => {
    const ids = [];
    for (let i = 0; i < 50; i++) ids.push(await decidedCase(ANJI, people[10 + (i % 50)]!));
    const before = await api(ANJI, `${ANJI}/clerk`, 'GET', '/v1/certificates?limit=200');
    const answers = await Promise.all(ids.map((id, i) => conclude(ANJI, id, marriageFields(people[(i + 11) % 50]!))));
    expect(answers.map((a) => a.status)).toEqual(ids.map(() => 200));
    const all = (await api(ANJI, `${ANJI}/clerk`, 'GET', '/v1/certificates?limit=200')).json.certificates as any[];
    expect(all.length).toBe(before.json.certificates.length + 50);
    const slots = all.map((c) => `${c.statusList.uri}#${c.statusList.idx}`);
    expect(new Set(slots).size).toBe(all.length);
    // Every list hands out 0, 1, … without a gap, never beyond its size: the earlier ones are full.
    const byList = new Map<string, number[]>();
    for (const c of all) byList.set(c.statusList.uri, [...(byList.get(c.statusList.uri) ?? []), c.statusList.idx]);
    const lists = [...byList.keys()].sort((a, b) => Number(a.split('/').at(-1)) - Number(b.split('/').at(-1)));
    expect(lists.length).toBe(Math.ceil(all.length / LIST_SIZE));
    lists.forEach((uri, i) => {
      const indexes = byList.get(uri)!.sort((a, b) => a - b);
      expect(indexes).toEqual([...Array(i < lists.length - 1 ? LIST_SIZE : all.length - LIST_SIZE * (lists.length - 1)).keys()]);
    });
    // Each list is served, every index handed out valid.
    for (const uri of lists) expect(await statusAt(uri, 0)).toBe(0);
  }, 240_000);

  it('revoke, suspend and reinstate by an approver or supervisor show in the served status list; revoked is final; anyone else is refused', async () => {
    const certificate = await issuedToHolder();
    const { id } = certificate;
    const { uri, idx } = certificate.statusList;
    const change = (who: string, action: string, reason = '测试') => api(ANJI, who, 'POST', `/v1/certificates/${encodeURIComponent(id)}/${action}`, { reason });
    expect(await statusAt(uri, idx)).toBe(0);
    for (const who of [`${ANJI}/clerk`, 'foreign-staff', 'holder']) {
      const r = await change(who, 'revoke');
      expect(r.status, who).toBe(403);
      expect(r.json.code).toBe('CERTIFICATE_FORBIDDEN');
    }
    // Sandu's machine client is nobody at Anji.
    expect((await change(`${SANDU}/approver`, 'revoke')).status).toBe(401);
    expect((await change(`${ANJI}/approver`, 'revoke', '')).status).toBe(400);
    expect((await api(ANJI, `${ANJI}/approver`, 'POST', '/v1/certificates/1.2.156.NOPE/revoke', { reason: 'x' })).json.code).toBe('CERTIFICATE_NOT_FOUND');
    expect((await change(`${ANJI}/approver`, 'reinstate')).json.code).toBe('CERTIFICATE_STATUS_CONFLICT');

    const suspended = await change(`${ANJI}/supervisor`, 'suspend', '涉嫌骗取登记，调查中');
    expect(suspended.status).toBe(200);
    expect(suspended.json).toMatchObject({ id, status: 'suspended', statusReason: '涉嫌骗取登记，调查中' });
    expect(await statusAt(uri, idx)).toBe(2);
    // The holder's wallet at Sandu, which did not issue it: the status from Anji's status list (the hub's index names the list, Anji's key signs it).
    const browser = new Browser();
    await signInAtNode(browser, t.f.nodes.get(SANDU)!.endpoint, holder.idNumber, holder.password);
    // The hub files it from Anji's outbox a moment after the conclude.
    const entry = await until(async () => {
      const atSandu = await browser.fetch(new URL('/v1/me/wallet?limit=200', t.f.nodes.get(SANDU)!.endpoint), { headers: { 'x-tongban-csrf': '1' } });
      expect(atSandu.status).toBe(200);
      return ((await atSandu.json()) as { certificates: Array<{ certificateId: string; status: string; statusList: unknown }> }).certificates.find((c) => c.certificateId === id);
    }, 20_000, 'the certificate in the wallet at Sandu');
    expect(entry).toMatchObject({ statusList: { list: expect.any(Number), index: idx } });
    // As Sandu's verifier holds Anji's list (fetched now, or within certificates.statusMaxAgeSeconds if a verification here fetched it before): never `unknown`.
    const held = await t.f.nodes.get(SANDU)!.runtime!.certificates.statusLists.statusOf(uri, idx, ANJI);
    expect(entry!.status).toBe(['valid', 'revoked', 'suspended'][held]);
    expect((await change(`${ANJI}/approver`, 'suspend')).json.code).toBe('CERTIFICATE_STATUS_CONFLICT');
    const reinstated = await change(`${ANJI}/approver`, 'reinstate', '调查结束');
    expect(reinstated.json.status).toBe('valid');
    expect(await statusAt(uri, idx)).toBe(0);
    const revoked = await change(`${ANJI}/approver`, 'revoke', '婚姻登记被撤销');
    expect(revoked.json.status).toBe('revoked');
    expect(await statusAt(uri, idx)).toBe(1);
    // The verifier refuses it now.
    await expect(verify(await presentCertificate(certificate.sdJwt, { disclose: ['holderName'], now: new Date() }))).rejects.toMatchObject({ code: 'CERTIFICATE_REVOKED' });
    for (const action of ['reinstate', 'suspend', 'revoke']) {
      const r = await change(`${ANJI}/supervisor`, action);
      expect(r.status).toBe(409);
      expect(r.json.code).toBe('CERTIFICATE_STATUS_CONFLICT');
    }
    // Other certificates of the list are untouched.
    expect(await statusAt(uri, idx === 0 ? 1 : 0)).toBe(0);
    const audited = (await t.auditEntries(ANJI)).filter((e) => e.kind.startsWith('certificate.') && e.detail?.certificate === id && e.kind !== 'certificate.issue' && e.kind !== 'certificate.read');
    expect(audited.map((e) => [e.kind, e.outcome, e.code ?? null, e.actor?.role ?? null])).toEqual([
      ['certificate.revoke', 'refused', 'CERTIFICATE_FORBIDDEN', 'clerk'],
      ['certificate.revoke', 'refused', 'CERTIFICATE_FORBIDDEN', 'approver'],
      ['certificate.revoke', 'refused', 'CERTIFICATE_FORBIDDEN', 'holder'],
      ['certificate.reinstate', 'refused', 'CERTIFICATE_STATUS_CONFLICT', 'approver'],
      ['certificate.suspend', 'allowed', null, 'supervisor'],
      ['certificate.suspend', 'refused', 'CERTIFICATE_STATUS_CONFLICT', 'approver'],
      ['certificate.reinstate', 'allowed', null, 'approver'],
      ['certificate.revoke', 'allowed', null, 'approver'],
      ['certificate.reinstate', 'refused', 'CERTIFICATE_STATUS_CONFLICT', 'supervisor'],
      ['certificate.suspend', 'refused', 'CERTIFICATE_STATUS_CONFLICT', 'supervisor'],
      ['certificate.revoke', 'refused', 'CERTIFICATE_STATUS_CONFLICT', 'supervisor'],
    ]);
    // A list that does not exist.
    const none = await fetch(new URL('/v1/certificates/status-lists/9999', endpointOf(ANJI)));
    expect(none.status).toBe(404);
  }, 60_000);

  it('only the holder gets the SD-JWT (from /mine and /{id}); staff of Anji get metadata and status; anyone else nothing', async () => {
    const certificate = await issuedToHolder();
    const path = `/v1/certificates/${encodeURIComponent(certificate.id)}`;
    const own = await api(ANJI, 'holder', 'GET', path);
    expect(own.status).toBe(200);
    expect(own.json.sdJwt).toBe(certificate.sdJwt);
    const staff = await api(ANJI, `${ANJI}/clerk`, 'GET', path);
    expect(staff.status).toBe(200);
    expect(staff.json.sdJwt).toBeUndefined();
    expect(staff.json.metadata.id).toBe(certificate.id);
    expect(JSON.stringify(staff.json)).not.toContain(holder.idNumber);
    // Another citizen: not found (its existence is not revealed); their /mine does not list it.
    expect((await api(ANJI, 'stranger', 'GET', path)).json.code).toBe('CERTIFICATE_NOT_FOUND');
    const theirs = await api(ANJI, 'stranger', 'GET', '/v1/certificates/mine');
    expect(theirs.status).toBe(200);
    expect((theirs.json.certificates as any[]).map((c) => c.id)).not.toContain(certificate.id);
    // Staff of another node; staff asking for /mine; a citizen asking for the node's list.
    for (const [who, p] of [['foreign-staff', path], ['foreign-staff', '/v1/certificates'], [`${ANJI}/clerk`, '/v1/certificates/mine'], ['holder', '/v1/certificates']] as const) {
      const r = await api(ANJI, who, 'GET', p);
      expect(r.status, `${who} ${p}`).toBe(403);
      expect(r.json.code).toBe('CERTIFICATE_FORBIDDEN');
    }
    const reads = (await t.auditEntries(ANJI)).filter((e) => e.kind === 'certificate.read' && e.detail?.certificate === certificate.id);
    expect(reads.map((e) => [e.outcome, e.actor?.role ?? null, e.detail.sdJwt ?? null])).toEqual([
      ['allowed', 'holder', true],
      ['allowed', 'clerk', false],
      ['refused', 'holder', null],
      ['refused', 'approver', null],
    ]);
    // Staff of another node are named as who they are (their hub subject), refused at Anji.
    expect(reads.at(-1).actor.subject).not.toMatch(/^client:/);
  }, 60_000);

  it('binding with a valid proof adds cnf and keeps id, index and disclosures; a second binding and bad proofs are refused', async () => {
    const certificate = await issuedToHolder();
    const key = await generateSigningKey('Ed25519', 'holder');
    const other = await generateSigningKey('Ed25519', 'holder');
    const path = `/v1/certificates/${encodeURIComponent(certificate.id)}/bind`;
    const bind = (who: string, body: unknown) => api(ANJI, who, 'POST', path, body);
    const proof = (signer: SigningKey, payload: Record<string, unknown>, typ = 'tongban-holder-proof+jwt') => signJws(signer, new TextEncoder().encode(JSON.stringify(payload)), { typ });
    const now = Math.floor(Date.now() / 1000);
    const good = { aud: `urn:tongban:node:${ANJI}`, certificateId: certificate.id, iat: now };
    for (const [why, body] of [
      ['signed by another key', { jwk: key.publicJwk, proof: await proof(other, good) }],
      ['for another issuer', { jwk: key.publicJwk, proof: await proof(key, { ...good, aud: `urn:tongban:node:${SANDU}` }) }],
      ['for another certificate', { jwk: key.publicJwk, proof: await proof(key, { ...good, certificateId: 'another' }) }],
      ['ten minutes old', { jwk: key.publicJwk, proof: await proof(key, { ...good, iat: now - 600 }) }],
      ['of another typ', { jwk: key.publicJwk, proof: await proof(key, good, 'JWT') }],
      ['not a JWS', { jwk: key.publicJwk, proof: 'not.a-jws' }],
    ] as const) {
      const r = await bind('holder', body);
      expect(r.status, why).toBe(422);
      expect(r.json.code, why).toBe('CERTIFICATE_KEY_BINDING_INVALID');
    }
    const valid = { jwk: key.publicJwk, proof: await makeHolderProof(key, ANJI, certificate.id, new Date()) };
    expect((await bind('stranger', valid)).json.code).toBe('CERTIFICATE_NOT_FOUND');
    expect((await bind(`${ANJI}/approver`, valid)).json.code).toBe('CERTIFICATE_FORBIDDEN');

    const bound = await bind('holder', valid);
    expect(bound.status, JSON.stringify(bound.json)).toBe(200);
    expect(bound.json).toMatchObject({ id: certificate.id, bound: true, statusList: certificate.statusList, metadata: certificate.metadata });
    const before = decodeCertificate(certificate.sdJwt);
    const after = decodeCertificate(bound.json.sdJwt);
    expect(after.boundJwk).toEqual(key.publicJwk);
    expect(after.payload).toEqual({ ...before.payload, cnf: { jwk: key.publicJwk } });
    expect(bound.json.sdJwt.split('~').slice(1)).toEqual(certificate.sdJwt.split('~').slice(1));
    // The holder's own copy is the bound one now; presenting it takes the key.
    expect((await api(ANJI, 'holder', 'GET', `/v1/certificates/${encodeURIComponent(certificate.id)}`)).json.sdJwt).toBe(bound.json.sdJwt);
    const audience = 'urn:tongban:node:320400';
    const verified = await verify(await presentCertificate(bound.json.sdJwt, { disclose: ['holderName'], holderKey: key, audience, now: new Date() }), audience);
    expect(verified).toMatchObject({ keyBound: true, disclosed: { holderName: holder.name }, status: 'valid' });
    await expect(presentCertificate(bound.json.sdJwt, { disclose: ['holderName'], holderKey: other, audience, now: new Date() })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });

    const twice = await bind('holder', { jwk: other.publicJwk, proof: await makeHolderProof(other, ANJI, certificate.id, new Date()) });
    expect(twice.status).toBe(409);
    expect(twice.json.code).toBe('CERTIFICATE_ALREADY_BOUND');
    const audited = (await t.auditEntries(ANJI)).filter((e) => e.kind === 'certificate.bind' && e.detail?.certificate === certificate.id);
    expect(audited.filter((e) => e.outcome === 'allowed')).toHaveLength(1);
    expect(audited.at(-1)).toMatchObject({ outcome: 'refused', code: 'CERTIFICATE_ALREADY_BOUND', actor: { role: 'holder', subject: holder.subject } });
  }, 60_000);
}
