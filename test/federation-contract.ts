import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import BetterSqlite3 from 'better-sqlite3';
import { httpbis } from 'http-message-signatures';
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentDigest } from '../src/crypto/index.ts';
import { sampleSubjects } from '../src/demo/registries.ts';
import { withResidentIdCheck } from '../src/standards/index.ts';
import { generateSigningKey, startTestFederation, type Backend, type TestFederation } from './support/federation.ts';
import { postgresUrl } from './support/postgres.ts';
import { grantConsent, signedArtefact, signedInCitizen } from './support/consent.ts';

const run = promisify(execFile);
const BIN = new URL('../bin/tongban.js', import.meta.url).pathname;
const HOUSEHOLD = ['idNumber', 'name', 'sex', 'ethnicity', 'birthDate', 'householdDivision', 'householdAddress'];
const SANDU_ANJI = 'AGR-522732-330523-001';
const HUB_AGREEMENT = 'AGR-HUB-DELTA-001';

/** The federation suite; runs once with every server on SQLite and once on PostgreSQL. */
export function federationContract(backend: Backend): void {
  let t: TestFederation;
  let person: { idNumber: string; name: string };
  let married: { idNumber: string; name: string };
  let registryRow: Record<string, unknown>;

  beforeAll(async () => {
    t = await startTestFederation(backend);
    const db = new BetterSqlite3(t.f.registryPath('522732'), { readonly: true });
    registryRow = db.prepare('SELECT * FROM household LIMIT 1').get() as Record<string, unknown>;
    married = db.prepare("SELECT id_number AS idNumber, name FROM marriage WHERE marital_status = '20' LIMIT 1").get() as typeof married;
    db.close();
    person = { idNumber: registryRow.id_number as string, name: registryRow.name as string };
    // Five servers, SM2 keys and the first directory round: minutes on a loaded machine are no failure.
  }, 300_000);
  afterAll(async () => {
    await t?.stop();
  });

  const baseRequest = (overrides: Record<string, unknown> = {}) => ({
    requestId: randomUUID(),
    requester: '330523',
    provider: '522732',
    agreementId: SANDU_ANJI,
    itemCode: 'N034',
    service: 'household.residence-proof',
    purpose: '户籍类证明开具',
    caseId: 'CASE-330523-0001',
    operator: { id: 'clerk-007', role: 'clerk' },
    subject: { type: 'idNumber', value: person.idNumber },
    fields: ['name', 'householdAddress'],
    ...overrides,
  });

  /** An operator at `from` asks Sandu for a household record. */
  const askSandu = (from: string, extra: Record<string, unknown> = {}) =>
    t.operator(from, '/v1/operator/exchange', {
      provider: '522732',
      service: 'household.residence-proof',
      subject: { type: 'idNumber', value: person.idNumber },
      purpose: '户籍类证明开具',
      ...extra,
    });

  describe('exchanges', () => {
    it('a bridge exchange returns exactly the allowed fields, with the registry values', async () => {
      const all = await askSandu('330523');
      expect(all.status, JSON.stringify(all.json)).toBe(200);
      expect(all.json.via).toBe('bridge');
      expect(Object.keys(all.json.response.data).sort()).toEqual([...HOUSEHOLD].sort());
      expect(all.json.response.data).toMatchObject({ idNumber: person.idNumber, name: person.name, householdAddress: registryRow.household_address });
      // householdRelation is in the registry and the service, but not in the agreement.
      expect(all.json.response.data.householdRelation).toBeUndefined();

      const some = await askSandu('330523', { fields: ['name', 'birthDate'] });
      expect(Object.keys(some.json.response.data).sort()).toEqual(['birthDate', 'name']);
    });

    it('a hub exchange returns exactly the allowed fields, end to end through the relay', async () => {
      const household = await askSandu('310118');
      expect(household.status, JSON.stringify(household.json)).toBe(200);
      expect(household.json.via).toBe('hub');
      expect(Object.keys(household.json.response.data).sort()).toEqual([...HOUSEHOLD].sort());
      expect(household.json.response.data.name).toBe(person.name);

      const business = sampleSubjects(t.f.registryPath('330523'), 1).businesses[0]!;
      const company = await t.operator('522732', '/v1/operator/exchange', {
        provider: '330523',
        service: 'business.registration',
        subject: { type: 'creditCode', value: business.creditCode },
        purpose: '市场主体登记注册',
        fields: ['entityName', 'registrationStatus'],
      });
      expect(company.status, JSON.stringify(company.json)).toBe(200);
      expect(company.json.response.data).toEqual({ entityName: business.entityName, registrationStatus: expect.any(String) });
    });

    it('an SM2 node (Changzhou) and an Ed25519 node (Sandu) exchange both ways', async () => {
      const asked = await askSandu('320400', { fields: ['name'] });
      expect(asked.json).toMatchObject({ via: 'bridge', response: { data: { name: person.name } } });
      const changzhouPerson = sampleSubjects(t.f.registryPath('320400'), 1).people[0]!;
      const answered = await t.operator('522732', '/v1/operator/exchange', {
        provider: '320400',
        service: 'social-insurance.contribution-history',
        subject: { type: 'idNumber', value: changzhouPerson.idNumber },
        purpose: '养老保险关系转移接续',
      });
      expect(answered.status).toBe(200);
      expect(answered.json.response.data.name).toBe(changzhouPerson.name);
    });

    it('with the citizen’s consent (an artefact the hub signed), a consent-bound service answers', async () => {
      // The citizen signs in at the hub and consents there (POST /v1/consents with their access token).
      const consent = await grantConsent(t, await signedInCitizen(t, married), {
        requester: '330523',
        provider: '522732',
        agreementId: SANDU_ANJI,
        itemCode: 'N037',
        purpose: '婚姻登记',
        fields: ['maritalStatus', 'spouseName'],
        expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
        use: 'single',
      });
      const r = await t.raw({ from: '330523', to: '522732', body: baseRequest({ itemCode: 'N037', service: 'marriage.status', purpose: '婚姻登记', subject: { type: 'idNumber', value: married.idNumber }, fields: ['maritalStatus', 'spouseName'], consent: consent.artefact }) });
      expect(r.status).toBe(200);
      expect(r.json.data.maritalStatus).toBe('20');
    });
  });

  describe('refusals: each produced by a real request, logged on the refusing node, nothing else changed', () => {
    /** An artefact the hub signed, for another citizen than the request's. */
    const consentFor = (subject: string) => signedArtefact(t.key('100000'), { subject: { type: 'idNumber', value: subject } });
    const cases: Array<[string, number, () => Promise<Awaited<ReturnType<TestFederation['raw']>>>]> = [
      ['SIGNATURE_INVALID', 401, () => t.raw({ from: '330523', to: '522732', body: baseRequest(), sendBody: JSON.stringify(baseRequest({ fields: HOUSEHOLD })) })],
      ['REQUEST_EXPIRED', 401, () => t.raw({ from: '330523', to: '522732', body: baseRequest(), clock: () => new Date(Date.now() - 10 * 60_000) })],
      ['NODE_UNKNOWN', 403, async () => t.raw({ from: '330523', to: '522732', body: baseRequest(), key: await generateSigningKey('Ed25519', '330523') })],
      ['AGREEMENT_NOT_FOUND', 403, () => t.raw({ from: '330523', to: '522732', body: baseRequest({ agreementId: 'AGR-NO-SUCH' }) })],
      ['NOT_A_PARTY', 403, () => t.raw({ from: '310118', to: '522732', body: baseRequest({ requester: '310118' }) })],
      ['ITEM_NOT_IN_AGREEMENT', 403, () => t.raw({ from: '330523', to: '522732', body: baseRequest({ itemCode: 'N029' }) })],
      ['SERVICE_NOT_IN_AGREEMENT', 403, () => t.raw({ from: '330523', to: '522732', body: baseRequest({ service: 'business.registration', subject: { type: 'creditCode', value: '914403001922038216' } }) })],
      ['FIELD_NOT_ALLOWED', 403, () => t.raw({ from: '330523', to: '522732', body: baseRequest({ fields: ['name', 'householdRelation'] }) })],
      ['PURPOSE_NOT_ALLOWED', 403, () => t.raw({ from: '330523', to: '522732', body: baseRequest({ purpose: '市场营销' }) })],
      ['CONSENT_REQUIRED', 403, () => t.raw({ from: '330523', to: '522732', body: baseRequest({ itemCode: 'N037', service: 'marriage.status', purpose: '婚姻登记', fields: ['maritalStatus'] }) })],
      ['CONSENT_INVALID', 403, async () => t.raw({ from: '330523', to: '522732', body: baseRequest({ itemCode: 'N037', service: 'marriage.status', purpose: '婚姻登记', fields: ['maritalStatus'], consent: await consentFor('11010519491231002X') }) })],
      ['TOPOLOGY_NOT_ALLOWED', 403, () => t.raw({ from: '310118', to: '522732', body: baseRequest({ requester: '310118', agreementId: HUB_AGREEMENT }) })],
      ['SUBJECT_INVALID', 400, () => t.raw({ from: '330523', to: '522732', body: baseRequest({ subject: { type: 'idNumber', value: person.idNumber.slice(0, 17) + (person.idNumber.endsWith('0') ? '1' : '0') } }) })],
      ['SUBJECT_NOT_FOUND', 404, () => t.raw({ from: '330523', to: '522732', body: baseRequest({ subject: { type: 'idNumber', value: withResidentIdCheck('52273219010101999') } }) })],
      ['VALIDATION_FAILED', 400, () => t.raw({ from: '330523', to: '522732', body: { ...baseRequest(), fields: 'name' } })],
      ['BAD_REQUEST', 400, () => t.raw({ from: '330523', to: '522732', body: null, bodyText: '{"not json' })],
    ];

    it.each(cases)('%s', async (code, status, send) => {
      const before = await t.auditEntries('522732');
      const directoryBefore = await t.operator('522732', '/v1/operator/directory');
      const r = await send();
      expect(r.status).toBe(status);
      expect(r.json.code).toBe(code);
      expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      // The refusal is signed by the provider like any answer.
      expect(r.headers.get('signature')).toMatch(/^tongban=:/);
      const after = await t.auditEntries('522732');
      expect(after).toHaveLength(before.length + 1);
      expect(after.at(-1)).toMatchObject({ kind: 'exchange.provide', outcome: 'refused', code });
      // No personal value in the log: the subject is a keyed hash.
      expect(JSON.stringify(after.at(-1))).not.toContain(person.idNumber);
      const directoryAfter = await t.operator('522732', '/v1/operator/directory');
      expect(directoryAfter.json.agreements).toEqual(directoryBefore.json.agreements);
    });

    it('REPLAYED_REQUEST: the same signed request twice', async () => {
      const first = await t.raw({ from: '330523', to: '522732', body: baseRequest() });
      expect(first.status).toBe(200);
      const before = await t.auditEntries('522732');
      const again = await t.raw({ from: '330523', to: '522732', body: null, replayOf: first.request });
      expect(again.status).toBe(409);
      expect(again.json.code).toBe('REPLAYED_REQUEST');
      const after = await t.auditEntries('522732');
      expect(after).toHaveLength(before.length + 1);
      expect(after.at(-1)).toMatchObject({ outcome: 'refused', code: 'REPLAYED_REQUEST' });
    });

    it('a hub-mode request outside its agreement is refused at the hub and logged there', async () => {
      const before = await t.auditEntries('100000');
      const r = await t.operator('310118', '/v1/operator/exchange', {
        provider: '522732',
        service: 'household.residence-proof',
        subject: { type: 'idNumber', value: person.idNumber },
        purpose: '户籍类证明开具',
        agreementId: HUB_AGREEMENT,
        itemCode: 'N034',
        fields: ['name', 'householdRelation'],
      });
      expect(r.json.code).toBe('FIELD_NOT_ALLOWED');
      const after = await t.auditEntries('100000');
      expect(after).toHaveLength(before.length + 1);
      expect(after.at(-1)).toMatchObject({ kind: 'exchange.relay', outcome: 'refused', code: 'FIELD_NOT_ALLOWED', requester: '310118', provider: '522732' });
    });
  });

  describe('the hub never sees personal data', () => {
    it('after hub-mode exchanges, the hub’s store and logs hold no personal field values', async () => {
      const people = sampleSubjects(t.f.registryPath('522732'), 3).people;
      const answers: Record<string, unknown>[] = [];
      for (const p of people) {
        const r = await t.operator('310118', '/v1/operator/exchange', {
          provider: '522732',
          service: 'household.residence-proof',
          subject: { type: 'idNumber', value: p.idNumber },
          purpose: '户籍类证明开具',
        });
        expect(r.json.via).toBe('hub');
        answers.push(r.json.response.data);
      }
      const secrets = answers.flatMap((a) => [a.idNumber, a.name, a.householdAddress, a.birthDate].map(String));
      const hubText = await hubStoreText(t);
      expect(hubText.length).toBeGreaterThan(1000);
      expect(hubText).toContain('exchange.relay');
      const hubLogs = t.logs.filter((l) => l.startsWith('[100000]')).join('\n');
      for (const secret of secrets) {
        expect(hubText).not.toContain(secret);
        expect(hubLogs).not.toContain(secret);
      }
      // The providing node, by contrast, holds only keyed hashes of subjects in its log.
      const sanduLog = JSON.stringify(await t.auditEntries('522732'));
      for (const p of people) expect(sanduLog).not.toContain(p.idNumber);
    });
  });

  describe('interoperability', () => {
    it('a request signed with the independent http-message-signatures package is accepted, and the node’s answer verifies with it', async () => {
      const anji = t.key('330523');
      if (anji.algorithm !== 'Ed25519') throw new Error('test expects Anji on Ed25519');
      const privateKey = createPrivateKey({ key: anji.privateJwk, format: 'jwk' });
      const url = new URL('/v1/exchange', t.f.nodes.get('522732')!.endpoint).toString();
      const body = JSON.stringify(baseRequest({ fields: ['name'] }));
      const now = Date.now();
      const signed = await httpbis.signMessage(
        {
          key: { id: anji.kid, alg: 'ed25519', sign: async (data: Buffer) => sign(null, data, privateKey) },
          name: 'tongban',
          fields: ['@method', '@authority', '@path', 'content-digest', 'content-type'],
          params: ['created', 'expires', 'nonce', 'keyid', 'alg'],
          paramValues: { created: new Date(now), expires: new Date(now + 30_000), nonce: randomUUID() },
        },
        { method: 'POST', url, headers: { 'content-type': 'application/json', 'content-digest': contentDigest(body) } },
      );
      const response = await fetch(url, { method: 'POST', headers: signed.headers as Record<string, string>, body });
      expect(response.status).toBe(200);
      expect(((await response.clone().json()) as any).data).toEqual({ name: person.name });

      const sandu = t.key('522732');
      const sanduPublic = createPublicKey({ key: sandu.publicJwk, format: 'jwk' });
      const verified = await httpbis.verifyMessage(
        {
          keyLookup: async (params: { keyid?: string }) =>
            params.keyid === sandu.kid ? { id: sandu.kid, algs: ['ed25519'], verify: async (data: Buffer, s: Buffer) => verify(null, data, sanduPublic, s) } : null,
          requiredFields: ['@status', 'content-digest'],
        },
        { status: response.status, headers: Object.fromEntries(response.headers.entries()) },
        { method: 'POST', url, headers: signed.headers as Record<string, string> },
      );
      expect(verified).toBe(true);
      // The answer's Content-Digest matches its body.
      expect(response.headers.get('content-digest')).toBe(contentDigest(await response.text()));
    });
  });

  describe('audit', () => {
    it('a row edited in a node’s audit table is reported by `tongban audit verify` at its sequence number', async () => {
      const entries = await t.auditEntries('522732');
      expect(entries.length).toBeGreaterThan(10);
      // Wait until the hub has witnessed a checkpoint past the row we will edit.
      const target = entries[4].seq;
      for (let i = 0; i < 100; i++) {
        const r = await fetch(new URL('/v1/audit/checkpoints/522732', t.f.hub.endpoint));
        const { checkpoints } = (await r.json()) as { checkpoints: Array<{ seq: number }> };
        if (checkpoints.some((c) => c.seq > target)) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const configPath = t.f.nodes.get('522732')!.configPath;
      const clean = await run(process.execPath, [BIN, 'audit', 'verify', '--config', configPath, '--json']);
      expect(JSON.parse(clean.stdout)).toMatchObject({ ok: true, checkpointSource: expect.stringContaining('hub') });
      expect(JSON.parse(clean.stdout).checkpoints).toBeGreaterThan(0);

      await tamper(t, '522732', `UPDATE audit_log SET purpose = 'tampered' WHERE seq = ${target}`);
      const broken = await run(process.execPath, [BIN, 'audit', 'verify', '--config', configPath, '--json']).then(
        () => {
          throw new Error('audit verify should exit non-zero');
        },
        (error: { code: number; stdout: string; stderr: string }) => error,
      );
      expect(broken.code).toBe(1);
      expect(JSON.parse(broken.stdout)).toMatchObject({ ok: false, seq: target, reason: 'hash' });
      expect(broken.stderr).toContain(`entry ${target}`);
      expect(broken.stderr).not.toMatch(/^\s+at /m);
    });
  });

  // Last: it stops the hub.
  describe('hub down', () => {
    const bridgeCall = () => askSandu('330523', { fields: ['name'] });

    it('bridges keep working from the cached directory; hub mode fails fast; after expiry DIRECTORY_EXPIRED; recovery needs no manual step', async () => {
      await t.f.hub.stop();
      const bridged = await bridgeCall();
      expect(bridged.status).toBe(200);
      expect(bridged.json.response.data.name).toBe(person.name);

      const started = Date.now();
      const viaHub = await askSandu('310118');
      expect(viaHub.json.code).toBe('HUB_UNREACHABLE');
      expect(viaHub.status).toBe(503);
      expect(Date.now() - started).toBeLessThan(5000);

      // The snapshot lives 6 s; wait (on the condition, however slow this machine is) for the
      // requester to refuse to rely on it.
      let expired: { status: number; json: any } | undefined;
      for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
        const r = await bridgeCall();
        if (r.json.code === 'DIRECTORY_EXPIRED') {
          expired = r;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(expired?.status).toBe(503);

      // The provider fetched its snapshot at its own moment: wait until its copy has expired
      // too, then it refuses a correctly signed request as well, and logs the refusal.
      for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
        const { json } = await t.operator('522732', '/v1/operator/directory');
        if (json.expiresAt && Date.parse(json.expiresAt) < Date.now()) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const before = await t.auditEntries('522732');
      const raw = await t.raw({ from: '330523', to: '522732', body: baseRequest() });
      expect(raw.json.code).toBe('DIRECTORY_EXPIRED');
      const after = await t.auditEntries('522732');
      expect(after.at(-1)).toMatchObject({ outcome: 'error', code: 'DIRECTORY_EXPIRED' });
      expect(after).toHaveLength(before.length + 1);

      await t.f.hub.start();
      let recovered = false;
      for (const deadline = Date.now() + 60_000; Date.now() < deadline && !recovered; ) {
        recovered = (await bridgeCall()).status === 200;
        if (!recovered) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(recovered).toBe(true);
    }, 180_000);
  });
}

export async function hubStoreText(t: TestFederation): Promise<string> {
  if (t.backend === 'sqlite') {
    const dataDir = join(t.f.dir, 'hub', 'data');
    const parts = ['node.sqlite', 'node.sqlite-wal'].map((f) => {
      try {
        return readFileSync(join(dataDir, f)).toString('utf8');
      } catch {
        return '';
      }
    });
    return parts.join('\n');
  }
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    const schema = `${t.schemaPrefix}_hub`;
    const tables = await client.query("SELECT table_name FROM information_schema.tables WHERE table_schema = $1", [schema]);
    const dumps: string[] = [];
    for (const { table_name } of tables.rows as Array<{ table_name: string }>) {
      const rows = await client.query(`SELECT * FROM ${schema}."${table_name}"`);
      dumps.push(JSON.stringify(rows.rows));
    }
    return dumps.join('\n');
  } finally {
    await client.end();
  }
}

async function tamper(t: TestFederation, division: string, sql: string): Promise<void> {
  if (t.backend === 'sqlite') {
    const db = new BetterSqlite3(join(t.f.dir, division, 'data', 'node.sqlite'));
    try {
      db.exec(sql);
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: postgresUrl, options: `-c search_path=${t.schemaPrefix}_${division}` });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
