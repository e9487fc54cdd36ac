import { createHash, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentDigest, decryptWith, encryptFor, signBytes, signJws, signMessage, verifyJws } from '../src/crypto/index.ts';
import type { DirectoryView } from '../src/directory/snapshot.ts';
import {
  ExchangeClient,
  httpSignatureAlg,
  JWE_CTY,
  JWS_TYP_REFUSAL,
  JWS_TYP_REQUEST,
  REQUEST_COMPONENTS,
  SIGNATURE_LABEL,
  signedResponseHeaders,
} from '../src/exchange/index.ts';
import { withResidentIdCheck } from '../src/standards/index.ts';
import { hubStoreText } from './federation-contract.ts';
import { signedInCitizen } from './support/citizen-tokens.ts';
import { signedArtefact } from './support/consent.ts';
import { startTestFederation, type Backend, type TestFederation } from './support/federation.ts';

const SANDU_ANJI = 'AGR-522732-330523-001';
const HUB_AGREEMENT = 'AGR-HUB-DELTA-001';

/**
 * Issue 8, items 13–15: provider refusals sealed end to end in hub mode, bounded and strictly
 * validated consent, ID numbers normalised wherever they enter. Real servers, real HTTP.
 */
export function exchangeTrustContract(backend: Backend): void {
  let t: TestFederation;
  /** A Sandu resident whose ID number ends in X. */
  let xPerson: { idNumber: string; name: string };
  let married: { idNumber: string; name: string };

  beforeAll(async () => {
    t = await startTestFederation(backend);
    const db = new BetterSqlite3(t.f.registryPath('522732'), { readonly: true });
    xPerson = db.prepare("SELECT id_number AS idNumber, name FROM household WHERE id_number LIKE '%X' LIMIT 1").get() as typeof xPerson;
    married = db.prepare("SELECT id_number AS idNumber, name FROM marriage WHERE marital_status = '20' LIMIT 1").get() as typeof married;
    db.close();
    expect(xPerson?.idNumber).toMatch(/X$/);
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
  });

  const runtimeOf = (division: string) => (division === '100000' ? t.f.hub.runtime! : t.f.nodes.get(division)!.runtime!);
  const ask = (from: string, subject: string, extra: Record<string, unknown> = {}) =>
    t.operator(from, '/v1/operator/exchange', {
      provider: '522732',
      service: 'household.residence-proof',
      subject: { type: 'idNumber', value: subject },
      purpose: '户籍类证明开具',
      ...extra,
    });

  describe('hub mode: a provider’s refusal is signed by the provider and sealed for the requester (item 13)', () => {
    it('the requester gets the provider’s code; the hub relays it without being able to read it (store and logs)', async () => {
      const nobody = withResidentIdCheck('52273219010101999');
      const hubBefore = await t.auditEntries('100000');
      const r = await ask('310118', nobody, { via: 'hub' });
      expect(r.status).toBe(404);
      expect(r.json.code).toBe('SUBJECT_NOT_FOUND');
      expect(r.json.detail).toContain('522732');
      // The provider and the requester each recorded the refusal with its code.
      expect((await t.auditEntries('522732')).at(-1)).toMatchObject({ kind: 'exchange.provide', outcome: 'refused', code: 'SUBJECT_NOT_FOUND', detail: { via: 'hub' } });
      expect((await t.auditEntries('310118')).at(-1)).toMatchObject({ kind: 'exchange.request', outcome: 'refused', code: 'SUBJECT_NOT_FOUND' });
      // The hub saw an answer go back, nothing more.
      const hubAfter = await t.auditEntries('100000');
      const relayed = hubAfter.slice(hubBefore.length).filter((e) => e.kind === 'exchange.relay');
      expect(relayed).toHaveLength(1);
      expect(relayed[0]).toMatchObject({ outcome: 'relayed', provider: '522732', requester: '310118' });
      expect(relayed[0].code).toBeUndefined();
      const hubText = await hubStoreText(t);
      expect(hubText).toContain('exchange.relay');
      const hubLogs = t.logs.filter((l) => l.startsWith('[100000]')).join('\n');
      for (const secret of ['SUBJECT_NOT_FOUND', 'has no such subject', nobody]) {
        expect(hubText).not.toContain(secret);
        expect(hubLogs).not.toContain(secret);
      }
    });

    it('a refusal the hub makes up in the provider’s name is rejected by the requester; the hub’s own refusals stay the hub’s', async () => {
      const requester = runtimeOf('310118');
      const hubKey = t.key('100000');
      const view = await requester.exchange.directory.current();
      const requesterEntry = view.node('310118')!;
      // A dishonest hub: it holds the hub's real signing key and answers every relay with `forge`.
      let forge: (relayed: { envelope: { requestId: string }; payload: string }) => Promise<{ status: number; body: unknown; type: string }> = async () => ({ status: 500, body: {}, type: 'application/json' });
      const server: Server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          void (async () => {
            const url = new URL(req.url!, base).toString();
            const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v]));
            const answer = await forge(JSON.parse(Buffer.concat(chunks).toString('utf8')));
            const body = JSON.stringify(answer.body);
            const signed = await signedResponseHeaders(hubKey, { status: answer.status, contentType: answer.type, body }, { method: 'POST', url, headers }, new Date());
            res.writeHead(answer.status, signed).end(body);
          })();
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      try {
        // The requester's own directory, except that the hub is reached at the dishonest one.
        const redirected = new Proxy(view, {
          get(target, prop) {
            if (prop === 'hub') return () => ({ ...target.hub()!, endpoint: base });
            const value = Reflect.get(target, prop, target) as unknown;
            return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
          },
        }) as DirectoryView;
        const client = new ExchangeClient({ ...requester.exchange, directory: { current: async () => redirected } });
        const request = () =>
          client.request({
            provider: '522732',
            agreementId: HUB_AGREEMENT,
            itemCode: 'N034',
            service: 'household.residence-proof',
            purpose: '户籍类证明开具',
            caseId: 'CASE-FORGED-1',
            operator: { id: 'clerk-1', role: 'clerk' },
            subject: { type: 'idNumber', value: xPerson.idNumber },
            fields: ['name'],
            via: 'hub',
          });
        const problem = (code: string, extra: Record<string, unknown> = {}) => ({ type: 'https://tongban.dev/problems/x', title: 'x', status: 404, code, detail: 'forged', ...extra });

        // 1. A provider-only refusal in clear, labelled as the hub's.
        forge = async () => ({ status: 404, body: problem('SUBJECT_NOT_FOUND', { origin: '100000' }), type: 'application/problem+json; charset=utf-8' });
        await expect(request()).rejects.toMatchObject({ code: 'PEER_RESPONSE_INVALID' });
        // 2. A refusal in clear that claims to be the provider's.
        forge = async () => ({ status: 403, body: problem('FIELD_NOT_ALLOWED', { status: 403, origin: '522732' }), type: 'application/problem+json; charset=utf-8' });
        await expect(request()).rejects.toMatchObject({ code: 'PEER_RESPONSE_INVALID' });
        // 3. A sealed refusal, bound to the payload, but signed by the hub instead of the provider.
        forge = async (relayed) => {
          const refusal = { requestId: relayed.envelope.requestId, provider: '522732', refusedAt: new Date().toISOString(), problem: { code: 'SUBJECT_NOT_FOUND', status: 404, title: 'x', detail: 'forged' } };
          const payloadDigest = createHash('sha256').update(relayed.payload).digest('base64url');
          const jws = await signJws(hubKey, new TextEncoder().encode(JSON.stringify(refusal)), { typ: JWS_TYP_REFUSAL, extra: { payloadDigest } });
          const payload = await encryptFor(requesterEntry.encryptionKey, new TextEncoder().encode(jws), JWE_CTY);
          return { status: 200, body: { requestId: relayed.envelope.requestId, payload }, type: 'application/json; charset=utf-8' };
        };
        await expect(request()).rejects.toMatchObject({ code: 'PEER_RESPONSE_INVALID' });
        const log = await t.auditEntries('310118');
        expect(log.slice(-3).map((e) => [e.kind, e.outcome, e.code])).toEqual(Array(3).fill(['exchange.request', 'error', 'PEER_RESPONSE_INVALID']));
        // 4. The hub's own refusal, labelled as such, is taken as the hub's.
        forge = async () => ({ status: 403, body: problem('FIELD_NOT_ALLOWED', { status: 403, origin: '100000' }), type: 'application/problem+json; charset=utf-8' });
        await expect(request()).rejects.toMatchObject({ code: 'FIELD_NOT_ALLOWED', message: expect.stringMatching(/^100000: /) });
      } finally {
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });

    it('a refusal by the real hub names the hub as its origin', async () => {
      const r = await ask('310118', xPerson.idNumber, { agreementId: HUB_AGREEMENT, itemCode: 'N034', fields: ['name', 'householdRelation'] });
      expect(r.json).toMatchObject({ code: 'FIELD_NOT_ALLOWED', detail: expect.stringMatching(/^100000: /) });
    });
  });

  describe('a signature window longer than 60 s is REQUEST_EXPIRED, as docs/protocol.md says (item 19)', () => {
    const householdRequest = (requester: string, agreementId: string, subject: string) => ({
      requestId: randomUUID(),
      requester,
      provider: '522732',
      agreementId,
      itemCode: 'N034',
      service: 'household.residence-proof',
      purpose: '户籍类证明开具',
      caseId: 'CASE-WINDOW-1',
      operator: { id: 'clerk-007', role: 'clerk' },
      subject: { type: 'idNumber', value: subject },
      fields: ['name'],
    });

    it('RFC 9421: created … expires 300 s apart', async () => {
      const key = t.key('330523');
      const url = new URL('/v1/exchange', t.f.nodes.get('522732')!.endpoint).toString();
      const body = JSON.stringify(householdRequest('330523', SANDU_ANJI, xPerson.idNumber));
      const headers: Record<string, string> = { 'content-type': 'application/json', 'content-digest': contentDigest(body) };
      const created = Math.floor(Date.now() / 1000);
      const signature = await signMessage(
        { method: 'POST', url, headers },
        {
          label: SIGNATURE_LABEL,
          components: REQUEST_COMPONENTS,
          params: { created, expires: created + 300, nonce: randomUUID(), keyid: key.kid, alg: httpSignatureAlg(key.algorithm) },
          sign: (base) => signBytes(key, base),
        },
      );
      const before = await t.auditEntries('522732');
      const response = await fetch(url, { method: 'POST', headers: { ...headers, ...signature }, body });
      expect(response.status).toBe(401);
      expect(((await response.json()) as { code: string }).code).toBe('REQUEST_EXPIRED');
      const after = await t.auditEntries('522732');
      expect(after).toHaveLength(before.length + 1);
      expect(after.at(-1)).toMatchObject({ outcome: 'refused', code: 'REQUEST_EXPIRED' });
    });

    it('hub mode: the requester’s inner JWS with a 300 s window is refused, sealed, as REQUEST_EXPIRED', async () => {
      const exchange = householdRequest('310118', HUB_AGREEMENT, xPerson.idNumber);
      const created = Math.floor(Date.now() / 1000);
      const inner = await signJws(t.key('310118'), new TextEncoder().encode(JSON.stringify(exchange)), { typ: JWS_TYP_REQUEST, extra: { created, expires: created + 300 } });
      const provider = (await runtimeOf('310118').exchange.directory.current()).node('522732')!;
      const payload = await encryptFor(provider.encryptionKey, new TextEncoder().encode(inner), JWE_CTY);
      const { requestId, requester, agreementId, itemCode, service, purpose, fields } = exchange;
      const r = await t.raw({ from: '310118', to: '100000', path: '/v1/relay', body: { envelope: { requestId, requester, provider: '522732', agreementId, itemCode, service, purpose, fields }, payload } });
      // The relay answer is the provider's sealed refusal: 200 for the hub, readable by the requester alone.
      expect(r.status).toBe(200);
      const jws = new TextDecoder().decode(await decryptWith(runtimeOf('310118').encryptionKey, r.json.payload, JWE_CTY));
      const verified = await verifyJws(jws, (kid) => (kid === provider.signingKey.kid ? provider.signingKey.jwk : null));
      expect(verified.ok).toBe(true);
      if (!verified.ok) return;
      expect(verified.header.typ).toBe(JWS_TYP_REFUSAL);
      expect(JSON.parse(new TextDecoder().decode(verified.payload))).toMatchObject({ requestId, provider: '522732', problem: { code: 'REQUEST_EXPIRED', status: 401 } });
    });
  });

  describe('consent: a hub-signed artefact, not yet valid or expired refused, at most 90 days (item 14, issue 12)', () => {
    const day = 86_400_000;
    const subject = () => ({ type: 'idNumber' as const, value: married.idNumber });
    /** An artefact signed with the real hub key: what only the verifier's bounds can refuse. */
    const consent = (overrides: Record<string, unknown> = {}) => signedArtefact(t.key('100000'), { subject: subject(), expiresAt: new Date(Date.now() + 30 * day).toISOString(), ...overrides });
    const marriageRequest = (c: unknown) => ({
      requestId: randomUUID(),
      requester: '330523',
      provider: '522732',
      agreementId: SANDU_ANJI,
      itemCode: 'N037',
      service: 'marriage.status',
      purpose: '婚姻登记',
      caseId: 'CASE-330523-0002',
      operator: { id: 'clerk-007', role: 'clerk' },
      subject: subject(),
      fields: ['maritalStatus'],
      consent: c,
    });

    it('a 30-day consent is accepted', async () => {
      const r = await t.raw({ from: '330523', to: '522732', body: marriageRequest(await consent()) });
      expect(r.status).toBe(200);
      expect(r.json.data.maritalStatus).toBe('20');
    });

    it.each([
      ['lasts longer than 90 days', () => consent({ expiresAt: new Date(Date.now() + 100 * day).toISOString() })],
      ['is not valid yet', () => consent({ issuedAt: new Date(Date.now() + 3_600_000).toISOString(), notBefore: new Date(Date.now() + 3_600_000).toISOString() })],
      ['expires before it is valid', () => consent({ expiresAt: new Date(Date.now() - 120_000).toISOString() })],
      ['has expired', () => consent({ issuedAt: new Date(Date.now() - 2 * day).toISOString(), notBefore: new Date(Date.now() - 2 * day).toISOString(), expiresAt: new Date(Date.now() - day).toISOString() })],
      ['carries a member the schema does not know', () => consent({ scope: 'everything' })],
      ['has a malformed date', () => consent({ expiresAt: 'next year' })],
      ['is no JWS at all (the old unsigned object)', async () => ({ subject: married.idNumber, agreementId: SANDU_ANJI, itemCode: 'N037', provider: '522732', grantedAt: new Date().toISOString(), expiresAt: new Date(Date.now() + day).toISOString(), method: 'counter-signature' })],
    ])('the provider refuses a consent that %s: CONSENT_INVALID, logged', async (_name, make) => {
      const before = await t.auditEntries('522732');
      const r = await t.raw({ from: '330523', to: '522732', body: marriageRequest(await make()) });
      expect(r.status).toBe(403);
      expect(r.json.code).toBe('CONSENT_INVALID');
      const after = await t.auditEntries('522732');
      expect(after).toHaveLength(before.length + 1);
      expect(after.at(-1)).toMatchObject({ kind: 'exchange.provide', outcome: 'refused', code: 'CONSENT_INVALID' });
    });

    it('the requester refuses to send a consent longer than allowed: CONSENT_INVALID, logged, nothing sent', async () => {
      const providerBefore = await t.auditEntries('522732');
      const r = await t.operator('330523', '/v1/operator/exchange', {
        provider: '522732',
        service: 'marriage.status',
        subject: subject(),
        purpose: '婚姻登记',
        fields: ['maritalStatus'],
        consent: await consent({ expiresAt: new Date(Date.now() + 365 * day).toISOString() }),
      });
      expect(r.status).toBe(403);
      expect(r.json.code).toBe('CONSENT_INVALID');
      expect((await t.auditEntries('330523')).at(-1)).toMatchObject({ kind: 'exchange.request', outcome: 'refused', code: 'CONSENT_INVALID' });
      expect(await t.auditEntries('522732')).toHaveLength(providerBefore.length);
    });
  });

  describe('ID numbers with a lower-case x are normalised wherever they enter (item 15)', () => {
    const lower = () => xPerson.idNumber.slice(0, 17) + 'x';

    it('an exchange for `…x` returns the record of `…X`, over a bridge and through the hub, and both sides hash the same subject', async () => {
      const upper = await ask('330523', xPerson.idNumber);
      expect(upper.status).toBe(200);
      const upperHash = (await t.auditEntries('330523')).at(-1).subjectHash;
      const providerUpperHash = (await t.auditEntries('522732')).at(-1).subjectHash;

      const bridge = await ask('330523', lower());
      expect(bridge.status).toBe(200);
      expect(bridge.json.response.data).toMatchObject({ idNumber: xPerson.idNumber, name: xPerson.name });
      expect((await t.auditEntries('330523')).at(-1).subjectHash).toBe(upperHash);
      expect((await t.auditEntries('522732')).at(-1).subjectHash).toBe(providerUpperHash);

      const hub = await ask('310118', lower());
      expect(hub.status).toBe(200);
      expect(hub.json.via).toBe('hub');
      expect(hub.json.response.data.name).toBe(xPerson.name);
      expect((await t.auditEntries('522732')).at(-1).subjectHash).toBe(providerUpperHash);
    });

    it('a provider normalises what a requester sent as `…x`', async () => {
      const r = await t.raw({
        from: '330523',
        to: '522732',
        body: {
          requestId: randomUUID(),
          requester: '330523',
          provider: '522732',
          agreementId: SANDU_ANJI,
          itemCode: 'N034',
          service: 'household.residence-proof',
          purpose: '户籍类证明开具',
          caseId: 'CASE-330523-0003',
          operator: { id: 'clerk-007', role: 'clerk' },
          subject: { type: 'idNumber', value: lower() },
          fields: ['name'],
        },
      });
      expect(r.status).toBe(200);
      expect(r.json.data.name).toBe(xPerson.name);
    });

    it('a citizen enrolled at the hub with `…x` sees the cases filed for them, by staff or by themselves', async () => {
      // The hub normalises the ID number at enrolment: the access token carries `…X`, whatever was typed.
      const citizen = await signedInCitizen(t.f, { idNumber: lower(), name: xPerson.name }, { node: '522732' });
      const citizenToken = await citizen.accessToken();
      const clerk = await t.operator('522732', '/v1/operator/accounts', { id: 'x-clerk', role: 'clerk', name: '王' });
      const call = async (token: string, method: string, path: string, body?: unknown) => {
        const response = await fetch(new URL(path, t.f.nodes.get('522732')!.endpoint), {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        return { status: response.status, json: (await response.json()) as any };
      };
      const application = (idNumber: string) => ({ itemCode: 'N034', mode: 'online', competentNodes: ['330523'], applicant: { idNumber, name: xPerson.name } });
      const byStaff = await call(clerk.json.token, 'POST', '/v1/cases', application(xPerson.idNumber));
      expect(byStaff.status).toBe(201);
      const byThemselves = await call(citizenToken, 'POST', '/v1/cases', application(lower()));
      expect(byThemselves.status).toBe(201);
      expect(byThemselves.json.case.applicant.idNumber).toBe(xPerson.idNumber);
      const mine = await call(citizenToken, 'GET', '/v1/cases');
      expect(mine.json.cases.map((c: any) => c.case.id).sort()).toEqual([byStaff.json.case.id, byThemselves.json.case.id].sort());
      expect((await call(citizenToken, 'GET', `/v1/cases/${byStaff.json.case.id}`)).status).toBe(200);
    });
  });
}
