import { createHash, createPublicKey, verify as verifySignature, type JsonWebKey } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateTypeById, issueCertificate, presentCertificate } from '../src/certificates/index.ts';
import { generateSigningKey } from '../src/crypto/index.ts';
import { buildLicenseId, withResidentIdCheck } from '../src/standards/index.ts';
import { metadataFor, personalValues, statusUri } from './support/certificate-fixtures.ts';
import { signedInCitizen, type SignedInCitizen } from './support/citizen-tokens.ts';
import { freePortRun } from './free-ports.ts';
import { runTongban } from './support/cli.ts';
import { startTestFederation, type Backend, type TestFederation } from './support/federation.ts';
import { cliClient, signIn } from './support/identity.ts';
import { describePostgres, postgresUrl } from './support/postgres.ts';

const HUB = '100000';
const SANDU = '522732';
const ANJI = '330523';
const CHANGZHOU = '320400';
/** How long a verifier relies on a fetched status list here: small, so that a change shows within the test. */
const STATUS_MAX_AGE_SECONDS = 1;
const MARRIAGE = certificateTypeById('marriage')!;

/** The holder (a citizen of Anji), their spouse (the value withheld), and an unrelated applicant. */
const HOLDER = { idNumber: withResidentIdCheck('33052319880808121'), name: '张晓峰' };
const SPOUSE = { idNumber: withResidentIdCheck('11010519900909242'), name: '陆婉清' };
const OTHER = { idNumber: withResidentIdCheck('32040019790101353'), name: '赵一鸣' };
const REGISTERED = '2025-10-01';

type Json = any;

/**
 * E-certificates end to end between separate servers (issue 13): a citizen's N037 marriage case is
 * granted and concluded at Anji (Ed25519), which issues a 结婚证; the holder presents it to
 * Changzhou (SM2) withholding their spouse's ID number; Changzhou verifies it for a stated reason
 * with its staff member on record, and keeps none of the values; the independent @sd-jwt/sd-jwt-vc
 * verifies the same presentation with nothing but the hub's published trust list; tampering, an
 * untrusted issuer and expiry are refused with distinct codes; revocation, suspension and
 * reinstatement at Anji show at Changzhou once its copy of the status list is refreshed; a
 * key-bound certificate needs Changzhou's challenge; a Changzhou case takes the certificate as
 * evidence, with its data in both nodes' copies; the holder's data tracker lists every verification.
 */
