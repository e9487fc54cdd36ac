import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBase64url } from '../src/crypto/base64url.ts';
import { canonicalJson, generateEncryptionKey, signJws, type SigningKey } from '../src/crypto/index.ts';
import { sampleSubjects } from '../src/demo/registries.ts';
import { type DirectorySnapshot } from '../src/directory/index.ts';
import { generateSigningKey, startTestFederation, withStandInHub, type Backend, type TestFederation } from './support/federation.ts';

const run = promisify(execFile);
const BIN = new URL('../bin/tongban.js', import.meta.url).pathname;
const HUB = '100000';
const SANDU_ANJI = 'AGR-522732-330523-001';
const HUB_AGREEMENT = 'AGR-HUB-DELTA-001';

/** A rotation request as a node builds it (src/directory buildRotationRequest), spelled out so it runs against any hub. */
async function buildRotationRequest(entry: Record<string, any>, newKey: SigningKey, overlapSeconds?: number) {
  const claim = canonicalJson({ division: entry.division, previousKid: entry.signingKey.kid, kid: newKey.kid });
  const proof = await signJws(newKey, new TextEncoder().encode(claim), { typ: 'tongban-key-rotation+jws' });
  return { entry: { ...entry, signingKey: { kid: newKey.kid, jwk: newKey.publicJwk } }, proof, ...(overlapSeconds === undefined ? {} : { overlapSeconds }) };
}

/**
 * The directory and agreement trust rules (issue 8, items 1, 2, 7 and 19), against real
 * servers; runs once on SQLite and once on PostgreSQL.
 */
