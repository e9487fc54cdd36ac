import { randomUUID } from 'node:crypto';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptWith, encryptFor, generateSigningKey, signJws, verifyJws } from '../src/crypto/index.ts';
import { JWE_CTY, JWS_TYP_REFUSAL, JWS_TYP_REQUEST, REQUEST_TTL_SECONDS, signedRequestHeaders } from '../src/exchange/index.ts';
import { demoFederation } from '../src/federation/index.ts';
import type { ConsentGrantInput, ConsentView } from '../src/identity/consent/index.ts';
import { hubTokens, type HubTokens } from './support/citizen-tokens.ts';
import { grantConsent, hubCall, signedArtefact, signedInCitizen, until, type SignedInCitizen } from './support/consent.ts';
import { startTestFederation, type Backend, type TestFederation } from './support/federation.ts';
import { cliClient, signIn } from './support/identity.ts';

const SANDU_ANJI = 'AGR-522732-330523-001';
const SANDU_CHANGZHOU = 'AGR-522732-320400-001';
/** A hub-mode agreement whose grant requires consent (none of the demo's does): Qingpu asks Sandu through the hub. */
const HUB_CONSENT = 'AGR-HUB-CONSENT-TEST-001';
const HUB = '100000';
const SANDU = '522732';
const ANJI = '330523';
const QINGPU = '310118';

const hubConsentAgreement = {
  id: HUB_CONSENT,
  title: '三都—青浦 婚姻登记信息共享（经国家平台，须本人同意；测试）',
  topology: 'hub' as const,
  parties: [SANDU, QINGPU],
  items: [{ itemCode: 'N037', grants: [{ provider: SANDU, service: 'marriage.status', requesters: [QINGPU], fields: ['idNumber', 'name', 'maritalStatus', 'spouseName'], purposes: ['婚姻登记'], consentRequired: true }] }],
};

/**
 * Issue 12, item 4: consent the citizen gives. A citizen signed in at the hub for real (the
 * authorization-code flow, the hub's form, a hub access token) grants, lists and revokes consents
 * over HTTP; the hub signs the artefact on their behalf; the requesting node attaches it (or its
 * id); the provider verifies it offline against the hub's key, counts its use (atomically) and
 * refuses it once revoked or, single-use, spent — over a bridge and through the hub's relay.
 * Real servers, real HTTP.
 */