function certificatesEndToEnd(backend: Backend): void {
  let t: TestFederation;
  let holder: SignedInCitizen;
  let verifierToken: string;
  let verifierSubject: string;
  let anjiClerk: string;
  let anjiApprover: string;
  let sanduClerk: string;
  let certificateId = '';
  let statusListUri = '';
  let caseId = '';
  /** The holder's CLI folder: their sign-in token is given as TONGBAN_TOKEN; their holder key is kept here. */
  const home = mkdtempSync(join(tmpdir(), 'tongban-holder-'));
  const reasons = new Set<string>();

  const endpointOf = (division: string) => (division === HUB ? t.f.hub.endpoint : t.f.nodes.get(division)!.endpoint);
  const http = async (division: string, method: 'GET' | 'POST', path: string, options: { token?: string; body?: unknown } = {}) => {
    const response = await fetch(new URL(path, endpointOf(division)), {
      method,
      headers: { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...(options.body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
    const text = await response.text();
    let json: Json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, type: response.headers.get('content-type') ?? '', text, json };
  };
  /** Changzhou's staff member verifies a presentation for a reason (用证事由). */
  const verifyAtChangzhou = async (presentation: string, reason: string, nonce?: string) => {
    reasons.add(reason);
    return http(CHANGZHOU, 'POST', '/v1/certificates/verify', { token: verifierToken, body: { presentation, reason, ...(nonce ? { nonce } : {}) } });
  };
  const cli = async (args: string[], token: string) => {
    const result = await runTongban([...args, '--federation', t.f.dir], { cwd: home, env: { TONGBAN_HOME: home, TONGBAN_TOKEN: token } });
    expect(result.code, `tongban ${args.join(' ')}: ${result.stderr}`).toBe(0);
    return result.stdout;
  };
  /** The holder's presentation with the CLI, disclosing `fields`. */
  const present = async (fields: string[], extra: string[] = []) => {
    const out = join(home, `presentation-${Math.random().toString(36).slice(2)}.sdjwt`);
    await cli(['cert', 'present', certificateId, '--node', ANJI, '--fields', fields.join(','), '--out', out, ...extra], await holder.accessToken());
    return readFileSync(out, 'utf8').trim();
  };
  /** Past Changzhou's bound on the age of a status list: its next verification fetches the list again. */
  const pastStatusAge = () => new Promise((resolve) => setTimeout(resolve, STATUS_MAX_AGE_SECONDS * 1000 + 300));
  const step = async (division: string, token: string, id: string, action: string, body: unknown = {}) => {
    const answer = await http(division, 'POST', `/v1/cases/${id}/actions/${action}`, { token, body });
    expect(answer.status, `${action} at ${division}: ${answer.text}`).toBe(200);
    return answer.json;
  };
  const until = async (check: () => Promise<boolean>, what: string) => {
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
      if (await check()) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`timed out waiting for ${what}`);
  };
  const account = async (division: string, id: string, role: string) => {
    const answer = await t.operator(division, '/v1/operator/accounts', { id, role, name: id });
    expect(answer.status, JSON.stringify(answer.json)).toBe(201);
    return answer.json.token as string;
  };

  beforeAll(async () => {
    // Fixed ports: the CLI finds the nodes through the federation folder's configs.
    t = await startTestFederation(backend, { portBase: await freePortRun(5), certificates: { statusMaxAgeSeconds: STATUS_MAX_AGE_SECONDS } });
    holder = await signedInCitizen(t.f, HOLDER);
    anjiClerk = await account(ANJI, 'e2e-anji-clerk', 'clerk');
    anjiApprover = await account(ANJI, 'e2e-anji-approver', 'approver');
    sanduClerk = await account(SANDU, 'e2e-sandu-clerk', 'clerk');
    // Changzhou's verifying staff member: a person enrolled by Changzhou's operator and signed in at the hub.
    const enrolled = await t.operator(CHANGZHOU, '/v1/operator/staff', { login: 'liwei', name: '李伟', password: 'changzhou-clerk-password-1', roles: ['clerk', 'approver'] });
    expect(enrolled.status, JSON.stringify(enrolled.json)).toBe(201);
    const signedIn = await signIn(t.f.hub.endpoint, `liwei@${CHANGZHOU}`, 'changzhou-clerk-password-1', cliClient());
    verifierToken = signedIn.accessToken;
    verifierSubject = String(signedIn.claims.sub);

    // The N037 marriage case at Anji: applied, checked, accepted, reviewed, granted and concluded.
    const applied = await http(ANJI, 'POST', '/v1/cases', { token: anjiClerk, body: { itemCode: 'N037', mode: 'online', competentNodes: [ANJI], applicant: HOLDER } });
    expect(applied.status, applied.text).toBe(201);
    const anjiCase = applied.json.case;
    await step(ANJI, anjiClerk, anjiCase.id, 'precheck', { materials: anjiCase.materials.map((m: Json) => ({ name: m.name, checked: true })), identityVerified: true });
    await step(ANJI, anjiClerk, anjiCase.id, 'accept');
    await step(ANJI, anjiApprover, anjiCase.id, 'start-review');
    await step(ANJI, anjiApprover, anjiCase.id, 'decide', { outcome: 'grant', reason: '符合结婚登记条件' });
    const concluded = await step(ANJI, anjiApprover, anjiCase.id, 'conclude', {
      result: { code: 'J01', description: '准予结婚登记，发给结婚证' },
      certificateFields: { spouseName: SPOUSE.name, spouseIdNumber: SPOUSE.idNumber, registrationDate: REGISTERED },
    });
    expect(concluded.case.state).toBe('concluded');
    const mine = await http(ANJI, 'GET', '/v1/certificates/mine', { token: await holder.accessToken() });
    expect(mine.status, mine.text).toBe(200);
    const certificate = mine.json.certificates.find((c: Json) => c.caseId === anjiCase.id);
    expect(certificate).toMatchObject({ vct: MARRIAGE.vct, status: 'valid', bound: false });
    certificateId = certificate.id;
    // The conclude's answer, and the case as Anji answers it, name the certificate: id, type, status only.
    expect(concluded.certificate).toEqual({ id: certificateId, vct: MARRIAGE.vct, status: 'valid' });
    expect((await http(ANJI, 'GET', `/v1/cases/${anjiCase.id}`, { token: anjiClerk })).json.certificate).toEqual({ id: certificateId, vct: MARRIAGE.vct, status: 'valid' });
    expect(certificate.sdJwt.split('~').filter(Boolean)).toHaveLength(6);
    statusListUri = certificate.statusList.uri;
  }, 300_000);
  afterAll(async () => {
    await t?.stop();
  });

  it('Changzhou verifies a presentation that withholds the spouse’s ID number, for a reason, with its staff member on record', async () => {
    const presentation = await present(['holderName', 'holderIdNumber', 'spouseName', 'registrationDate']);
    // What the holder hands over: the issuer-signed JWT and four disclosures, none of them the spouse's ID number.
    const disclosures = presentation.split('~').slice(1).filter(Boolean).map((d) => JSON.parse(Buffer.from(d, 'base64url').toString('utf8')) as string[]);
    expect(disclosures.map((d) => d[1]).sort()).toEqual(['holderIdNumber', 'holderName', 'registrationDate', 'spouseName']);
    expect(presentation.split('~')[0]!.split('.').map((part) => Buffer.from(part, 'base64url').toString('utf8')).join()).not.toContain(SPOUSE.idNumber);
    const answer = await verifyAtChangzhou(presentation, '人才引进落户 婚姻状况核验');
    expect(answer.status, answer.text).toBe(200);
    expect(answer.json).toMatchObject({ vct: MARRIAGE.vct, issuer: ANJI, status: 'valid', keyBound: false, certificate: { id: certificateId, typeName: '结婚证', division: ANJI, relatedItem: 'N037' } });
    expect(answer.json.disclosed).toEqual({ holderName: HOLDER.name, holderIdNumber: HOLDER.idNumber, spouseName: SPOUSE.name, registrationDate: REGISTERED });
    expect(answer.json.withheld).toEqual(['spouseIdNumber']);

    // Changzhou's audit log: who verified, why, which certificate and which fields — names only.
    const entries = await t.auditEntries(CHANGZHOU);
    const entry = entries.findLast((e: Json) => e.kind === 'certificate.verify');
    expect(entry).toMatchObject({
      outcome: 'allowed',
      purpose: '人才引进落户 婚姻状况核验',
      provider: ANJI,
      service: MARRIAGE.vct,
      actor: { subject: verifierSubject, node: CHANGZHOU, role: 'clerk' },
      detail: { certificateId, fields: 'holderName,holderIdNumber,spouseName,registrationDate', withheld: 'spouseIdNumber', reason: '人才引进落户 婚姻状况核验' },
    });

    // The CLI does the same for the staff member (tongban cert verify).
    const file = join(home, 'withheld.sdjwt');
    writeFileSync(file, presentation);
    const printed = JSON.parse(await cli(['cert', 'verify', '--node', CHANGZHOU, '--presentation', file, '--reason', '人才引进落户 复核', '--json'], verifierToken));
    reasons.add('人才引进落户 复核');
    expect(printed).toMatchObject({ status: 'valid', withheld: ['spouseIdNumber'] });
  });

  it('the withheld value — and every value disclosed — is absent from everything Changzhou stores and logs', async () => {
    const stored = await storeText(t, CHANGZHOU);
    // The dump is real: it holds the verification's audit entry.
    expect(stored).toContain(certificateId);
    expect(stored).toContain('人才引进落户 婚姻状况核验');
    for (const value of [SPOUSE.idNumber, SPOUSE.name, HOLDER.idNumber, HOLDER.name, REGISTERED]) expect(stored, value).not.toContain(value);
    const audit = JSON.stringify(await t.auditEntries(CHANGZHOU));
    for (const value of [SPOUSE.idNumber, SPOUSE.name, HOLDER.idNumber, HOLDER.name]) expect(audit).not.toContain(value);
    const logs = t.logs.filter((line) => line.startsWith(`[${CHANGZHOU}]`)).join('\n');
    expect(logs).not.toContain(SPOUSE.idNumber);
    expect(logs).not.toContain(HOLDER.idNumber);
  });

  it('the independent @sd-jwt/sd-jwt-vc verifies the same presentation with only the trust list published by the hub', async () => {
    const presentation = await present(['holderName', 'spouseName']);
    const verified = await independentVerifier(t);
    const result = await verified.vc.verify(presentation);
    expect(result.payload).toMatchObject({ iss: `urn:tongban:node:${ANJI}`, vct: MARRIAGE.vct, holderName: HOLDER.name, spouseName: SPOUSE.name });
    expect(result.payload).not.toHaveProperty('spouseIdNumber');
    expect(result.payload).not.toHaveProperty('holderIdNumber');
    expect(verified.keysUsed.has(result.header!.kid as string)).toBe(true);
  });

  it('a tampered disclosure, an issuer not on the trust list and an expired certificate are refused with distinct codes', async () => {
    const presentation = await present(['holderName', 'spouseName']);
    // Tampered: the spouse's name under the same salt, changed.
    const [jwt, ...disclosures] = presentation.split('~');
    const changed = disclosures.map((d) => {
      if (!d) return d;
      const [salt, name, value] = JSON.parse(Buffer.from(d, 'base64url').toString('utf8')) as [string, string, string];
      return name === 'spouseName' ? Buffer.from(JSON.stringify([salt, name, `${value}X`])).toString('base64url') : d;
    });
    const tampered = await verifyAtChangzhou([jwt, ...changed].join('~'), '篡改核验');
    expect(tampered.status).toBe(422);
    expect(tampered.json.code).toBe('CERTIFICATE_DISCLOSURE_INVALID');

    // Signed by a node the hub never authorised (a key of its own, a division not on the list).
    const stranger = await generateSigningKey('Ed25519', '440300');
    const forged = await issueCertificate({ key: stranger, issuer: '440300', type: MARRIAGE, metadata: metadataFor(MARRIAGE, '440300', new Date(), { relatedItem: 'N037' }), personal: personalValues.marriage, status: { uri: statusUri('440300'), idx: 0 }, now: new Date() });
    const untrusted = await verifyAtChangzhou(await presentCertificate(forged, { disclose: ['holderName'], now: new Date() }), '来源核验');
    expect(untrusted.status).toBe(422);
    expect(untrusted.json.code).toBe('CERTIFICATE_ISSUER_UNTRUSTED');

    // Anji's own key and authority, but valid only until last year.
    const { metadata } = (await http(ANJI, 'GET', `/v1/certificates/${encodeURIComponent(certificateId)}`, { token: await holder.accessToken() })).json;
    const serial = 'EXPIRED00001';
    const old = await issueCertificate({
      key: t.key(ANJI),
      issuer: ANJI,
      type: MARRIAGE,
      metadata: { ...metadata, id: buildLicenseId({ typeCode: MARRIAGE.typeCode, issuerCode: metadata.authorityCode, serial, version: '001' }), number: serial, issuedOn: '2024-01-01', validFrom: '2024-01-01', validUntil: '2024-12-31' },
      personal: { holderName: HOLDER.name, holderIdNumber: HOLDER.idNumber, spouseName: SPOUSE.name, spouseIdNumber: SPOUSE.idNumber, registrationDate: '2024-01-01' },
      status: { uri: statusListUri, idx: 0 },
      now: new Date('2024-01-01T02:00:00Z'),
    });
    const expired = await verifyAtChangzhou(await presentCertificate(old, { disclose: ['holderName'], now: new Date() }), '有效期核验');
    expect(expired.status).toBe(422);
    expect(expired.json.code).toBe('CERTIFICATE_EXPIRED');
    expect(new Set([tampered.json.code, untrusted.json.code, expired.json.code]).size).toBe(3);

    // Each refusal is on record with its code and the staff member.
    const refused = (await t.auditEntries(CHANGZHOU)).filter((e: Json) => e.kind === 'certificate.verify' && e.outcome === 'refused');
    expect(refused.map((e: Json) => e.code)).toEqual(expect.arrayContaining(['CERTIFICATE_DISCLOSURE_INVALID', 'CERTIFICATE_ISSUER_UNTRUSTED', 'CERTIFICATE_EXPIRED']));
    expect(refused.every((e: Json) => e.actor?.subject === verifierSubject)).toBe(true);
  });

  it('suspended at Anji: refused at Changzhou once its status list is refreshed; reinstated: accepted again', async () => {
    const presentation = await present(['holderName', 'holderIdNumber']);
    expect((await verifyAtChangzhou(presentation, '状态核验')).status).toBe(200);
    const suspended = await http(ANJI, 'POST', `/v1/certificates/${encodeURIComponent(certificateId)}/suspend`, { token: anjiApprover, body: { reason: '登记信息待核实' } });
    expect(suspended.status, suspended.text).toBe(200);
    await pastStatusAge();
    const refused = await verifyAtChangzhou(presentation, '状态核验');
    expect(refused.status).toBe(422);
    expect(refused.json.code).toBe('CERTIFICATE_SUSPENDED');
    const reinstated = await http(ANJI, 'POST', `/v1/certificates/${encodeURIComponent(certificateId)}/reinstate`, { token: anjiApprover, body: { reason: '核实无误' } });
    expect(reinstated.status, reinstated.text).toBe(200);
    await pastStatusAge();
    expect((await verifyAtChangzhou(presentation, '状态核验')).status).toBe(200);
  });

  it("a key-bound certificate is accepted only with a KB-JWT answering Changzhou's challenge, once", async () => {
    await cli(['cert', 'bind', certificateId, '--node', ANJI], await holder.accessToken());
    // Without a challenge of Changzhou's (a KB-JWT for Changzhou, with a nonce of the holder's own): refused.
    const unchallenged = await present(['holderName', 'holderIdNumber'], ['--audience', CHANGZHOU]);
    const refused = await verifyAtChangzhou(unchallenged, '持证人核验');
    expect(refused.status).toBe(422);
    expect(refused.json.code).toBe('CERTIFICATE_KEY_BINDING_INVALID');
    const challenge = JSON.parse(await cli(['cert', 'challenge', '--node', CHANGZHOU, '--json'], verifierToken));
    expect(challenge.audience).toBe(`urn:tongban:node:${CHANGZHOU}`);
    // For another verifier: refused.
    const forSandu = await present(['holderName'], ['--audience', SANDU, '--nonce', challenge.nonce]);
    expect((await verifyAtChangzhou(forSandu, '持证人核验', challenge.nonce)).json.code).toBe('CERTIFICATE_KEY_BINDING_INVALID');
    const next = JSON.parse(await cli(['cert', 'challenge', '--node', CHANGZHOU, '--json'], verifierToken));
    const bound = await present(['holderName', 'holderIdNumber'], ['--audience', CHANGZHOU, '--nonce', next.nonce]);
    const accepted = await verifyAtChangzhou(bound, '持证人核验', next.nonce);
    expect(accepted.status, accepted.text).toBe(200);
    expect(accepted.json.keyBound).toBe(true);
    // The same challenge again: used up.
    const replayed = await verifyAtChangzhou(bound, '持证人核验', next.nonce);
    expect(replayed.json.code).toBe('CERTIFICATE_KEY_BINDING_INVALID');
  });

  it('a Changzhou case (N032 夫妻投靠户口迁移) takes the presented certificate as evidence, in its copy and the competent node’s', async () => {
    const applied = await http(CHANGZHOU, 'POST', '/v1/cases', { token: verifierToken, body: { itemCode: 'N032', mode: 'joint', competentNodes: [CHANGZHOU, SANDU], applicant: HOLDER } });
    expect(applied.status, applied.text).toBe(201);
    caseId = applied.json.case.id;
    const challenge = async () => (await http(CHANGZHOU, 'POST', '/v1/certificates/challenges', { token: verifierToken, body: {} })).json.nonce as string;

    // Withholding what the item needs (the spouse's ID number): refused, nothing recorded.
    let nonce = await challenge();
    const partial = await present(['holderName', 'holderIdNumber', 'spouseName'], ['--audience', CHANGZHOU, '--nonce', nonce]);
    const withheld = await http(CHANGZHOU, 'POST', `/v1/cases/${caseId}/certificates`, { token: verifierToken, body: { presentation: partial, nonce } });
    expect(withheld.status).toBe(422);
    expect(withheld.json.code).toBe('CERTIFICATE_FIELD_NOT_DISCLOSED');
    expect(withheld.json.detail).toContain('spouseIdNumber');
    // Someone else's case: the certificate is not the applicant's.
    const other = await http(CHANGZHOU, 'POST', '/v1/cases', { token: verifierToken, body: { itemCode: 'N032', mode: 'joint', competentNodes: [CHANGZHOU, SANDU], applicant: OTHER } });
    nonce = await challenge();
    const full = (n: string) => present(['holderName', 'holderIdNumber', 'spouseName', 'spouseIdNumber'], ['--audience', CHANGZHOU, '--nonce', n]);
    const mismatch = await http(CHANGZHOU, 'POST', `/v1/cases/${other.json.case.id}/certificates`, { token: verifierToken, body: { presentation: await full(nonce), nonce } });
    expect(mismatch.status).toBe(422);
    expect(mismatch.json.code).toBe('CERTIFICATE_HOLDER_MISMATCH');

    // The holder discloses what N032 needs; the clerk takes it with the CLI (tongban case certificate).
    nonce = await challenge();
    const file = join(home, 'for-the-case.sdjwt');
    writeFileSync(file, await full(nonce));
    await cli(['case', 'certificate', caseId, '--node', CHANGZHOU, '--presentation', file, '--nonce', nonce, '--json'], verifierToken);
    const read = await http(CHANGZHOU, 'GET', `/v1/cases/${caseId}`, { token: verifierToken });
    // A certificate taken as evidence is not one this node issued for the case.
    expect(read.json.certificate).toBeUndefined();
    const evidence = read.json.case.evidence;
    expect(evidence).toHaveLength(1);
    expect(evidence[0]).toMatchObject({
      provider: ANJI,
      service: MARRIAGE.vct,
      fetchedBy: CHANGZHOU,
      purpose: '夫妻投靠户口迁移',
      data: { name: HOLDER.name, idNumber: HOLDER.idNumber, spouseName: SPOUSE.name, spouseIdNumber: SPOUSE.idNumber },
      certificate: { id: certificateId, vct: MARRIAGE.vct, issuer: ANJI, verifiedBy: verifierSubject },
    });
    // The registration date N032 does not need is not kept; the paper 结婚证 is replaced.
    expect(evidence[0].data).not.toHaveProperty('marriageRegistrationDate');
    expect(read.json.case.materials.find((m: Json) => m.name === '结婚证')).toMatchObject({ kind: 'electronic', checked: true });
    // The verification is on record with the case and its item as the reason of use.
    const verification = (await t.auditEntries(CHANGZHOU)).findLast((e: Json) => e.kind === 'certificate.verify' && e.caseId === caseId && e.outcome === 'allowed');
    expect(verification).toMatchObject({ requestId: evidence[0].requestId, purpose: '夫妻投靠户口迁移', itemCode: 'N032', actor: { subject: verifierSubject } });
    reasons.add('夫妻投靠户口迁移');

    // Accepted (the other materials checked at the counter): the competent node Sandu holds the evidence with its data.
    const materials = read.json.case.materials.filter((m: Json) => !m.checked).map((m: Json) => ({ name: m.name, checked: true }));
    await step(CHANGZHOU, verifierToken, caseId, 'precheck', { materials, identityVerified: true });
    await step(CHANGZHOU, verifierToken, caseId, 'accept');
    await until(async () => (await http(SANDU, 'GET', `/v1/cases/${caseId}`, { token: sanduClerk })).status === 200, `Sandu holding ${caseId}`);
    const copy = (await http(SANDU, 'GET', `/v1/cases/${caseId}`, { token: sanduClerk })).json.case;
    expect(copy.evidence).toEqual(evidence);
    expect(copy.materials.find((m: Json) => m.name === '结婚证')).toMatchObject({ kind: 'electronic', checked: true });
  });

  it('revoked at Anji: refused at Changzhou at the next verification after its status list is refreshed, and by the independent verifier', async () => {
    const challenge = (await http(CHANGZHOU, 'POST', '/v1/certificates/challenges', { token: verifierToken, body: {} })).json.nonce as string;
    const presentation = await present(['holderName'], ['--audience', CHANGZHOU, '--nonce', challenge]);
    const revoked = await http(ANJI, 'POST', `/v1/certificates/${encodeURIComponent(certificateId)}/revoke`, { token: anjiApprover, body: { reason: '婚姻登记被依法撤销' } });
    expect(revoked.status, revoked.text).toBe(200);
    await pastStatusAge();
    const refused = await verifyAtChangzhou(presentation, '撤销后核验', challenge);
    expect(refused.status).toBe(422);
    expect(refused.json.code).toBe('CERTIFICATE_REVOKED');
    const independent = await independentVerifier(t);
    await expect(independent.vc.verify(await present(['holderName'], ['--audience', CHANGZHOU]))).rejects.toThrow(/Status is not valid/);
  });

  it("the holder's data tracker at the hub lists Changzhou's verifications, those withholding their ID number too", async () => {
    const { status, json } = await http(HUB, 'GET', '/v1/tracker?limit=200', { token: await holder.accessToken() });
    expect(status).toBe(200);
    const rows = json.entries.filter((e: Json) => e.kind === 'certificate.verify' && e.node === CHANGZHOU);
    // Every reason of use the staff member gave is there, allowed and refused alike.
    expect(new Set(rows.map((r: Json) => r.purpose))).toEqual(new Set([...reasons].filter((r) => !['篡改核验', '来源核验', '有效期核验'].includes(r))));
    expect(rows.find((r: Json) => r.purpose === '状态核验' && r.outcome === 'allowed')).toMatchObject({ role: 'clerk', actorNode: CHANGZHOU, service: MARRIAGE.vct, provider: ANJI, fields: ['holderName', 'holderIdNumber'] });
    expect(rows.find((r: Json) => r.purpose === '夫妻投靠户口迁移' && r.outcome === 'allowed')).toMatchObject({ caseId, itemCode: 'N032' });
    // Verifications that never saw the holder's ID number are found through the certificate's hash.
    expect(rows.find((r: Json) => r.purpose === '撤销后核验')).toMatchObject({ outcome: 'refused', code: 'CERTIFICATE_REVOKED', fields: ['holderName'] });
    expect(rows.find((r: Json) => r.purpose === '持证人核验' && r.fields.join() === 'holderName')).toMatchObject({ outcome: 'refused', code: 'CERTIFICATE_KEY_BINDING_INVALID' });
    expect(JSON.stringify(json)).not.toContain(SPOUSE.idNumber);
  });
}

/**
 * A verifier that shares no code with Tongban's: @sd-jwt/sd-jwt-vc with node:crypto, given only
 * what the hub publishes — the trust list (checked against the hub key the directory snapshot
 * names, the key every node pinned) — and the issuer's status list it fetches itself.
 */
async function independentVerifier(t: TestFederation): Promise<{ vc: SDJwtVcInstance; keysUsed: Set<string> }> {
  const b64json = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Json;
  const ed25519 = (jwk: Json, data: string, signature: string) => verifySignature(null, Buffer.from(data), createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }), Buffer.from(signature, 'base64url'));
  // The hub's key as the signed directory snapshot lists it, and as a node pinned it at set-up.
  const snapshot = ((await (await fetch(new URL('/v1/directory/snapshot', t.f.hub.endpoint))).json()) as { snapshot: string }).snapshot;
  const [sh, sp, ss] = snapshot.split('.') as [string, string, string];
  const hubEntry = (b64json(sp).nodes as Json[]).find((n) => n.role === 'hub');
  const pinned = JSON.parse(readFileSync(t.f.nodes.get(CHANGZHOU)!.configPath, 'utf8')).hub.jwk;
  expect(hubEntry.signingKey.jwk).toEqual(pinned);
  expect(ed25519(pinned, `${sh}.${sp}`, ss)).toBe(true);
  // The trust list: a JWS by that key.
  const response = await fetch(new URL('/v1/certificates/trust-list', t.f.hub.endpoint));
  expect(response.headers.get('content-type')).toMatch(/^application\/jwt/);
  const [th, tp, ts] = (await response.text()).split('.') as [string, string, string];
  expect(b64json(th)).toMatchObject({ alg: 'EdDSA', typ: 'tongban-trust-list+jwt', kid: hubEntry.signingKey.kid });
  expect(ed25519(pinned, `${th}.${tp}`, ts)).toBe(true);
  const list = b64json(tp);
  const keys = new Map<string, Json>();
  for (const issuer of list.issuers as Json[]) for (const key of issuer.keys) if (!key.retiredAt) keys.set(key.kid, key.jwk);
  const keysUsed = new Set<string>();
  const verifier = async (data: string, signature: string) => {
    const kid = b64json(data.split('.')[0]!).kid as string;
    const jwk = keys.get(kid);
    keysUsed.add(kid);
    return jwk !== undefined && ed25519(jwk, data, signature);
  };
  const hasher = async (data: string | ArrayBuffer, alg: string) => {
    if (alg !== 'sha-256') throw new Error(`unexpected digest ${alg}`);
    return new Uint8Array(createHash('sha256').update(typeof data === 'string' ? data : Buffer.from(data)).digest());
  };
  const vc = new SDJwtVcInstance({ hasher, verifier, statusVerifier: verifier });
  return { vc, keysUsed };
}

