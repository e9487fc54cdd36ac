import { randomBytes, randomUUID } from 'node:crypto';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  certificateIssuedMessage,
  certificateTypeById,
  CERTIFICATE_ISSUED_KIND,
  issuerKeyFor,
  verifyTrustList,
  type TrustList,
} from '../src/certificates/index.ts';
import { subjectHash } from '../src/audit/index.ts';
import { demoCertificateIssuers } from '../src/federation/demo.ts';
import { buildCreditCode, buildLicenseId } from '../src/standards/index.ts';
import { certificateSubjectHash } from '../src/tracker/index.ts';
import { signedRequestHeaders } from '../src/exchange/index.ts';
import { hubTokens, type HubTokens } from './support/citizen-tokens.ts';
import { cliClient, signIn } from './support/identity.ts';
import { startTestFederation, type Backend, type TestFederation } from './support/federation.ts';

const HUB = '100000';
const SANDU = '522732';
const ANJI = '330523';
const CHANGZHOU = '320400';
const QINGPU = '310118';
const NEVER = '440300';
const MARRIAGE = 'urn:tongban:certificate:marriage';
const HOUSEHOLD_MOVE = 'urn:tongban:certificate:household-move';
const DAY = 86_400_000;

/**
 * E-certificates at the hub (docs/certificates.md), over a real federation: the administrator
 * authorises issuers, the trust list is signed with the hub's directory key and follows every
 * change (a version up each time, a rotated key retired, a withdrawn issuer gone), nodes verify it
 * with the key their directory gives the hub; issuers report certificates (`certificate.issued`)
 * and the hub files only what an authorised issuer may issue; a citizen's wallet lists their own
 * certificates only; the tracker reads what a node filed under a certificate's hash for its holder.
 */