export function directoryTrustContract(backend: Backend): void {
  let t: TestFederation;
  let person: string;

  beforeAll(async () => {
    // A long-lived snapshot: it is re-issued only when the directory changes.
    t = await startTestFederation(backend, { directory: { refreshSeconds: 0.5, snapshotTtlSeconds: 600 } });
    person = sampleSubjects(t.f.registryPath('522732'), 1).people[0]!.idNumber;
    // The servers listen on ephemeral ports; tell the CLI where the hub answers.
    const config = JSON.parse(readFileSync(t.f.hub.configPath, 'utf8'));
    writeFileSync(t.f.hub.configPath, JSON.stringify({ ...config, server: { ...config.server, publicUrl: t.f.hub.endpoint } }));
  }, 90_000);
  afterAll(async () => {
    await t?.stop();
  });

  const admin = async (method: 'GET' | 'POST', path: string) => {
    const response = await fetch(new URL(path, t.f.hub.endpoint), { method, headers: { authorization: `Bearer ${t.f.adminToken()}` } });
    return { status: response.status, json: (await response.json()) as any };
  };
  const entryOf = async (division: string) => {
    const { json } = await admin('GET', '/v1/directory/nodes');
    const { division: d, name, role, endpoint, signingKey, encryptionKey, services } = json.nodes.find((n: { division: string }) => n.division === division);
    return { division: d, name, role, endpoint, signingKey, encryptionKey, services };
  };
  const snapshot = async (): Promise<{ version: number; body: DirectorySnapshot }> => {
    const { snapshot: jws, version } = (await (await fetch(new URL('/v1/directory/snapshot', t.f.hub.endpoint))).json()) as { snapshot: string; version: number };
    return { version, body: JSON.parse(new TextDecoder().decode(fromBase64url(jws.split('.')[1]!))) as DirectorySnapshot };
  };
  const published = async (division: string) => (await snapshot()).body.nodes.find((n) => n.division === division);
  const enrol = (entry: unknown, key: SigningKey) => t.raw({ from: 'x', to: HUB, path: '/v1/directory/enrolments', body: entry, key });
  const newEntry = async (division: string, overrides: Record<string, unknown> = {}) => {
    const key = await generateSigningKey('Ed25519', division);
    const encryption = await generateEncryptionKey(division);
    return {
      key,
      entry: {
        division,
        name: `squatter ${division}`,
        role: 'node',
        endpoint: 'http://127.0.0.1:9/attacker',
        signingKey: { kid: key.kid, jwk: key.publicJwk },
        encryptionKey: { kid: encryption.kid, jwk: encryption.publicJwk },
        services: [],
        ...overrides,
      },
    };
  };
  const hubAudit = async () => t.auditEntries(HUB);
  const refreshAll = async () => {
    for (const division of t.f.nodes.keys()) await t.operator(division, '/v1/operator/directory/refresh', {});
  };
  const inForce = async (division: string, id: string) => {
    const { json } = await t.operator(division, '/v1/operator/directory');
    return (json.agreements as Array<{ id: string; version: number; parties: string[] }>).find((a) => a.id === id);
  };
  const agreementAtHub = async (id: string) => (await (await fetch(new URL(`/v1/agreements/${id}`, t.f.hub.endpoint))).json()) as any;
  /** Every party of `agreement` accepts and signs it through its own operator API (a node signs only what it accepted). */
  const signBy = async (agreement: unknown, parties: readonly string[]) => {
    const signatures = [];
    for (const party of parties) {
      expect((await t.operator(party, '/v1/operator/agreements/accept', { agreement })).status).toBe(200);
      const { status, json } = await t.operator(party, '/v1/operator/agreements/sign', { agreement });
      expect(status).toBe(200);
      signatures.push(json);
    }
    return signatures;
  };

  describe('directory hijack (item 1)', () => {
    it('an approved division’s kid re-enrolled with another key and endpoint is refused (KEY_ID_MISMATCH), logged at the hub, and the approved entry keeps serving', async () => {
      const before = await published('330523');
      const anji = t.key('330523');
      const attacker = await generateSigningKey('Ed25519', '330523');
      // The attacker keeps Anji's kid but publishes its own key and endpoint, signing with its key.
      const entry = { ...(await entryOf('330523')), endpoint: 'http://127.0.0.1:9/attacker', signingKey: { kid: anji.kid, jwk: attacker.publicJwk } };
      const r = await enrol(entry, { ...attacker, kid: anji.kid });
      expect(r.status).toBe(400);
      expect(r.json.code).toBe('KEY_ID_MISMATCH');
      expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);

      // A correctly bound new key for the approved division is no better: it needs a rotation.
      const other = await newEntry('330523');
      const again = await enrol(other.entry, other.key);
      expect(again.status).toBe(409);
      expect(again.json.code).toBe('NODE_ALREADY_ENROLLED');

      expect(await published('330523')).toEqual(before);
      const refusals = (await hubAudit()).filter((e) => e.kind === 'directory.enrol' && e.outcome === 'refused' && e.requester === '330523');
      expect(refusals.map((e) => e.code)).toEqual(expect.arrayContaining(['KEY_ID_MISMATCH', 'NODE_ALREADY_ENROLLED']));
      // Exchanges with Anji still reach the real Anji.
      await refreshAll();
      const { json } = await t.operator('522732', '/v1/operator/directory');
      expect(json.nodes.find((n: { division: string }) => n.division === '330523').endpoint).toBe(t.f.nodes.get('330523')!.endpoint);
    });

    it('a new endpoint signed with the current key waits as a change request; the snapshot is unchanged until the administrator decides', async () => {
      const entry = await entryOf('330523');
      const before = await snapshot();
      const r = await enrol({ ...entry, endpoint: 'http://127.0.0.1:9/elsewhere' }, t.key('330523'));
      expect(r.status).toBe(200);
      expect(r.json).toMatchObject({ outcome: 'change-requested', status: 'approved', endpoint: entry.endpoint });
      const after = await snapshot();
      expect(after.version).toBe(before.version);
      expect(after.body.nodes.find((n) => n.division === '330523')!.endpoint).toBe(entry.endpoint);

      const { json: pending } = await admin('GET', '/v1/directory/changes');
      expect(pending.changes).toEqual([expect.objectContaining({ division: '330523', kind: 'update', endpoint: 'http://127.0.0.1:9/elsewhere', current: expect.objectContaining({ endpoint: entry.endpoint }) })]);

      // The administrator refuses it, with the CLI.
      const cli = await run(process.execPath, [BIN, 'directory', 'reject-change', '330523', '--json', '--federation', t.f.dir]);
      expect(JSON.parse(cli.stdout)).toMatchObject({ division: '330523', kind: 'update' });
      expect((await admin('GET', '/v1/directory/changes')).json.changes).toEqual([]);
      expect((await admin('POST', '/v1/directory/changes/330523/approve')).json.code).toBe('CHANGE_REQUEST_NOT_FOUND');
      expect((await published('330523'))!.endpoint).toBe(entry.endpoint);
      expect((await hubAudit()).at(-1)).toMatchObject({ kind: 'directory.change.reject', outcome: 'allowed', requester: '330523' });
    });
  });

  describe('agreement takeover (item 2)', () => {
    const nextVersion = (current: any, changes: Record<string, unknown>) => ({ ...current.agreement, version: current.agreement.version + 1, ...changes });

    it('a 4-party hub agreement replaced by 2 of its parties is refused (409 AGREEMENT_NOT_COSIGNED) and logged', async () => {
      const current = await agreementAtHub(HUB_AGREEMENT);
      const takeover = nextVersion(current, {
        parties: ['320400', '310118'],
        items: [{ itemCode: 'N001', grants: [{ provider: '320400', service: 'business.registration', requesters: ['310118'], fields: ['entityName'], purposes: ['市场主体登记注册'], consentRequired: false }] }],
      });
      const r = await t.operator('310118', '/v1/operator/agreements/submit', { agreement: takeover, signatures: await signBy(takeover, ['320400', '310118']) });
      expect(r.status).toBe(409);
      expect(r.json.code).toBe('AGREEMENT_NOT_COSIGNED');
      expect((await agreementAtHub(HUB_AGREEMENT)).agreement).toEqual(current.agreement);
      expect((await hubAudit()).at(-1)).toMatchObject({ kind: 'agreement.register', outcome: 'refused', code: 'AGREEMENT_NOT_COSIGNED', requester: '310118', agreementId: HUB_AGREEMENT });
    });

    it('the Sandu–Anji bridge replaced by Changzhou and Qingpu is refused (409 AGREEMENT_NOT_COSIGNED)', async () => {
      const current = await agreementAtHub(SANDU_ANJI);
      const takeover = nextVersion(current, {
        parties: ['320400', '310118'],
        items: [{ itemCode: 'N034', grants: [{ provider: '320400', service: 'household.residence-proof', requesters: ['310118'], fields: ['name'], purposes: ['户籍类证明开具'], consentRequired: false }] }],
      });
      const r = await t.operator('320400', '/v1/operator/agreements/submit', { agreement: takeover, signatures: await signBy(takeover, ['320400', '310118']) });
      expect(r.status).toBe(409);
      expect(r.json.code).toBe('AGREEMENT_NOT_COSIGNED');
      // Adding the bridge's parties as signers does not make a bridge of four: the new parties must sign too.
      expect((await agreementAtHub(SANDU_ANJI)).agreement.parties).toEqual(['522732', '330523']);
    });

    it('the same version with other terms is refused (409 AGREEMENT_VERSION_CONFLICT)', async () => {
      const current = await agreementAtHub(SANDU_ANJI);
      const altered = { ...current.agreement, title: '改过的协议' };
      const r = await t.operator('522732', '/v1/operator/agreements/submit', { agreement: altered, signatures: await signBy(altered, ['522732', '330523']) });
      expect(r.status).toBe(409);
      expect(r.json.code).toBe('AGREEMENT_VERSION_CONFLICT');
      expect((await agreementAtHub(SANDU_ANJI)).agreement.title).toBe(current.agreement.title);
    });

    it('a new version signed by every party of the version in force is registered and adopted by the nodes', async () => {
      const current = await agreementAtHub(SANDU_ANJI);
      const amended = nextVersion(current, { title: `${current.agreement.title}（第二版）` });
      const r = await t.operator('330523', '/v1/operator/agreements/submit', { agreement: amended, signatures: await signBy(amended, ['522732', '330523']) });
      expect(r.status).toBe(200);
      expect(r.json).toMatchObject({ id: SANDU_ANJI, version: amended.version, registered: true });
      await refreshAll();
      expect(await inForce('522732', SANDU_ANJI)).toMatchObject({ version: amended.version });
      expect(await inForce('330523', SANDU_ANJI)).toMatchObject({ version: amended.version });
    });

    it('an amendment not yet valid is refused (409 AGREEMENT_VERSION_CONFLICT): the version in force stays in force until its successor can take over', async () => {
      const current = await agreementAtHub(SANDU_ANJI);
      const later = nextVersion(current, { title: `${current.agreement.title}（下年度）`, validFrom: new Date(Date.now() + 30 * 86_400_000).toISOString() });
      const r = await t.operator('522732', '/v1/operator/agreements/submit', { agreement: later, signatures: await signBy(later, ['522732', '330523']) });
      expect([r.status, r.json.code]).toEqual([409, 'AGREEMENT_VERSION_CONFLICT']);
      expect((await agreementAtHub(SANDU_ANJI)).agreement).toEqual(current.agreement);
      await refreshAll();
      expect(await inForce('330523', SANDU_ANJI)).toMatchObject({ version: current.agreement.version });
      expect((await hubAudit()).at(-1)).toMatchObject({ kind: 'agreement.register', outcome: 'refused', code: 'AGREEMENT_VERSION_CONFLICT', agreementId: SANDU_ANJI, detail: { version: later.version } });
    });

    it('a node keeps the version it accepted when a (malicious) hub’s signed snapshot swaps the agreement, and logs the refusal', async () => {
      const held = await inForce('522732', SANDU_ANJI);
      expect(held).toBeDefined();
      const { body } = await snapshot();
      const current = body.agreements.find((a) => a.agreement.id === SANDU_ANJI)!;
      const swapped = {
        ...current.agreement,
        version: current.agreement.version + 1,
        parties: ['320400', '310118'],
        items: [{ itemCode: 'N034', grants: [{ provider: '320400', service: 'household.residence-proof', requesters: ['310118'], fields: ['name'], purposes: ['户籍类证明开具'], consentRequired: false }] }],
      };
      // Every signature the new parties can give, and a snapshot signed with the real hub key.
      const forged: DirectorySnapshot = {
        ...body,
        version: body.version + 1,
        agreements: body.agreements.map((a) => (a.agreement.id === SANDU_ANJI ? { agreement: swapped as typeof a.agreement, signatures: [] } : a)),
      };
      forged.agreements.find((a) => a.agreement.id === SANDU_ANJI)!.signatures = await signBy(swapped, ['320400', '310118']);
      await withStandInHub(t, forged, async () => {
        for (const division of ['522732', '330523']) {
          const refreshed = await t.operator(division, '/v1/operator/directory/refresh', {});
          expect(refreshed.json).toMatchObject({ refreshed: true, version: forged.version });
          expect(await inForce(division, SANDU_ANJI)).toEqual(held);
        }
        const refused = (await t.auditEntries('522732')).filter((e) => e.kind === 'agreement.refuse');
        expect(refused.at(-1)).toMatchObject({ outcome: 'refused', code: 'AGREEMENT_NOT_COSIGNED', agreementId: SANDU_ANJI, detail: { version: swapped.version } });
        // The rightful bridge still works; the usurpers get nothing under it.
        const anji = await t.operator('330523', '/v1/operator/exchange', {
          provider: '522732',
          service: 'household.residence-proof',
          subject: { type: 'idNumber', value: person },
          purpose: '户籍类证明开具',
          agreementId: SANDU_ANJI,
          itemCode: 'N034',
        });
        expect(anji.status).toBe(200);
        expect(anji.json.response.data.idNumber).toBe(person);
      });
    }, 30_000);
  });

  describe('enrolment hygiene (item 7)', () => {
    it('a division that is not a GB/T 2260 code, an oversized name or services are refused, and nothing is stored', async () => {
      const unknown = await newEntry('999999');
      const r = await enrol(unknown.entry, unknown.key);
      expect(r.status).toBe(400);
      expect(r.json.code).toBe('VALIDATION_FAILED');
      const long = await newEntry('110105', { name: '名'.repeat(5000) });
      expect((await enrol(long.entry, long.key)).status).toBe(400);
      const many = await newEntry('110105', { services: Array.from({ length: 500 }, (_, i) => ({ id: `svc.n${i}`, subject: 'idNumber', fields: ['name'] })) });
      expect((await enrol(many.entry, many.key)).status).toBe(400);
      const { json } = await admin('GET', '/v1/directory/nodes');
      expect(json.nodes.map((n: { division: string }) => n.division)).not.toEqual(expect.arrayContaining(['999999']));
      expect(json.nodes.map((n: { division: string }) => n.division)).not.toContain('110105');
    });

    it('a pending enrolment does not re-issue the snapshot; the administrator rejects a squatter and removes an entry (CLI), both logged', async () => {
      const before = await snapshot();
      const squatter = await newEntry('110105');
      const first = await enrol(squatter.entry, squatter.key);
      expect(first.json).toMatchObject({ status: 'pending', outcome: 'enrolled' });
      expect((await snapshot()).version).toBe(before.version);

      // The rightful node is blocked by the squatter's pending entry…
      const rightful = await newEntry('110105', { name: '朝阳区', endpoint: 'http://127.0.0.1:9/chaoyang' });
      expect((await enrol(rightful.entry, rightful.key)).json.code).toBe('NODE_ALREADY_ENROLLED');
      // …until the administrator rejects it.
      const rejected = await run(process.execPath, [BIN, 'directory', 'reject', '110105', '--json', '--federation', t.f.dir]);
      expect(JSON.parse(rejected.stdout)).toMatchObject({ division: '110105', status: 'pending', signingKey: { kid: squatter.key.kid } });
      expect((await enrol(rightful.entry, rightful.key)).json).toMatchObject({ status: 'pending', signingKey: { kid: rightful.key.kid } });
      expect((await admin('POST', '/v1/directory/nodes/110105/approve')).json.status).toBe('approved');
      expect((await published('110105'))?.signingKey.kid).toBe(rightful.key.kid);

      const removed = await run(process.execPath, [BIN, 'directory', 'remove', '110105', '--json', '--federation', t.f.dir]);
      expect(JSON.parse(removed.stdout)).toMatchObject({ division: '110105', status: 'approved' });
      expect(await published('110105')).toBeUndefined();
      const log = await hubAudit();
      expect(log.filter((e) => e.requester === '110105').map((e) => e.kind)).toEqual(expect.arrayContaining(['directory.reject', 'directory.remove']));
    });
  });

  describe('documented answers (item 19)', () => {
    it('/v1/directory/nodes answers only the fields its schema documents; /v1/agreements/{id} documents its 403', async () => {
      const doc = (await (await fetch(new URL('/openapi.json', t.f.hub.endpoint))).json()) as any;
      const schema = doc.paths['/v1/directory/nodes'].get.responses['200'].content['application/json'].schema.properties.nodes.items;
      const { json } = await admin('GET', '/v1/directory/nodes');
      expect(json.nodes.length).toBeGreaterThan(3);
      for (const node of json.nodes) {
        for (const key of Object.keys(node)) expect(Object.keys(schema.properties)).toContain(key);
        for (const key of schema.required) expect(node).toHaveProperty(key);
      }
      const missing = await fetch(new URL('/v1/agreements/AGR-NO-SUCH', t.f.hub.endpoint));
      expect(Object.keys(doc.paths['/v1/agreements/{id}'].get.responses)).toContain(String(missing.status));
    });
  });

  // Last: Qingpu's own node keeps signing with its old key, valid only during the overlap.
  describe('key rotation (item 1)', () => {
    it('a rotation not signed with the current key is refused and logged; one signed with it waits for approval, then the old key verifies until the overlap ends', async () => {
      const qingpu = t.key('310118');
      const entry = await entryOf('310118');
      const newKey = await generateSigningKey('Ed25519', '310118');
      const body = await buildRotationRequest(entry, newKey, 8);

      // Signed with the new key only: refused, logged.
      const forged = await t.raw({ from: '310118', to: HUB, path: '/v1/directory/rotations', body, key: newKey });
      expect(forged.status).toBe(403);
      expect(forged.json.code).toBe('NODE_UNKNOWN');
      expect((await hubAudit()).at(-1)).toMatchObject({ kind: 'directory.rotation', outcome: 'refused', code: 'NODE_UNKNOWN', requester: '310118' });
      // Signed by another approved node: refused.
      const other = await t.raw({ from: '320400', to: HUB, path: '/v1/directory/rotations', body });
      expect(other.status).toBe(403);
      // A proof that the new key did not sign: refused.
      const unproven = await t.raw({ from: '310118', to: HUB, path: '/v1/directory/rotations', body: { ...body, proof: (await buildRotationRequest(entry, await generateSigningKey('Ed25519', '310118'))).proof } });
      expect(unproven.json.code).toBe('SIGNATURE_INVALID');

      const before = await snapshot();
      const requested = await t.raw({ from: '310118', to: HUB, path: '/v1/directory/rotations', body });
      expect(requested.status).toBe(200);
      expect(requested.json).toMatchObject({ division: '310118', kind: 'rotation', signingKid: newKey.kid, current: { signingKid: qingpu.kid } });
      expect((await snapshot()).version).toBe(before.version);
      expect((await published('310118'))!.signingKey.kid).toBe(qingpu.kid);

      const approved = await run(process.execPath, [BIN, 'directory', 'approve-change', '310118', '--json', '--federation', t.f.dir]);
      expect(JSON.parse(approved.stdout)).toMatchObject({ kind: 'rotation', signingKid: newKey.kid });
      const now = await published('310118');
      expect(now!.signingKey.kid).toBe(newKey.kid);
      expect(now!.previousKeys).toEqual([expect.objectContaining({ kid: qingpu.kid })]);
      expect((await hubAudit()).at(-1)).toMatchObject({ kind: 'directory.change.approve', requester: '310118', detail: { kind: 'rotation', kid: newKey.kid, previousKid: qingpu.kid } });
      await refreshAll();

      const ask = (key: SigningKey) =>
        t.raw({
          from: '310118',
          to: '522732',
          key,
          body: {
            requestId: crypto.randomUUID(),
            requester: '310118',
            provider: '522732',
            agreementId: HUB_AGREEMENT,
            itemCode: 'N034',
            service: 'household.residence-proof',
            purpose: '户籍类证明开具',
            caseId: 'CASE-310118-0001',
            operator: { id: 'clerk-1', role: 'clerk' },
            subject: { type: 'idNumber', value: person },
            fields: ['name'],
          },
        });
      // Both keys are known during the overlap (a hub-topology agreement refused at policy, after authentication).
      expect((await ask(newKey)).json.code).toBe('TOPOLOGY_NOT_ALLOWED');
      expect((await ask(qingpu)).json.code).toBe('TOPOLOGY_NOT_ALLOWED');
      // The agreements Qingpu signed with its old key stay in force everywhere.
      expect(await inForce('522732', HUB_AGREEMENT)).toBeDefined();
      const { json: sandu } = await t.operator('522732', '/v1/operator/directory');
      expect(sandu.agreements.map((a: { id: string }) => a.id)).toContain(HUB_AGREEMENT);

      const until = Date.parse(now!.previousKeys![0]!.validUntil);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, until - Date.now()) + 200));
      const late = await ask(qingpu);
      expect(late.status).toBe(403);
      expect(late.json.code).toBe('NODE_UNKNOWN');
      expect((await ask(newKey)).json.code).toBe('TOPOLOGY_NOT_ALLOWED');
      expect(await inForce('522732', HUB_AGREEMENT)).toBeDefined();
    }, 30_000);
  });
}