/** Everything a node's database holds, as text: every row of every table (and, for SQLite, the raw file and its WAL). */
async function storeText(t: TestFederation, division: string): Promise<string> {
  if (t.backend === 'sqlite') {
    const file = join(t.f.dir, division, 'data', 'node.sqlite');
    const db = new BetterSqlite3(file, { readonly: true });
    try {
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>;
      expect(tables.map((row) => row.name)).toEqual(expect.arrayContaining(['audit_log', 'status_list_cache', 'certificate_challenges']));
      const rows = tables.map(({ name }) => JSON.stringify(db.prepare(`SELECT * FROM "${name}"`).all()));
      const raw = ['', '-wal'].map((suffix) => {
        try {
          return readFileSync(file + suffix).toString('utf8');
        } catch {
          return '';
        }
      });
      return [...rows, ...raw].join('\n');
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    const schema = `${t.schemaPrefix}_${division}`;
    const tables = await client.query('SELECT table_name FROM information_schema.tables WHERE table_schema = $1', [schema]);
    const names = (tables.rows as Array<{ table_name: string }>).map((row) => row.table_name);
    expect(names).toEqual(expect.arrayContaining(['audit_log', 'status_list_cache', 'certificate_challenges']));
    const dumps: string[] = [];
    for (const name of names) dumps.push(JSON.stringify((await client.query(`SELECT * FROM "${schema}"."${name}"`)).rows));
    return dumps.join('\n');
  } finally {
    await client.end();
  }
}

describe('[sqlite] e-certificates end to end', () => certificatesEndToEnd('sqlite'));
describePostgres('e-certificates end to end', () => certificatesEndToEnd('postgres'));