export function certificateTrustContract(backend: Backend): void {
  let t: TestFederation;
  let tokens: HubTokens;
  let alice: string;
  let bob: string;
  const issuers = new Map<string, { authorityCode: string }>();

  const hub = async (method: 'GET' | 'POST', path: string, options: { token?: string; body?: unknown } = {}) => {
    const response = await fetch(new URL(path, t.f.hub.endpoint), {
      method,
      headers: { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...(options.body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
    const text = await response.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, type: response.headers.get('content-type') ?? '', text, json };
  };
  const admin = (path: string, body: unknown = {}) => hub('POST', path, { token: t.f.adminToken(), body });
  /** The trust list as a node verifies it: signed with the hub key that Anji's verified directory lists for the hub. */
  const trustList = async (): Promise<{ jws: string; list: TrustList }> => {
    const answer = await hub('GET', '/v1/certificates/trust-list');
    expect(answer.status).toBe(200);
    expect(answer.type).toMatch(/^application\/jwt/);
    const view = await t.f.nodes.get(ANJI)!.runtime!.exchange.directory.current();
    const hubKey = view.hub()!.signingKey;
    expect(decodeProtectedHeader(answer.text).kid).toBe(hubKey.kid);
    return { jws: answer.text, list: await verifyTrustList(answer.text, hubKey.jwk, new Date()) };
  };
  const entryOf = (list: TrustList, division: string) => list.issuers.find((i) => i.division === division);
  /** A GB/T 36904 id for a certificate of `type` by the issuer with `authorityCode`. */
  const certificateId = (type: string, authorityCode: string) =>
    buildLicenseId({ typeCode: certificateTypeById(type)!.typeCode, issuerCode: authorityCode, serial: randomBytes(6).toString('hex').toUpperCase(), version: '001' });
  const report = (overrides: Record<string, unknown> = {}) => ({
    certificateId: certificateId('marriage', issuers.get(ANJI)!.authorityCode),
    vct: MARRIAGE,
    holderIdNumber: alice,
    issuedAt: new Date().toISOString(),
    expiresAt: new Date(Date.now() + 365 * DAY).toISOString(),
    ...overrides,
  });
  /** `from` reports a certificate to the hub's inbox directly, signed (what its outbox sends). */
  const send = (from: string, payload: unknown, id: string = randomUUID()) =>
    t.raw({ from, to: HUB, path: '/v1/messages/inbox', body: { id, kind: CERTIFICATE_ISSUED_KIND, conversation: 'certificate:index', from, to: HUB, payload } });
  const wallet = (token: string | undefined) => hub('GET', '/v1/wallet', token ? { token } : {});

  beforeAll(async () => {
    t = await startTestFederation(backend);
    tokens = await hubTokens(t);
    for (const issuer of demoCertificateIssuers(t.f.config)) issuers.set(issuer.division, issuer);
    const { sampleSubjects } = await import('../src/demo/registries.ts');
    [alice, bob] = sampleSubjects(t.f.registryPath(SANDU), 2).people.map((p) => p.idNumber) as [string, string];
  }, 300_000);
  afterAll(async () => {
    await t?.stop();
  });

  it("serves the trust list as application/jwt, signed with the hub's directory key: every demo issuer, its types and its directory key", async () => {
    const { list } = await trustList();
    expect(list.issuer).toBe(HUB);
    expect(Date.parse(list.nextUpdate) - Date.parse(list.issuedAt)).toBe(3600_000);
    const view = await t.f.nodes.get(ANJI)!.runtime!.exchange.directory.current();
    expect(list.issuers.map((i) => i.division).sort()).toEqual([SANDU, ANJI, CHANGZHOU, QINGPU].sort());
    for (const division of [ANJI, CHANGZHOU]) {
      const entry = entryOf(list, division)!;
      expect(entry.types).toEqual(expect.arrayContaining(['marriage', 'household-move', 'social-insurance', 'no-criminal-record'].map((id) => certificateTypeById(id)!.vct)));
      expect(entry).toMatchObject({ name: view.node(division)!.name, authorityCode: issuers.get(division)!.authorityCode });
      expect(entry.keys).toEqual([{ kid: view.node(division)!.signingKey.kid, jwk: view.node(division)!.signingKey.jwk, from: expect.any(String) }]);
    }
    // Changzhou signs with SM2: its key is published as it is.
    expect(entryOf(list, CHANGZHOU)!.keys[0]!.jwk).toMatchObject({ crv: 'SM2' });
    // A node holds the same list, verified with its own directory's hub key.
    expect((await t.f.nodes.get(CHANGZHOU)!.runtime!.certificates.trustList.refresh()).version).toBe(list.version);
    // Another key than the hub's does not verify it.
    await expect(verifyTrustList((await trustList()).jws, view.node(ANJI)!.signingKey.jwk, new Date())).rejects.toMatchObject({ code: 'TRUST_LIST_INVALID' });
  });

  it('only the administrator authorises; every change raises the version, the same terms again change nothing, and bad terms are refused', async () => {
    const before = (await trustList()).list.version;
    const qingpu = { ...demoCertificateIssuers(t.f.config).find((i) => i.division === QINGPU)!, types: ['business-licence', 'social-insurance', 'household-move'] };
    for (const token of [undefined, t.f.operatorToken(HUB), t.f.operatorToken(QINGPU), await tokens.signInCitizen(alice)]) {
      expect((await hub('POST', '/v1/certificates/issuers', { ...(token ? { token } : {}), body: qingpu })).status).toBe(401);
      expect((await hub('POST', `/v1/certificates/issuers/${QINGPU}/withdraw`, { ...(token ? { token } : {}), body: {} })).status).toBe(401);
    }
    expect((await trustList()).list.version).toBe(before);

    const changed = await admin('/v1/certificates/issuers', qingpu);
    expect(changed.status, changed.text).toBe(200);
    expect(changed.json).toMatchObject({ division: QINGPU, changed: true, withdrawnAt: null, authorisedBy: 'admin-token' });
    const after = (await trustList()).list;
    expect(after.version).toBe(before + 1);
    expect(entryOf(after, QINGPU)!.types).toContain(HOUSEHOLD_MOVE);
    const again = await admin('/v1/certificates/issuers', qingpu);
    expect(again.json.changed).toBe(false);
    // The types as the answer names them (vct) are the same terms: sent back, nothing changes.
    const echoed = await admin('/v1/certificates/issuers', { ...qingpu, types: changed.json.types });
    expect(echoed.status, echoed.text).toBe(200);
    expect(echoed.json.changed).toBe(false);
    expect((await trustList()).list.version).toBe(before + 1);

    const refused = async (body: unknown) => (await admin('/v1/certificates/issuers', body)).json;
    expect(await refused({ ...qingpu, authorityCode: '11310118MB3101181Z' })).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    expect(await refused({ ...qingpu, authorityCode: issuers.get(ANJI)!.authorityCode })).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', errors: [{ path: 'authorityCode' }] });
    // An unknown type: the refusal names the valid ones.
    expect(await refused({ ...qingpu, types: ['passport'] })).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', errors: [{ path: 'body.types.0', message: expect.stringContaining('marriage') }] });
    expect(await refused({ ...qingpu, types: ['marriage', 'urn:tongban:certificate:marriage'] })).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    // A division the directory has not approved (never enrolled).
    expect(await refused({ ...qingpu, division: NEVER, authorityCode: buildCreditCode('1', '1', NEVER, `MB${NEVER}`) })).toMatchObject({ status: 403, code: 'NODE_NOT_APPROVED' });
    expect((await trustList()).list.version).toBe(before + 1);
    const audit = (await t.auditEntries(HUB)).filter((e) => e.kind === 'certificate.issuer.authorise' && e.requester === QINGPU);
    expect(audit.at(-1)).toMatchObject({ outcome: 'allowed', actor: { subject: 'admin-token', role: 'administrator' }, detail: { types: expect.stringContaining(HOUSEHOLD_MOVE) } });
  });

  it('files a certificate.issued from an issuer authorised for its type, and refuses one from any other node or naming another authority', async () => {
    const good = report();
    const filed = await send(ANJI, good);
    expect(filed.status, filed.text).toBe(200);
    expect(filed.json).toMatchObject({ result: 'applied' });
    const hubStore = t.f.hub.runtime!.store;
    expect(await hubStore.certificateIndex.get(good.certificateId)).toMatchObject({ issuer: ANJI, vct: MARRIAGE });
    // The holder's number is filed only as the hub's keyed hash.
    expect(JSON.stringify(await hubStore.certificateIndex.get(good.certificateId))).not.toContain(alice);
    // The same report again (another message): nothing changes.
    expect((await send(ANJI, good)).json).toMatchObject({ result: 'stale' });

    // Qingpu is not authorised for marriage certificates; Sandu may be, but not under Anji's authority code.
    const untrusted = await send(QINGPU, report({ certificateId: certificateId('marriage', issuers.get(QINGPU)!.authorityCode) }));
    expect(untrusted.status).toBe(422);
    expect(untrusted.json.code).toBe('CERTIFICATE_ISSUER_UNTRUSTED');
    const borrowed = await send(SANDU, report());
    expect(borrowed.json.code).toBe('CERTIFICATE_ISSUER_UNTRUSTED');
    // Another type's code under the type it claims.
    expect((await send(ANJI, report({ certificateId: certificateId('social-insurance', issuers.get(ANJI)!.authorityCode) }))).json.code).toBe('CERTIFICATE_ISSUER_UNTRUSTED');
    // Someone else's id claimed again by another issuer changes nothing.
    expect((await send(CHANGZHOU, { ...good, certificateId: good.certificateId })).json.code).toBe('CERTIFICATE_ISSUER_UNTRUSTED');
    expect((await send(ANJI, report({ holderIdNumber: '110105194912310020' }))).json.code).toBe('VALIDATION_FAILED');
    expect((await send(ANJI, report({ certificateId: 'not-an-id' }))).json.code).toBe('VALIDATION_FAILED');
    expect(await hubStore.certificateIndex.get(good.certificateId)).toMatchObject({ issuer: ANJI });

    const entries = (await t.auditEntries(HUB)).filter((e) => e.kind === 'certificate.index');
    expect(entries.filter((e) => e.outcome === 'allowed' && e.detail.certificate === good.certificateId)).toHaveLength(1);
    expect(entries.some((e) => e.outcome === 'refused' && e.requester === QINGPU && e.code === 'CERTIFICATE_ISSUER_UNTRUSTED')).toBe(true);
    expect(JSON.stringify(entries)).not.toContain(alice);
  });

  it("an issuer's outbox delivers certificate.issued to the hub (certificateIssuedMessage), filed for the wallet", async () => {
    const anji = t.f.nodes.get(ANJI)!.runtime!;
    const payload = report({ certificateId: certificateId('household-move', issuers.get(ANJI)!.authorityCode), vct: HOUSEHOLD_MOVE, expiresAt: new Date(Date.now() + 40 * DAY).toISOString() });
    await anji.store.transaction((tx) => anji.messages.send(tx, certificateIssuedMessage(HUB, payload)));
    anji.messages.kick();
    for (let i = 0; i < 100 && !(await t.f.hub.runtime!.store.certificateIndex.get(payload.certificateId)); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await t.f.hub.runtime!.store.certificateIndex.get(payload.certificateId)).toMatchObject({ issuer: ANJI, vct: HOUSEHOLD_MOVE });
    expect(() => certificateIssuedMessage(HUB, { ...payload, certificateId: 'x' })).toThrow(/certificateId/);
  });

  it("lists a citizen's own certificates in their wallet, never another's; staff and machine clients are refused", async () => {
    const bobs = report({ holderIdNumber: bob });
    expect((await send(ANJI, bobs)).status).toBe(200);
    const mine = await wallet(await tokens.signInCitizen(alice));
    expect(mine.status, mine.text).toBe(200);
    expect(mine.json.total).toBe(2);
    const anji = (await t.f.nodes.get(ANJI)!.runtime!.exchange.directory.current()).node(ANJI)!;
    expect(mine.json.certificates[0]).toMatchObject({ vct: HOUSEHOLD_MOVE, typeName: certificateTypeById('household-move')!.name, issuer: ANJI, issuerName: anji.name, endpoint: anji.endpoint });
    expect(mine.json.certificates.map((c: any) => c.vct).sort()).toEqual([HOUSEHOLD_MOVE, MARRIAGE].sort());
    expect(mine.json.certificates.some((c: any) => c.certificateId === bobs.certificateId)).toBe(false);
    expect(mine.text).not.toContain(alice);
    const his = await wallet(await tokens.signInCitizen(bob));
    expect(his.json.certificates.map((c: any) => c.certificateId)).toEqual([bobs.certificateId]);
    // Staff signed in at the hub (Anji's clerk, enrolled by Anji), the hub's own machine client, the anonymous.
    const staffUrl = new URL('/v1/identity/staff', t.f.hub.endpoint).toString();
    const staffBody = JSON.stringify({ login: 'wallet@330523', name: '王', password: 'wallet-staff-password', roles: ['clerk'] });
    expect((await fetch(staffUrl, { method: 'POST', headers: await signedRequestHeaders(t.key(ANJI), staffUrl, staffBody, new Date()), body: staffBody })).status).toBe(201);
    const staff = (await signIn(t.f.hub.endpoint, 'wallet@330523', 'wallet-staff-password', cliClient())).accessToken;
    // The hub's authenticator refuses staff of a node before the wallet is asked.
    expect((await wallet(staff)).json).toMatchObject({ status: 403, code: 'STAFF_OF_ANOTHER_NODE' });
    const machine = (await t.operator(HUB, '/v1/operator/accounts', { id: 'wallet-clerk', role: 'clerk', name: '王' })).json.token as string;
    expect((await wallet(machine)).json).toMatchObject({ status: 403, code: 'CERTIFICATE_FORBIDDEN' });
    expect((await wallet(undefined)).status).toBe(401);
    expect((await t.auditEntries(HUB)).filter((e) => e.kind === 'certificate.wallet').at(-1)).toMatchObject({ outcome: 'allowed', actor: { role: 'citizen' } });
  });

  it("the tracker shows a node's entry filed under a certificate's hash to its holder, and to nobody else", async () => {
    const certificate = (await t.f.hub.runtime!.store.certificateIndex.listBySubject(aliceKey(), { limit: 1, offset: 0 })).certificates[0]!.certificateId;
    // A verification at Changzhou that withheld the holder's ID number (docs/certificates.md): filed under the certificate's hash.
    const changzhou = t.f.nodes.get(CHANGZHOU)!.runtime!;
    await changzhou.audit.append({ kind: 'certificate.verify', outcome: 'allowed', subjectHash: certificateSubjectHash(changzhou.auditKey, certificate), purpose: '婚姻登记', detail: { certificate, fields: 'holderName,registrationDate' } });
    const tracker = async (idNumber: string) => (await hub('GET', '/v1/tracker?limit=200', { token: await tokens.signInCitizen(idNumber) })).json;
    const hers = await tracker(alice);
    expect(hers.sources.every((s: any) => s.status === 'ok')).toBe(true);
    const row = hers.entries.find((e: any) => e.kind === 'certificate.verify');
    expect(row).toMatchObject({ node: CHANGZHOU, outcome: 'allowed', purpose: '婚姻登记', fields: ['holderName', 'registrationDate'] });
    // The hub's own filing of her certificates shows too.
    expect(hers.entries.filter((e: any) => e.kind === 'certificate.index' && e.node === HUB).length).toBeGreaterThanOrEqual(2);
    const his = await tracker(bob);
    expect(his.entries.some((e: any) => e.kind === 'certificate.verify')).toBe(false);
  });

  it("a rotation of an issuer's directory key keeps the old key, retired, verifying what it signed before; the new key is current", async () => {
    const before = (await trustList()).list;
    const old = entryOf(before, QINGPU)!.keys.find((k) => !k.retiredAt)!;
    const asked = await t.operator(QINGPU, '/v1/operator/keys/rotate', { currentKid: old.kid });
    expect(asked.status, JSON.stringify(asked.json)).toBe(200);
    const approved = await admin(`/v1/directory/changes/${QINGPU}/approve`);
    expect(approved.status, approved.text).toBe(200);
    const after = (await trustList()).list;
    expect(after.version).toBe(before.version + 1);
    const keys = entryOf(after, QINGPU)!.keys;
    const retired = keys.find((k) => k.kid === old.kid)!;
    const current = keys.find((k) => k.kid === approved.json.signingKid)!;
    expect(current).toBeDefined();
    expect(current.retiredAt).toBeUndefined();
    // The longest validity of Qingpu's types (a business licence, 7300 days) from the retirement on.
    expect(Date.parse(retired.verifyUntil!) - Date.parse(retired.retiredAt!)).toBe(certificateTypeById('business-licence')!.validityDays * DAY);
    const vct = certificateTypeById('business-licence')!.vct;
    const now = new Date();
    const retiredAt = new Date(retired.retiredAt!);
    expect(issuerKeyFor(after, QINGPU, old.kid, vct, new Date(retiredAt.getTime() - 1000), now)).toEqual(old.jwk);
    expect(issuerKeyFor(after, QINGPU, old.kid, vct, retiredAt, now)).toBeUndefined();
    expect(issuerKeyFor(after, QINGPU, current.kid, vct, now, now)).toEqual(current.jwk);
    // The directory's key for Qingpu is the new one.
    await t.operator(ANJI, '/v1/operator/directory/refresh', {});
    expect((await t.f.nodes.get(ANJI)!.runtime!.exchange.directory.current()).node(QINGPU)!.signingKey.kid).toBe(current.kid);
    expect((await t.auditEntries(HUB)).filter((e) => e.kind === 'certificate.issuer.key').at(-1)).toMatchObject({ requester: QINGPU, detail: { kid: current.kid, retired: old.kid } });
  }, 60_000);

  it('withdrawing an issuer takes it off the trust list at once (and off the nodes’ copies when they refresh); authorising it again brings its current key only', async () => {
    const before = (await trustList()).list;
    const withdrawn = await admin(`/v1/certificates/issuers/${QINGPU}/withdraw`);
    expect(withdrawn.status, withdrawn.text).toBe(200);
    expect(withdrawn.json).toMatchObject({ changed: true, withdrawnAt: expect.any(String) });
    expect(withdrawn.json.keys.every((k: any) => k.verifyUntil !== null && Date.parse(k.verifyUntil) <= Date.now())).toBe(true);
    const after = (await trustList()).list;
    expect(after.version).toBe(before.version + 1);
    expect(entryOf(after, QINGPU)).toBeUndefined();
    expect((await admin(`/v1/certificates/issuers/${QINGPU}/withdraw`)).json.changed).toBe(false);
    expect((await trustList()).list.version).toBe(after.version);
    expect((await admin(`/v1/certificates/issuers/${NEVER}/withdraw`)).json).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    const node = t.f.nodes.get(SANDU)!.runtime!.certificates.trustList;
    expect(entryOf(await node.refresh(), QINGPU)).toBeUndefined();
    // A withdrawn issuer's reports are refused.
    const licence = { certificateId: certificateId('business-licence', issuers.get(QINGPU)!.authorityCode), vct: certificateTypeById('business-licence')!.vct, holderIdNumber: issuers.get(QINGPU)!.authorityCode };
    expect((await send(QINGPU, report(licence))).json.code).toBe('CERTIFICATE_ISSUER_UNTRUSTED');

    const again = await admin('/v1/certificates/issuers', demoCertificateIssuers(t.f.config).find((i) => i.division === QINGPU)!);
    expect(again.json.changed).toBe(true);
    const back = entryOf((await trustList()).list, QINGPU)!;
    const directoryKey = (await t.f.nodes.get(ANJI)!.runtime!.exchange.directory.current()).node(QINGPU)!.signingKey;
    expect(back.keys).toEqual([expect.objectContaining({ kid: directoryKey.kid })]);
  }, 60_000);

  /** The hub's keyed hash of Alice's ID number (as its certificate index files holders). */
  const aliceKey = () => subjectHash(t.f.hub.runtime!.auditKey, 'idNumber', alice);
}
