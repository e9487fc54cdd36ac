import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from './support/consent.ts';
import { presentCertificate } from '../src/certificates/index.ts';
import { buildCreditCode, withResidentIdCheck } from '../src/standards/index.ts';
import { signedInCitizen, type SignedInCitizen } from './support/citizen-tokens.ts';
import { startTestFederation, type TestFederation } from './support/federation.ts';
import { cliClient, signIn } from './support/identity.ts';

const HUB = '100000';
const ANJI = '330523';
const CHANGZHOU = '320400';
const OWNER = { idNumber: withResidentIdCheck('33052319880808121'), name: '张晓峰' };
const STRANGER = { idNumber: withResidentIdCheck('32040019790101353'), name: '赵一鸣' };
const VICTIM = { idNumber: withResidentIdCheck('11010519900909242'), name: '陆婉清' };
type Json = any;
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/**
 * Found by an attacker's review of the e-certificates and kept as regressions: a forged presentation
 * refused early must not reach anyone's data tracker; a certificate that cannot be tied to the
 * applicant is not case evidence; an entity's certificate still reaches its holder's wallet.
 */
describe('[sqlite] e-certificates: attacks that must fail', () => {
  let t: TestFederation;
  let owner: SignedInCitizen;
  let victim: SignedInCitizen;
  let anjiClerk: string, anjiApprover: string, czToken: string;
  const endpointOf = (d: string) => (d === HUB ? t.f.hub.endpoint : t.f.nodes.get(d)!.endpoint);
  const http = async (d: string, method: string, path: string, o: { token?: string; body?: unknown } = {}) => {
    const r = await fetch(new URL(path, endpointOf(d)), { method, headers: { ...(o.token ? { authorization: `Bearer ${o.token}` } : {}), ...(o.body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(o.body === undefined ? {} : { body: JSON.stringify(o.body) }) });
    const text = await r.text();
    let json: Json; try { json = JSON.parse(text); } catch { json = undefined; }
    return { status: r.status, text, json };
  };
  const step = async (d: string, token: string, id: string, action: string, body: unknown = {}) => {
    const a = await http(d, 'POST', `/v1/cases/${id}/actions/${action}`, { token, body });
    expect(a.status, `${action}: ${a.text}`).toBe(200);
    return a.json;
  };
  const account = async (d: string, id: string, role: string) => (await t.operator(d, '/v1/operator/accounts', { id, role, name: id })).json.token as string;

  beforeAll(async () => {
    t = await startTestFederation('sqlite', { certificates: { statusMaxAgeSeconds: 1 } } as Json);
    owner = await signedInCitizen(t.f, OWNER);
    victim = await signedInCitizen(t.f, VICTIM);
    anjiClerk = await account(ANJI, 'a-clerk', 'clerk');
    anjiApprover = await account(ANJI, 'a-approver', 'approver');
    const enrolled = await t.operator(CHANGZHOU, '/v1/operator/staff', { login: 'liwei', name: '李伟', password: 'changzhou-clerk-password-1', roles: ['clerk'] });
    expect(enrolled.status).toBe(201);
    czToken = (await signIn(t.f.hub.endpoint, `liwei@${CHANGZHOU}`, 'changzhou-clerk-password-1', cliClient())).accessToken;
  }, 300_000);
  afterAll(async () => { await t?.stop(); });

  it('a forged presentation refused before its signature is checked (a spent challenge) files nothing under the citizen it names', async () => {
    // Nothing signed by anyone: a header, a payload, a junk signature, and a disclosure of the victim's ID number.
    const salt = 'c2FsdHNhbHRzYWx0c2FsdA';
    const disclosure = b64([salt, 'holderIdNumber', VICTIM.idNumber]);
    const payload = {
      iss: 'urn:tongban:node:110000', vct: 'urn:tongban:certificate:no-criminal-record', iat: 1, nbf: 1, exp: 4102444800, jti: 'FORGED-ID',
      status: { status_list: { idx: 0, uri: 'https://x.example/s/1' } },
      certificate: { id: 'FORGED-ID', number: 'X', typeCode: 'X', typeName: '无犯罪记录证明', authority: '北京市公安局', authorityCode: 'X', issuedOn: '2025-01-01', validFrom: '2025-01-01', validUntil: '2026-01-01', division: '110000', holderCodeType: '111', relatedItem: 'N035' },
      _sd: ['A'.repeat(43)], _sd_alg: 'sha-256',
    };
    const forged = `${b64({ alg: 'EdDSA', typ: 'dc+sd-jwt', kid: '110000:x' })}.${b64(payload)}.AAAA~${disclosure}~`;
    const r = await http(CHANGZHOU, 'POST', '/v1/certificates/verify', { token: czToken, body: { presentation: forged, reason: '政审核验 犯罪记录', nonce: 'x'.repeat(16) } });
    expect([r.status, r.json?.code]).toEqual([422, 'CERTIFICATE_KEY_BINDING_INVALID']);
    // Refused and audited, naming no certificate and no subject: nothing in it is an issuer's.
    const entry = (await t.auditEntries(CHANGZHOU)).findLast((e: Json) => e.kind === 'certificate.verify');
    expect(entry).toMatchObject({ outcome: 'refused', code: 'CERTIFICATE_KEY_BINDING_INVALID' });
    expect(entry.subjectHash).toBeUndefined();
    expect(entry.provider).toBeUndefined();
    expect(JSON.stringify(entry)).not.toContain('FORGED-ID');
    const tracker = await http(HUB, 'GET', '/v1/tracker?limit=200', { token: await victim.accessToken() });
    expect(tracker.status).toBe(200);
    expect((tracker.json.entries as Json[]).filter((e) => e.kind === 'certificate.verify')).toEqual([]);
  });

  it('a business licence is not taken as evidence for a person it cannot be tied to; it reaches its holder’s wallet', async () => {
    const creditCode = buildCreditCode('9', '1', ANJI, '12345678');
    const applied = await http(ANJI, 'POST', '/v1/cases', { token: anjiClerk, body: { itemCode: 'N001', mode: 'online', competentNodes: [ANJI], applicant: OWNER } });
    expect(applied.status, applied.text).toBe(201);
    const c = applied.json.case;
    await step(ANJI, anjiClerk, c.id, 'precheck', { materials: c.materials.map((m: Json) => ({ name: m.name, checked: true })), identityVerified: true });
    await step(ANJI, anjiClerk, c.id, 'accept');
    await step(ANJI, anjiApprover, c.id, 'start-review');
    await step(ANJI, anjiApprover, c.id, 'decide', { outcome: 'grant', reason: 'ok' });
    const concluded = await http(ANJI, 'POST', `/v1/cases/${c.id}/actions/conclude`, { token: anjiApprover, body: { result: { code: 'J01', description: '准予登记' }, certificateFields: { entityName: '安吉竹业有限公司', creditCode, legalRepresentative: OWNER.name, entityType: '有限责任公司' } } });
    expect(concluded.status, concluded.text).toBe(200);
    const mine = await http(ANJI, 'GET', '/v1/certificates/mine', { token: await owner.accessToken() });
    const cert = mine.json.certificates.find((x: Json) => x.caseId === c.id);
    expect(cert.vct).toBe('urn:tongban:certificate:business-licence');
    // The presentation the owner once handed over (unbound: no key binding possible for the stranger to need).
    const presentation = await presentCertificate(cert.sdJwt, { disclose: ['entityName', 'creditCode', 'legalRepresentative', 'entityType'], now: new Date() });

    // A stranger's N001 case at Changzhou: the clerk takes someone else's licence as evidence.
    const other = await http(CHANGZHOU, 'POST', '/v1/cases', { token: czToken, body: { itemCode: 'N001', mode: 'online', competentNodes: [CHANGZHOU], applicant: STRANGER } });
    expect(other.status, other.text).toBe(201);
    const taken = await http(CHANGZHOU, 'POST', `/v1/cases/${other.json.case.id}/certificates`, { token: czToken, body: { presentation } });
    expect([taken.status, taken.json?.code]).toEqual([422, 'CERTIFICATE_HOLDER_MISMATCH']);
    const after = await http(CHANGZHOU, 'GET', `/v1/cases/${other.json.case.id}`, { token: czToken });
    expect(after.json.evidence ?? after.json.case?.evidence ?? []).toEqual([]);

    // The hub files the licence under the citizen who holds it: it is in their wallet.
    const listed = await until(async () => {
      const wallet = await http(HUB, 'GET', '/v1/wallet', { token: await owner.accessToken() });
      return (wallet.json?.certificates as Json[] | undefined)?.find((w) => w.certificateId === cert.id);
    }, 20_000, 'the business licence in its holder’s wallet');
    expect(listed.vct).toBe('urn:tongban:certificate:business-licence');
  }, 120_000);
});