export function consentContract(backend: Backend): void {
  let t: TestFederation;
  let tokens: HubTokens;
  let married: SignedInCitizen;
  let other: SignedInCitizen;

  beforeAll(async () => {
    t = await startTestFederation(backend, { agreements: [...(demoFederation().agreements ?? []), hubConsentAgreement] });
    const db = new BetterSqlite3(t.f.registryPath(SANDU), { readonly: true });
    const [first, second] = db.prepare("SELECT id_number AS idNumber, name FROM marriage WHERE marital_status = '20' LIMIT 2").all() as Array<{ idNumber: string; name: string }>;
    db.close();
    married = await signedInCitizen(t, first!);
    other = await signedInCitizen(t, second!);
    tokens = await hubTokens(t);
  }, 300_000);
  afterAll(async () => {
    await t?.stop();
  });

  const grantInput = (overrides: Partial<ConsentGrantInput> = {}): ConsentGrantInput => ({
    requester: ANJI,
    provider: SANDU,
    agreementId: SANDU_ANJI,
    itemCode: 'N037',
    purpose: '婚姻登记',
    fields: ['maritalStatus', 'spouseName'],
    expiresAt: new Date(Date.now() + 7 * 86_400_000).toISOString(),
    use: 'until-expiry',
    ...overrides,
  });
  const grant = (overrides: Partial<ConsentGrantInput> = {}, who = married) => grantConsent(t, who, grantInput(overrides));
  const list = async (who: SignedInCitizen): Promise<ConsentView[]> => {
    const r = await hubCall(t, 'GET', '/v1/consents?limit=200', await who.token());
    expect(r.status).toBe(200);
    return r.json.consents;
  };
  const revoke = async (id: string, who = married) => hubCall(t, 'POST', `/v1/consents/${id}/revoke`, await who.token(), {});
  /** Anji's operator asks Sandu for the marriage record, with a consent (artefact or id) or none. */
  const ask = (consent?: string, who: { idNumber: string } = married, extra: Record<string, unknown> = {}, from = ANJI) =>
    t.operator(from, '/v1/operator/exchange', {
      provider: SANDU,
      service: 'marriage.status',
      subject: { type: 'idNumber', value: who.idNumber },
      purpose: '婚姻登记',
      fields: ['maritalStatus'],
      ...(consent ? { consent } : {}),
      ...extra,
    });
  /** The same as a raw bridge request signed by `from`, carrying the artefact as it is. */
  const raw = (consent: string | undefined, overrides: Record<string, unknown> = {}, from = ANJI) =>
    t.raw({
      from,
      to: SANDU,
      body: {
        requestId: randomUUID(),
        requester: from,
        provider: SANDU,
        agreementId: SANDU_ANJI,
        itemCode: 'N037',
        service: 'marriage.status',
        purpose: '婚姻登记',
        caseId: 'CASE-330523-0001',
        operator: { id: 'clerk-007', role: 'clerk' },
        subject: { type: 'idNumber', value: married.idNumber },
        fields: ['maritalStatus'],
        ...(consent ? { consent } : {}),
        ...overrides,
      },
    });
  const sanduUses = (id: string) => t.f.nodes.get(SANDU)!.runtime!.store.consentUses.get(id);
  const useCountAtHub = (who: SignedInCitizen, id: string, count: number) =>
    until(async () => (await list(who)).find((c) => c.id === id && c.useCount === count), 20_000, `the use count ${count} at the hub`);

  describe('an exchange lacking a required consent is refused, on both sides', () => {
    it('the provider refuses a request without consent: CONSENT_REQUIRED, logged', async () => {
      const r = await raw(undefined);
      expect(r.status).toBe(403);
      expect(r.json.code).toBe('CONSENT_REQUIRED');
      expect((await t.auditEntries(SANDU)).at(-1)).toMatchObject({ kind: 'exchange.provide', outcome: 'refused', code: 'CONSENT_REQUIRED' });
    });

    it('the requester refuses to send one: CONSENT_REQUIRED, logged at the requester, nothing reaches the provider', async () => {
      const providerBefore = await t.auditEntries(SANDU);
      const r = await ask(undefined);
      expect(r.status).toBe(403);
      expect(r.json.code).toBe('CONSENT_REQUIRED');
      expect((await t.auditEntries(ANJI)).at(-1)).toMatchObject({ kind: 'exchange.request', outcome: 'refused', code: 'CONSENT_REQUIRED' });
      expect(await t.auditEntries(SANDU)).toHaveLength(providerBefore.length);
    });
  });

  describe('the citizen signed in at the hub grants, lists and revokes over HTTP', () => {
    it('grants (201): the hub signs the terms asked, for the citizen the access token names; the audit log has no ID number', async () => {
      const r = await hubCall(t, 'POST', '/v1/consents', await married.token(), grantInput({ use: 'single' }));
      expect(r.status).toBe(201);
      expect(r.json).toMatchObject({ status: 'active', useCount: 0, lastUsedAt: null, revokedAt: null, requester: ANJI, provider: SANDU, agreementId: SANDU_ANJI, service: 'marriage.status', use: 'single', fields: ['maritalStatus', 'spouseName'] });
      const claims = JSON.parse(Buffer.from(r.json.artefact.split('.')[1], 'base64url').toString());
      expect(claims).toMatchObject({ id: r.json.id, issuer: HUB, subject: { type: 'idNumber', value: married.idNumber } });
      expect((await list(married)).map((c) => c.id)).toContain(r.json.id);
      const hubLog = await t.auditEntries(HUB);
      // Who granted is who signed in: the subject of the access token, at the hub, as a citizen.
      const sub = (JSON.parse(Buffer.from((await married.token()).split('.')[1]!, 'base64url').toString()) as { sub: string }).sub;
      expect(hubLog.find((e) => e.kind === 'consent.grant' && e.detail.consent === r.json.id)).toMatchObject({ actor: { subject: sub, node: HUB, role: 'citizen' }, requester: ANJI, provider: SANDU });
      expect(JSON.stringify(hubLog)).not.toContain(married.idNumber);
    });

    it('is served attached as the artefact or named by its id; the provider counts each use and the citizen sees the count', async () => {
      const consent = await grant();
      const byArtefact = await ask(consent.artefact);
      expect(byArtefact.status).toBe(200);
      expect(byArtefact.json.response.data.maritalStatus).toBe('20');
      const byId = await ask(consent.id);
      expect(byId.status).toBe(200);
      expect(await sanduUses(consent.id)).toMatchObject({ uses: 2, revokedAt: null });
      // Both audit logs name the consent, never the citizen's number.
      expect((await t.auditEntries(SANDU)).at(-1)).toMatchObject({ kind: 'exchange.provide', outcome: 'allowed', detail: { consent: consent.id, consentUses: 2, operatorRole: expect.any(String) } });
      expect((await t.auditEntries(ANJI)).at(-1)).toMatchObject({ kind: 'exchange.request', outcome: 'allowed', detail: { consent: consent.id } });
      // The provider reports its count to the hub through its outbox: the citizen's list shows it.
      const listed = await useCountAtHub(married, consent.id, 2);
      expect(listed).toMatchObject({ status: 'active', lastUsedAt: expect.any(String) });
    });

    it('a single-use consent is refused on its second use: CONSENT_USED; the hub shows one use', async () => {
      const consent = await grant({ use: 'single' });
      expect((await ask(consent.artefact)).status).toBe(200);
      const second = await ask(consent.artefact);
      expect(second.status).toBe(403);
      expect(second.json.code).toBe('CONSENT_USED');
      expect((await t.auditEntries(SANDU)).at(-1)).toMatchObject({ kind: 'exchange.provide', outcome: 'refused', code: 'CONSENT_USED', detail: { consent: consent.id, operatorRole: expect.any(String) } });
      expect(await sanduUses(consent.id)).toMatchObject({ uses: 1 });
      // Spent: the citizen's list says so (a single-use consent served once is "used", no longer "active").
      expect(await useCountAtHub(married, consent.id, 1)).toMatchObject({ status: 'used', use: 'single' });
      // Revoked wins over used.
      expect((await revoke(consent.id)).json).toMatchObject({ status: 'revoked', useCount: 1 });
    });

    it('two concurrent uses of a single-use consent: exactly one is served', async () => {
      const consent = await grant({ use: 'single' });
      const answers = await Promise.all([raw(consent.artefact), raw(consent.artefact), raw(consent.artefact)]);
      expect(answers.map((a) => a.status).sort()).toEqual([200, 403, 403]);
      expect(answers.filter((a) => a.status === 403).map((a) => a.json.code)).toEqual(['CONSENT_USED', 'CONSENT_USED']);
      expect(await sanduUses(consent.id)).toMatchObject({ uses: 1 });
    });

    it('a revoked consent is refused on its next use: the hub tells the provider at once (CONSENT_REVOKED)', async () => {
      const consent = await grant();
      expect((await ask(consent.artefact)).status).toBe(200);
      const revoked = await revoke(consent.id);
      expect(revoked.status).toBe(200);
      expect(revoked.json).toMatchObject({ id: consent.id, status: 'revoked', revokedAt: expect.any(String) });
      // Revoking again changes nothing.
      const again = await revoke(consent.id);
      expect(again.status).toBe(200);
      expect(again.json.revokedAt).toBe(revoked.json.revokedAt);
      expect((await list(married)).find((c) => c.id === consent.id)?.status).toBe('revoked');
      expect((await t.auditEntries(HUB)).filter((e) => e.kind === 'consent.revoke' && e.detail.consent === consent.id)).toEqual([expect.objectContaining({ outcome: 'allowed', actor: expect.objectContaining({ role: 'citizen' }) })]);
      await until(async () => (await sanduUses(consent.id))?.revokedAt, 20_000, 'the revocation at the provider');
      const next = await raw(consent.artefact);
      expect(next.status).toBe(403);
      expect(next.json.code).toBe('CONSENT_REVOKED');
      expect((await t.auditEntries(SANDU)).some((e) => e.kind === 'consent.revoked' && e.requester === HUB && e.detail.consent === consent.id)).toBe(true);
      // Named by its id, the requester learns it from the hub and sends nothing.
      const byId = await ask(consent.id);
      expect(byId.status).toBe(403);
      expect(byId.json.code).toBe('CONSENT_REVOKED');
    });

    it('a revocation reaches a provider that was down when it was made, before its next use', async () => {
      const consent = await grant();
      const sandu = t.f.nodes.get(SANDU)!;
      await sandu.stop();
      try {
        expect((await revoke(consent.id)).status).toBe(200);
      } finally {
        await sandu.start();
      }
      await until(async () => (await sanduUses(consent.id))?.revokedAt, 30_000, 'the retried revocation');
      const next = await raw(consent.artefact);
      expect(next.json.code).toBe('CONSENT_REVOKED');
    }, 120_000);

    it('the hub checks what it signs: only a grant that requires consent, within the agreement and the maximum', async () => {
      const refused = async (overrides: Partial<ConsentGrantInput>) => {
        const r = await hubCall(t, 'POST', '/v1/consents', await married.token(), grantInput(overrides));
        return [r.status, r.json.code];
      };
      expect(await refused({ itemCode: 'N034', purpose: '户籍类证明开具', fields: ['name'] })).toEqual([422, 'CONSENT_NOT_REQUIRED']);
      expect(await refused({ fields: ['maritalStatus', 'householdRelation'] })).toEqual([403, 'FIELD_NOT_ALLOWED']);
      expect(await refused({ purpose: '市场营销' })).toEqual([403, 'PURPOSE_NOT_ALLOWED']);
      expect(await refused({ agreementId: 'AGR-NO-SUCH' })).toEqual([403, 'AGREEMENT_NOT_FOUND']);
      // A requester or provider the agreement does not name, or the two swapped.
      expect(await refused({ requester: QINGPU })).toEqual([403, 'NOT_A_PARTY']);
      expect(await refused({ requester: SANDU, provider: ANJI })).toEqual([403, 'SERVICE_NOT_IN_AGREEMENT']);
      // Another agreement's grant: Changzhou's bridge does not grant Anji anything.
      expect(await refused({ agreementId: SANDU_CHANGZHOU })).toEqual([403, 'NOT_A_PARTY']);
      expect(await refused({ expiresAt: new Date(Date.now() + 100 * 86_400_000).toISOString() })).toEqual([400, 'VALIDATION_FAILED']);
      expect(await refused({ expiresAt: new Date(Date.now() - 1000).toISOString() })).toEqual([400, 'VALIDATION_FAILED']);
      // A body naming the citizen (or anything the schema does not know) is refused, not believed.
      const named = await hubCall(t, 'POST', '/v1/consents', await married.token(), { ...grantInput(), subject: { type: 'idNumber', value: other.idNumber } });
      expect([named.status, named.json.code]).toEqual([400, 'VALIDATION_FAILED']);
      // Nothing was signed for any of them.
      expect((await list(married)).filter((c) => c.purpose === '市场营销' || c.itemCode === 'N034')).toEqual([]);
    });
  });

  describe('nobody else sees or revokes a citizen’s consent', () => {
    it('another citizen: not in their list; revoking it is CONSENT_NOT_FOUND, the same answer as for no consent at all', async () => {
      const mine = await grant();
      const theirs = await grant({}, other);
      expect((await list(married)).map((c) => c.id)).toContain(mine.id);
      expect((await list(married)).map((c) => c.id)).not.toContain(theirs.id);
      expect((await list(other)).map((c) => c.id)).not.toContain(mine.id);
      const foreign = await revoke(theirs.id, married);
      const none = await revoke(randomUUID(), married);
      expect([foreign.status, foreign.json.code]).toEqual([404, 'CONSENT_NOT_FOUND']);
      expect([none.status, none.json.code]).toEqual([404, 'CONSENT_NOT_FOUND']);
      // The two refusals differ only in the id they repeat: nothing tells them apart.
      expect(foreign.json.detail.replace(theirs.id, '<id>')).toBe(none.json.detail.replace(/[0-9a-f-]{36}/, '<id>'));
      expect(JSON.stringify(foreign.json)).not.toContain(other.idNumber);
      expect((await list(other)).find((c) => c.id === theirs.id)?.status).toBe('active');
      expect(await sanduUses(theirs.id)).toBeUndefined();
    });

    it('staff — of a node, or of the hub itself — are refused with 403, signed in as they are', async () => {
      const mine = await grant();
      const enrolStaff = async (division: string, login: string) => {
        const url = new URL('/v1/identity/staff', t.f.hub.endpoint).toString();
        const body = JSON.stringify({ login, name: '职员', password: 'consent-staff-password', roles: ['clerk', 'supervisor'] });
        const r = await fetch(url, { method: 'POST', headers: await signedRequestHeaders(t.key(division), url, body, new Date()), body });
        expect([201, 409]).toContain(r.status);
        // Their own client's token (the CLI's, for the federation): a node client's would not even be for the hub.
        return (await signIn(t.f.hub.endpoint, login, 'consent-staff-password', cliClient())).accessToken;
      };
      for (const [token, code] of [
        [await enrolStaff(ANJI, `consent@${ANJI}`), 'STAFF_OF_ANOTHER_NODE'],
        [await enrolStaff(HUB, `consent@${HUB}`), 'CONSENT_FORBIDDEN'],
      ] as const) {
        for (const r of [await hubCall(t, 'POST', '/v1/consents', token, grantInput()), await hubCall(t, 'GET', '/v1/consents', token), await hubCall(t, 'POST', `/v1/consents/${mine.id}/revoke`, token, {})]) {
          expect([r.status, r.json.code]).toEqual([403, code]);
        }
      }
      expect((await list(married)).find((c) => c.id === mine.id)?.status).toBe('active');
    });

    it('machine clients are refused with 403 — and none can carry the citizen’s number (an applicant account is refused at creation)', async () => {
      const mine = await grant();
      const create = (role: string, extra: Record<string, unknown> = {}) => t.operator(HUB, '/v1/operator/accounts', { id: `consent-${role}-${randomUUID().slice(0, 8)}`, role, name: '机器', ...extra });
      const account = async (role: string) => (await create(role)).json.token as string;
      const applicantAccount = await create('applicant', { idNumber: married.idNumber });
      expect([applicantAccount.status, applicantAccount.json.code]).toEqual([400, 'VALIDATION_FAILED']);
      for (const token of [await account('clerk'), await account('dataAdmin')]) {
        for (const r of [await hubCall(t, 'POST', '/v1/consents', token, grantInput()), await hubCall(t, 'GET', '/v1/consents', token), await hubCall(t, 'POST', `/v1/consents/${mine.id}/revoke`, token, {})]) {
          expect([r.status, r.json.code]).toEqual([403, 'CONSENT_FORBIDDEN']);
        }
      }
      // A node's machine token means nothing at the hub; no token at all, nobody.
      const sanduClerk = (await t.operator(SANDU, '/v1/operator/accounts', { id: `consent-sandu-${randomUUID().slice(0, 8)}`, role: 'clerk', name: '机器' })).json.token as string;
      expect((await hubCall(t, 'GET', '/v1/consents', sanduClerk)).status).toBe(401);
      expect((await hubCall(t, 'GET', '/v1/consents', undefined)).status).toBe(401);
      expect((await list(married)).find((c) => c.id === mine.id)?.status).toBe('active');
    });

    it('a token the hub never issued, or one for an account it does not hold (or holds with another number), is refused', async () => {
      const stranger = await tokens.craft({ sub: 'p-stranger', name: 'x', tongban_kind: 'citizen', tongban_id_number: married.idNumber }, { key: tokens.strangerKey });
      expect((await hubCall(t, 'GET', '/v1/consents', stranger)).status).toBe(401);
      // Signed with the hub's own OIDC key (as only someone holding its key file could): no such account.
      const ghost = await tokens.craft({ sub: 'p-ghost', name: 'x', tongban_kind: 'citizen', tongban_id_number: married.idNumber });
      const ghostGrant = await hubCall(t, 'POST', '/v1/consents', ghost, grantInput());
      expect([ghostGrant.status, ghostGrant.json.code]).toEqual([403, 'CONSENT_FORBIDDEN']);
      // The other citizen's account, with the married citizen's number: the account's number decides.
      const otherSub = (JSON.parse(Buffer.from((await other.token()).split('.')[1]!, 'base64url').toString()) as { sub: string }).sub;
      const swapped = await tokens.craft({ sub: otherSub, name: 'x', tongban_kind: 'citizen', tongban_id_number: married.idNumber });
      const swappedList = await hubCall(t, 'GET', '/v1/consents', swapped);
      expect([swappedList.status, swappedList.json.code]).toEqual([403, 'CONSENT_FORBIDDEN']);
    });
  });

  describe('forged or misused artefacts are refused: CONSENT_INVALID', () => {
    it('signed with another key than the hub’s (a node’s own, a fresh one under the hub’s kid)', async () => {
      const fresh = await generateSigningKey('Ed25519', HUB);
      const hubKid = t.key(HUB).kid;
      for (const artefact of [
        await signedArtefact(t.key(ANJI), { subject: { type: 'idNumber', value: married.idNumber }, kid: t.key(ANJI).kid }),
        await signedArtefact({ ...fresh, kid: hubKid }, { subject: { type: 'idNumber', value: married.idNumber }, kid: hubKid }),
      ]) {
        const r = await raw(artefact);
        expect(r.status).toBe(403);
        expect(r.json.code).toBe('CONSENT_INVALID');
        // The requester does not send it either.
        const asked = await ask(artefact);
        expect(asked.json.code).toBe('CONSENT_INVALID');
      }
    });

    it('a genuine artefact with its payload altered (more fields)', async () => {
      const consent = await grant({ fields: ['maritalStatus'] });
      const [header, payload, signature] = consent.artefact.split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
      const altered = `${header}.${Buffer.from(JSON.stringify({ ...claims, fields: ['maritalStatus', 'spouseName', 'spouseIdNumber'] })).toString('base64url')}.${signature}`;
      const r = await raw(altered, { fields: ['maritalStatus', 'spouseIdNumber'] });
      expect(r.status).toBe(403);
      expect(r.json.code).toBe('CONSENT_INVALID');
      // The genuine one does not cover the extra field.
      const beyond = await raw(consent.artefact, { fields: ['maritalStatus', 'spouseIdNumber'] });
      expect(beyond.json.code).toBe('CONSENT_INVALID');
    });

    it('another requester: Changzhou presents the consent the citizen gave Anji', async () => {
      const consent = await grant();
      const r = await raw(consent.artefact, { agreementId: SANDU_CHANGZHOU, requester: '320400', caseId: 'CASE-320400-0001' }, '320400');
      expect(r.status).toBe(403);
      expect(r.json.code).toBe('CONSENT_INVALID');
      expect(r.json.detail).toMatch(/another requester/);
      // Nor may it ask the hub for it by id.
      const status = await t.raw({ from: '320400', to: HUB, path: `/v1/consents/${consent.id}/status`, body: {} });
      expect(status.status).toBe(404);
      expect(status.json.code).toBe('CONSENT_NOT_FOUND');
    });

    it('another citizen: a consent is no good for someone else’s record, as an artefact or by its id', async () => {
      const consent = await grant();
      const r = await raw(consent.artefact, { subject: { type: 'idNumber', value: other.idNumber } });
      expect(r.json.code).toBe('CONSENT_INVALID');
      expect(r.json.detail).not.toContain(other.idNumber);
      const byId = await ask(consent.id, other);
      expect([byId.status, byId.json.code]).toEqual([403, 'CONSENT_INVALID']);
      expect(await sanduUses(consent.id)).toBeUndefined();
    });

    it('hub-signed but longer than the provider relies on, or expired', async () => {
      const day = 86_400_000;
      const subject = { type: 'idNumber' as const, value: married.idNumber };
      const long = await signedArtefact(t.key(HUB), { subject, expiresAt: new Date(Date.now() + 100 * day).toISOString() });
      const expired = await signedArtefact(t.key(HUB), { subject, issuedAt: new Date(Date.now() - 2 * day).toISOString(), notBefore: new Date(Date.now() - 2 * day).toISOString(), expiresAt: new Date(Date.now() - day).toISOString() });
      for (const artefact of [long, expired]) expect((await raw(artefact)).json.code).toBe('CONSENT_INVALID');
      // A well-formed one signed by the hub is served: the two above fail on their period alone.
      expect((await raw(await signedArtefact(t.key(HUB), { subject }))).status).toBe(200);
    });

    it('the status route answers the nodes a consent names, signed by the hub', async () => {
      const consent = await grant();
      for (const node of [ANJI, SANDU]) {
        const r = await t.raw({ from: node, to: HUB, path: `/v1/consents/${consent.id}/status`, body: {} });
        expect(r.status).toBe(200);
        expect(r.headers.get('signature')).toBeTruthy();
        expect(r.json).toEqual({ id: consent.id, status: 'active', useCount: 0, artefact: consent.artefact });
      }
    });
  });

  describe('at the node: the clerk attaches the consent the citizen gave to the case’s evidence', () => {
    it('the citizen applies at Anji with their hub token; Anji’s clerk fetches the marriage record with the consent id; without it, nothing', async () => {
      const applied = await fetch(new URL('/v1/cases', t.f.nodes.get(ANJI)!.endpoint), {
        method: 'POST',
        headers: { authorization: `Bearer ${await married.token()}`, 'content-type': 'application/json' },
        body: JSON.stringify({ itemCode: 'N037', mode: 'online', competentNodes: [ANJI], applicant: { idNumber: married.idNumber, name: married.name } }),
      });
      expect(applied.status).toBe(201);
      const caseId = ((await applied.json()) as { case: { id: string } }).case.id;
      const clerk = (await t.operator(ANJI, '/v1/operator/accounts', { id: `consent-clerk-${randomUUID().slice(0, 8)}`, role: 'clerk', name: '窗口' })).json.token as string;
      const evidence = async (consent?: string) => {
        const r = await fetch(new URL(`/v1/cases/${caseId}/evidence`, t.f.nodes.get(ANJI)!.endpoint), {
          method: 'POST',
          headers: { authorization: `Bearer ${clerk}`, 'content-type': 'application/json' },
          body: JSON.stringify({ provider: SANDU, service: 'marriage.status', purpose: '婚姻登记', fields: ['maritalStatus', 'spouseName'], ...(consent ? { consent } : {}) }),
        });
        return { status: r.status, json: (await r.json()) as any };
      };
      const without = await evidence();
      expect([without.status, without.json.code]).toEqual([403, 'CONSENT_REQUIRED']);
      // A consent of someone else (the subject is the case's applicant, not what the clerk names).
      const theirs = await grant({}, other);
      expect((await evidence(theirs.id)).json.code).toBe('CONSENT_INVALID');
      const consent = await grant({ use: 'single' });
      const fetched = await evidence(consent.id);
      expect(fetched.status).toBe(200);
      expect(fetched.json.case.evidence.at(-1)).toMatchObject({ provider: SANDU, service: 'marriage.status', data: { maritalStatus: '20' } });
      expect((await evidence(consent.id)).json.code).toBe('CONSENT_USED');
    });
  });

  describe('through the hub’s relay: a hub-mode agreement that requires consent', () => {
    const relayed = (consent?: string, who: { idNumber: string } = married) => ask(consent, who, {}, QINGPU);
    const qingpuGrant = (overrides: Partial<ConsentGrantInput> = {}, who = married) =>
      grant({ requester: QINGPU, agreementId: HUB_CONSENT, fields: ['maritalStatus'], use: 'single', ...overrides }, who);

    it('without consent: refused at the requester; a single-use consent is served once through the hub, then CONSENT_USED', async () => {
      const none = await relayed(undefined);
      expect([none.status, none.json.code]).toEqual([403, 'CONSENT_REQUIRED']);
      const consent = await qingpuGrant();
      const first = await relayed(consent.id);
      expect(first.status).toBe(200);
      expect(first.json).toMatchObject({ via: 'hub', response: { data: { maritalStatus: '20' } } });
      const second = await relayed(consent.artefact);
      expect([second.status, second.json.code]).toEqual([403, 'CONSENT_USED']);
      const provided = (await t.auditEntries(SANDU)).filter((e) => e.kind === 'exchange.provide' && e.detail?.consent === consent.id);
      expect(provided.map((e) => [e.outcome, e.code ?? null])).toEqual([
        ['allowed', null],
        ['refused', 'CONSENT_USED'],
      ]);
      expect(provided[0].detail.via).toBe('hub');
      // The hub relayed both, reading neither the consent nor the subject.
      expect(JSON.stringify((await t.auditEntries(HUB)).filter((e) => e.kind === 'exchange.relay'))).not.toContain(married.idNumber);
      expect(await useCountAtHub(married, consent.id, 1)).toMatchObject({ status: 'used' });
    });

    it('revoked: refused on its next use through the hub; a bridge consent does not pass the relay, nor another citizen’s', async () => {
      const consent = await qingpuGrant({ use: 'until-expiry' });
      expect((await relayed(consent.artefact)).status).toBe(200);
      expect((await revoke(consent.id)).status).toBe(200);
      await until(async () => (await sanduUses(consent.id))?.revokedAt, 20_000, 'the revocation at the provider');
      expect((await relayed(consent.artefact)).json.code).toBe('CONSENT_REVOKED');
      // Anji's bridge consent presented by Qingpu; this citizen's consent for another citizen: refused
      // before anything is sent (the provider's checks are the same code over a bridge, tested above).
      const anjis = await grant();
      expect((await relayed(anjis.artefact)).json.code).toBe('CONSENT_INVALID');
      const mine = await qingpuGrant();
      expect((await relayed(mine.artefact, other)).json.code).toBe('CONSENT_INVALID');
    });
  });

  describe('through the hub’s relay, straight to the provider: what the requester would not send, the provider refuses itself', () => {
    /**
     * A hub-mode request Qingpu signs and seals for Sandu by hand (no requester-side checks), sent
     * through the hub: the provider's answer is its sealed refusal, opened here as Qingpu would.
     */
    const sealedThroughHub = async (consent: string | undefined, who: { idNumber: string } = married) => {
      const exchange = {
        requestId: randomUUID(),
        requester: QINGPU,
        provider: SANDU,
        agreementId: HUB_CONSENT,
        itemCode: 'N037',
        service: 'marriage.status',
        purpose: '婚姻登记',
        caseId: 'CASE-310118-0001',
        operator: { id: 'clerk-1', role: 'clerk' },
        subject: { type: 'idNumber', value: who.idNumber },
        fields: ['maritalStatus'],
        ...(consent ? { consent } : {}),
      };
      const created = Math.floor(Date.now() / 1000);
      const inner = await signJws(t.key(QINGPU), new TextEncoder().encode(JSON.stringify(exchange)), { typ: JWS_TYP_REQUEST, extra: { created, expires: created + REQUEST_TTL_SECONDS } });
      const qingpu = t.f.nodes.get(QINGPU)!.runtime!;
      const sandu = (await qingpu.exchange.directory.current()).node(SANDU)!;
      const payload = await encryptFor(sandu.encryptionKey, new TextEncoder().encode(inner), JWE_CTY);
      const { requestId, requester, provider, agreementId, itemCode, service, purpose, fields } = exchange;
      const r = await t.raw({ from: QINGPU, to: HUB, path: '/v1/relay', body: { envelope: { requestId, requester, provider, agreementId, itemCode, service, purpose, fields }, payload } });
      expect(r.status).toBe(200);
      const jws = new TextDecoder().decode(await decryptWith(qingpu.encryptionKey, r.json.payload, JWE_CTY));
      const verified = await verifyJws(jws, (kid) => (kid === sandu.signingKey.kid ? sandu.signingKey.jwk : null));
      if (!verified.ok) throw new Error('the provider’s answer is not signed by it');
      return { typ: verified.header.typ, body: JSON.parse(new TextDecoder().decode(verified.payload)) };
    };

    it('no consent, another requester’s consent, a consent for another citizen: refused by the provider, sealed for the requester', async () => {
      const none = await sealedThroughHub(undefined);
      expect(none).toMatchObject({ typ: JWS_TYP_REFUSAL, body: { problem: { code: 'CONSENT_REQUIRED' } } });
      const anjis = await grant();
      expect((await sealedThroughHub(anjis.artefact)).body.problem).toMatchObject({ code: 'CONSENT_INVALID', detail: expect.stringMatching(/another requester/) });
      const mine = await grant({ requester: QINGPU, agreementId: HUB_CONSENT, fields: ['maritalStatus'], use: 'single' });
      expect((await sealedThroughHub(mine.artefact, other)).body.problem).toMatchObject({ code: 'CONSENT_INVALID', detail: expect.stringMatching(/another subject/) });
      // Its own: served (sealed for Qingpu), then spent.
      expect((await sealedThroughHub(mine.artefact)).body).toMatchObject({ provider: SANDU, data: { maritalStatus: '20' } });
      expect((await sealedThroughHub(mine.artefact)).body.problem).toMatchObject({ code: 'CONSENT_USED' });
    });
  });

  describe('the hub restarted mid-session keeps consents and the citizen’s sign-in', () => {
    it('grant, restart the hub: a new token without the password; the citizen lists and revokes, the node resolves the id, the provider serves it', async () => {
      const consent = await grant();
      await t.f.hub.stop();
      await t.f.hub.start();
      // Back when it answers (a connection this process kept to the stopped hub fails once: that is the client's pool).
      await until(() => fetch(new URL('/health/ready', t.f.hub.endpoint)).then((r) => r.ok, () => false), 20_000, 'the hub to answer again');
      // The hub's session (its database, its persistent cookie keys) survived: no password asked.
      const again = await married.refresh();
      expect(again.passwordPrompts).toBe(0);
      const listed = (await list(married)).find((c) => c.id === consent.id);
      expect(listed).toMatchObject({ status: 'active', artefact: consent.artefact });
      const used = await ask(consent.id);
      expect(used.status).toBe(200);
      // Until a date: used, and still active.
      expect(await useCountAtHub(married, consent.id, 1)).toMatchObject({ status: 'active' });
      // A revocation after the restart still reaches the provider.
      expect((await revoke(consent.id)).status).toBe(200);
      await until(async () => (await sanduUses(consent.id))?.revokedAt, 20_000, 'the revocation after a restart');
      expect((await raw(consent.artefact)).json.code).toBe('CONSENT_REVOKED');
    }, 120_000);
  });
}
