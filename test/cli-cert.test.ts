import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCertificate } from '../src/certificates/index.ts';
import { sampleSubjects } from '../src/demo/registries.ts';
import { buildCreditCode } from '../src/standards/index.ts';
import { freePortRun } from './free-ports.ts';
import { runTongban } from './support/cli.ts';
import { signedInCitizen, until, type SignedInCitizen } from './support/consent.ts';
import { startTestFederation, type Backend, type TestFederation } from './support/federation.ts';
import { describePostgres } from './support/postgres.ts';

const ANJI = '330523';
const QINGPU = '310118';

/**
 * `tongban cert issue|show|revoke|suspend|reinstate|bind` (the issuer's side at the terminal): the
 * real CLI as a child process against a real federation. Staff act with machine client tokens, the
 * holder with their own hub access token, both in TONGBAN_TOKEN; the holder key lands in TONGBAN_HOME.
 */
describe('[sqlite] tongban cert: issue, show, suspend, reinstate, revoke, bind', () => certCliSuite('sqlite'));
describePostgres('tongban cert: issue, show, suspend, reinstate, revoke, bind', () => certCliSuite('postgres'));

function certCliSuite(backend: Backend): void {
  let t: TestFederation;
  let cwd: string;
  let holder: SignedInCitizen;
  const tokens = new Map<string, string>();
  let spouse: { idNumber: string; name: string };
  const home = () => join(cwd, 'home', 'tongban');
  const cli = async (args: string[], who: string) => runTongban(args, { cwd, env: { TONGBAN_HOME: home(), TONGBAN_TOKEN: who === 'holder' ? await holder.token() : tokens.get(who)! } });
  const json = async (args: string[], who: string) => {
    const r = await cli([...args, '--json'], who);
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    return JSON.parse(r.stdout);
  };
  const api = async (node: string, who: string, method: 'GET' | 'POST', path: string, body?: unknown) => {
    const response = await fetch(new URL(path, t.f.nodes.get(node)!.endpoint), {
      method,
      headers: { authorization: `Bearer ${tokens.get(who)}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, json: (await response.json()) as any };
  };
  /** The holder's N037 case at `node`, granted and concluded there (with the certificate's fields, or none; or only decided). */
  const concludedCase = async (node: string, fields: boolean, conclude = true) => {
    const applied = await api(node, `${node}/clerk`, 'POST', '/v1/cases', { itemCode: 'N037', mode: 'online', competentNodes: [node], applicant: { idNumber: holder.idNumber, name: holder.name } });
    const id: string = applied.json.case.id;
    const steps: Array<[string, string, unknown]> = [
      ['clerk', 'precheck', { materials: applied.json.case.materials.map((m: { name: string }) => ({ name: m.name, checked: true })), identityVerified: true }],
      ['clerk', 'accept', {}],
      ['approver', 'start-review', {}],
      ['approver', 'decide', { outcome: 'grant', reason: '符合条件' }],
      ['approver', 'conclude', { result: { code: 'A01', description: '颁发结婚证' }, ...(fields ? { certificateFields: { spouseName: spouse.name, spouseIdNumber: spouse.idNumber, registrationDate: '2026-11-28' } } : {}) }],
    ];
    for (const [who, action, body] of conclude ? steps : steps.slice(0, -1)) expect((await api(node, `${node}/${who}`, 'POST', `/v1/cases/${id}/actions/${action}`, body)).status, action).toBe(200);
    return id;
  };
  const certificateOf = async (node: string, caseId: string) => ((await api(node, `${node}/clerk`, 'GET', '/v1/certificates?limit=200')).json.certificates as any[]).find((c) => c.caseId === caseId);

  beforeAll(async () => {
    t = await startTestFederation(backend, { portBase: await freePortRun(5) });
    cwd = mkdtempSync(join(tmpdir(), 'tongban-cert-'));
    mkdirSync(join(cwd, 'var'));
    symlinkSync(t.f.dir, join(cwd, 'var', 'demo'));
    for (const node of [ANJI, QINGPU]) {
      for (const role of ['clerk', 'approver', 'supervisor']) tokens.set(`${node}/${role}`, (await t.operator(node, '/v1/operator/accounts', { id: `cli-${role}`, role, name: role })).json.token);
    }
    const people = sampleSubjects(t.f.registryPath('522732'), 2).people;
    spouse = people[1]!;
    holder = await signedInCitizen(t, people[0]!);
  }, 300_000);
  afterAll(async () => {
    await t?.stop();
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  it('issue: an approver issues the certificate of a case concluded before the node was authorised; again it shows the same one; a clerk is refused', async () => {
    const caseId = await concludedCase(QINGPU, false);
    const early = await cli(['cert', 'issue', '--node', QINGPU, '--case', caseId, '--certificate-field', `spouseName=${spouse.name}`], `${QINGPU}/approver`);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/refused \(CERTIFICATE_NOT_ISSUABLE\)/);
    // Not issued: the case names no certificate.
    expect((await json(['case', 'show', caseId, '--node', QINGPU], `${QINGPU}/clerk`)).certificate).toBeUndefined();
    const authorised = await fetch(new URL('/v1/certificates/issuers', t.f.hub.endpoint), {
      method: 'POST',
      headers: { authorization: `Bearer ${t.f.adminToken()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ division: QINGPU, authority: '青浦区政务服务管理局', authorityCode: buildCreditCode('1', '1', QINGPU, `MB${QINGPU}`), types: ['business-licence', 'marriage'] }),
    });
    expect(authorised.status).toBe(200);
    await t.f.nodes.get(QINGPU)!.runtime!.certificates.trustList.refresh();

    const fields = ['--certificate-field', `spouseName=${spouse.name}`, '--certificate-field', `spouseIdNumber=${spouse.idNumber}`, '--certificate-field', 'registrationDate=2026-11-28'];
    const clerk = await cli(['cert', 'issue', '--node', QINGPU, '--case', caseId, ...fields], `${QINGPU}/clerk`);
    expect(clerk.code).toBe(1);
    expect(clerk.stderr).toMatch(/refused \(CERTIFICATE_FORBIDDEN\)/);
    const badField = await cli(['cert', 'issue', '--node', QINGPU, '--case', caseId, '--certificate-field', 'spouseName'], `${QINGPU}/approver`);
    expect(badField.code).toBe(2);
    expect(badField.stderr).toMatch(/--certificate-field "spouseName" is not name=value/);
    // The old flag is gone: one name for the same thing in both commands.
    expect((await cli(['cert', 'issue', '--node', QINGPU, '--case', caseId, '--field', 'spouseName=x'], `${QINGPU}/approver`)).code).toBe(2);

    const issued = await cli(['cert', 'issue', '--node', QINGPU, '--case', caseId, ...fields], `${QINGPU}/approver`);
    expect(issued.code, issued.stderr).toBe(0);
    expect(issued.stdout).toMatch(/^certificate\s+1\.2\.156\.3005\.2\./m);
    expect(issued.stdout).toMatch(/^type\s+结婚证 \(urn:tongban:certificate:marriage\)$/m);
    expect(issued.stdout).toMatch(/^status\s+valid$/m);
    expect(issued.stdout).toMatch(/^authority\s+青浦区政务服务管理局 /m);
    // Staff are shown no field.
    expect(issued.stdout).not.toContain(spouse.name);
    const again = await json(['cert', 'issue', '--node', QINGPU, '--case', caseId], `${QINGPU}/approver`);
    expect(again).toMatchObject({ created: false, certificate: { caseId, status: 'valid' } });
    expect(issued.stdout).toContain(again.certificate.id);
    // The case, as its issuing node answers it, names the certificate issued later too.
    const shown = await cli(['case', 'show', caseId, '--node', QINGPU], `${QINGPU}/clerk`);
    expect(shown.stdout).toMatch(new RegExp(`^certificate\\s+${again.certificate.id.replaceAll('.', '\\.')}$`, 'm'));
  }, 120_000);

  it('case conclude --certificate-field: the conclude issues the certificate; a required field missing refuses the conclude (exit 1)', async () => {
    const caseId = await concludedCase(ANJI, false, false);
    const args = ['case', 'conclude', caseId, '--node', ANJI, '--result-code', 'A01', '--result-description', '颁发结婚证', '--certificate-field', `spouseName=${spouse.name}`];
    const missing = await cli(args, `${ANJI}/approver`);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/refused \(CERTIFICATE_NOT_ISSUABLE\).*spouseIdNumber/);
    // The refusal says how to give the field at the terminal.
    expect(missing.stderr).toContain('--certificate-field name=value');
    expect(await certificateOf(ANJI, caseId)).toBeUndefined();
    const concluded = await cli([...args, '--certificate-field', `spouseIdNumber=${spouse.idNumber}`, '--certificate-field', 'registrationDate=2026-11-28'], `${ANJI}/approver`);
    expect(concluded.code, concluded.stderr).toBe(0);
    expect(concluded.stdout).toMatch(/^state\s+concluded$/m);
    const issued = await certificateOf(ANJI, caseId);
    expect(issued).toMatchObject({ caseId, status: 'valid', vct: 'urn:tongban:certificate:marriage' });
    // The conclude's answer names it; case show too, with --json; its status follows a revocation.
    expect(concluded.stdout).toMatch(new RegExp(`^certificate\\s+${issued.id.replaceAll('.', '\\.')}$`, 'm'));
    expect((await json(['case', 'show', caseId, '--node', ANJI], `${ANJI}/clerk`)).certificate).toEqual({ id: issued.id, vct: 'urn:tongban:certificate:marriage', status: 'valid' });
    expect((await cli(['case', 'show', caseId, '--node', ANJI], `${ANJI}/clerk`)).stdout).toMatch(new RegExp(`^certificate\\s+${issued.id.replaceAll('.', '\\.')}$`, 'm'));
    // The applicant reads their case with the certificate's id, and no field of it.
    const asApplicant = await json(['case', 'show', caseId, '--node', ANJI], 'holder');
    expect(asApplicant.certificate).toEqual({ id: issued.id, vct: 'urn:tongban:certificate:marriage', status: 'valid' });
    await json(['cert', 'revoke', issued.id, '--node', ANJI, '--reason', '测试'], `${ANJI}/approver`);
    expect((await cli(['case', 'show', caseId, '--node', ANJI], `${ANJI}/clerk`)).stdout).toMatch(/^certificate\s+\S+ \(revoked\)$/m);
  }, 120_000);

  it('show: the wallet from the hub, one certificate with its fields from its issuer (found through the wallet); staff see metadata only', async () => {
    const caseId = await concludedCase(ANJI, true);
    const { id } = await certificateOf(ANJI, caseId);
    const wallet = await until(async () => ((await json(['cert', 'show'], 'holder')).certificates as any[]).find((c) => c.certificateId === id), 20_000, 'the certificate in the wallet');
    expect(wallet).toMatchObject({ issuer: ANJI, typeName: '结婚证' });
    expect(wallet.status).toBe('valid');
    const table = await cli(['cert', 'show'], 'holder');
    expect(table.stdout).toMatch(/^CERTIFICATE\s+TYPE\s+ISSUER\s+ISSUED\s+EXPIRES\s+STATUS$/m);
    expect(table.stdout).toMatch(new RegExp(`^${id.replaceAll('.', '\\.')}\\s+结婚证\\s+${ANJI} .*\\svalid$`, 'm'));

    const shown = await cli(['cert', 'show', id], 'holder');
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/^status\s+valid$/m);
    expect(shown.stdout).toMatch(new RegExp(`^spouseName\\s+${spouse.name}$`, 'm'));
    expect(shown.stdout).toMatch(new RegExp(`^holderIdNumber\\s+${holder.idNumber}$`, 'm'));
    const asJson = await json(['cert', 'show', id, '--node', ANJI], 'holder');
    expect(asJson.fields).toEqual(decodeCertificate(asJson.sdJwt).disclosures);
    const staff = await json(['cert', 'show', id, '--node', ANJI], `${ANJI}/clerk`);
    expect(staff.sdJwt).toBeUndefined();
    expect(staff.fields).toBeUndefined();
    expect(staff.metadata.id).toBe(id);
    const unknown = await cli(['cert', 'show', '1.2.156.3005.2.NOPE'], 'holder');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/refused \(CERTIFICATE_NOT_FOUND\)/);
  }, 120_000);

  it('wallet: each certificate with the status its issuer gives now (suspended, revoked)', async () => {
    const [suspended, revoked, kept] = [
      await certificateOf(ANJI, await concludedCase(ANJI, true)),
      await certificateOf(ANJI, await concludedCase(ANJI, true)),
      await certificateOf(ANJI, await concludedCase(ANJI, true)),
    ];
    await json(['cert', 'suspend', suspended.id, '--node', ANJI, '--reason', '调查中'], `${ANJI}/approver`);
    await json(['cert', 'revoke', revoked.id, '--node', ANJI, '--reason', '登记撤销'], `${ANJI}/approver`);
    const ids = [suspended.id, revoked.id, kept.id];
    const entries = await until(async () => {
      const found = ((await json(['cert', 'show'], 'holder')).certificates as any[]).filter((c) => ids.includes(c.certificateId));
      return found.length === 3 ? found : undefined;
    }, 20_000, 'the three certificates in the wallet');
    expect(Object.fromEntries(entries.map((c) => [c.certificateId, c.status]))).toEqual({ [suspended.id]: 'suspended', [revoked.id]: 'revoked', [kept.id]: 'valid' });
    const table = (await cli(['cert', 'show'], 'holder')).stdout;
    const row = (id: string) => new RegExp(`^${id.replaceAll('.', '\\.')}\\s.*\\s(\\S+)$`, 'm').exec(table)?.[1];
    expect([row(suspended.id), row(revoked.id), row(kept.id)]).toEqual(['suspended', 'revoked', 'valid']);
  }, 120_000);

  it('list: staff of the issuing node list its certificates (metadata and status, no field); a holder is refused', async () => {
    const { id } = await certificateOf(ANJI, await concludedCase(ANJI, true));
    const listed = await json(['cert', 'list', '--node', ANJI, '--limit', '200'], `${ANJI}/clerk`);
    const entry = (listed.certificates as any[]).find((c) => c.id === id);
    expect(entry).toMatchObject({ status: 'valid', typeName: '结婚证', bound: false });
    expect(entry.sdJwt).toBeUndefined();
    expect(listed.total).toBeGreaterThanOrEqual(listed.certificates.length);
    const table = await cli(['cert', 'list', '--node', ANJI, '--limit', '200'], `${ANJI}/supervisor`);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^CERTIFICATE\s+TYPE\s+CASE\s+STATUS\s+ISSUED\s+EXPIRES\s+BOUND$/m);
    expect(table.stdout).toMatch(new RegExp(`^${id.replaceAll('.', '\\.')}\\s+结婚证\\s+\\S+\\s+valid\\s`, 'm'));
    expect(table.stdout).not.toContain(spouse.name);
    const holderList = await cli(['cert', 'list', '--node', ANJI], 'holder');
    expect(holderList.code).toBe(1);
    expect(holderList.stderr).toMatch(/refused \(CERTIFICATE_FORBIDDEN\)/);
  }, 120_000);

  it('suspend, reinstate, revoke: a supervisor or approver of the issuing node; revoked is final; a clerk is refused', async () => {
    const { id } = await certificateOf(ANJI, await concludedCase(ANJI, true));
    const clerk = await cli(['cert', 'revoke', id, '--node', ANJI, '--reason', '测试'], `${ANJI}/clerk`);
    expect(clerk.code).toBe(1);
    expect(clerk.stderr).toMatch(/refused \(CERTIFICATE_FORBIDDEN\)/);
    const noReason = await cli(['cert', 'revoke', id, '--node', ANJI], `${ANJI}/approver`);
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toMatch(/--reason/);
    const suspended = await cli(['cert', 'suspend', id, '--node', ANJI, '--reason', '调查中'], `${ANJI}/supervisor`);
    expect(suspended.code, suspended.stderr).toBe(0);
    expect(suspended.stdout).toMatch(/^status\s+suspended \(调查中, \d{4}-\d{2}-\d{2}\)$/m);
    expect((await json(['cert', 'reinstate', id, '--node', ANJI, '--reason', '调查结束'], `${ANJI}/approver`)).status).toBe('valid');
    expect((await json(['cert', 'revoke', id, '--node', ANJI, '--reason', '登记撤销'], `${ANJI}/approver`)).status).toBe('revoked');
    const again = await cli(['cert', 'reinstate', id, '--node', ANJI, '--reason', 'x'], `${ANJI}/approver`);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/refused \(CERTIFICATE_STATUS_CONFLICT\)/);
    expect((await api(ANJI, `${ANJI}/clerk`, 'GET', `/v1/certificates/${encodeURIComponent(id)}`)).json).toMatchObject({ status: 'revoked', statusReason: '登记撤销' });
  }, 120_000);

  it('bind: the holder key is made on first use (mode 0600) and the certificate bound to it; binding twice is refused and the key kept', async () => {
    const { id } = await certificateOf(ANJI, await concludedCase(ANJI, true));
    const keyFile = join(home(), 'holder-key.json');
    const bound = await cli(['cert', 'bind', id], 'holder');
    expect(bound.code, bound.stderr).toBe(0);
    expect(bound.stdout).toMatch(/^bound\s+yes/m);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const key = JSON.parse(readFileSync(keyFile, 'utf8')) as { privateJwk: { x: string } };
    const held = await json(['cert', 'show', id, '--node', ANJI], 'holder');
    expect(decodeCertificate(held.sdJwt).boundJwk).toMatchObject({ kty: 'OKP', x: key.privateJwk.x });
    const twice = await cli(['cert', 'bind', id, '--node', ANJI], 'holder');
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/refused \(CERTIFICATE_ALREADY_BOUND\)/);
    expect(JSON.parse(readFileSync(keyFile, 'utf8'))).toEqual(key);

    // Presenting it: a field it does not carry is named with those it does; without a verifier, the flags to give.
    const unknown = await cli(['cert', 'present', id, '--node', ANJI, '--fields', 'holderName,nosuchfield'], 'holder');
    // A usage error (exit 2), as for any argument the command cannot take.
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^tongban: .*nosuchfield.*holderName, holderIdNumber, spouseName, spouseIdNumber, registrationDate/);
    const noAudience = await cli(['cert', 'present', id, '--node', ANJI, '--fields', 'holderName'], 'holder');
    expect(noAudience.code).toBe(2);
    expect(noAudience.stderr).toContain('--audience <division> --nonce <nonce>');
    expect(noAudience.stderr).toContain('tongban cert challenge');
    const out = join(cwd, 'bound.sdjwt');
    const presented = await json(['cert', 'present', id, '--node', ANJI, '--fields', 'holderName,spouseName', '--audience', QINGPU, '--nonce', 'n'.repeat(22), '--out', out], 'holder');
    expect(presented).toEqual({ file: out, disclosed: ['holderName', 'spouseName'], withheld: ['holderIdNumber', 'spouseIdNumber', 'registrationDate'], keyBound: true });
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(decodeCertificate(readFileSync(out, 'utf8').trim()).disclosures).toEqual({ holderName: holder.name, spouseName: spouse.name });
  }, 120_000);

  it('present --json without --out: the presentation with the names disclosed and withheld', async () => {
    const { id } = await certificateOf(ANJI, await concludedCase(ANJI, true));
    const presented = await json(['cert', 'present', id, '--node', ANJI, '--fields', 'holderIdNumber'], 'holder');
    expect(presented).toMatchObject({ disclosed: ['holderIdNumber'], withheld: ['holderName', 'spouseName', 'spouseIdNumber', 'registrationDate'], keyBound: false });
    expect(decodeCertificate(presented.presentation).disclosures).toEqual({ holderIdNumber: holder.idNumber });
  }, 120_000);
}
