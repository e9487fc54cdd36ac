import { randomUUID } from 'node:crypto';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey } from '../src/crypto/index.ts';
import type { ConsentGrantInput } from '../src/identity/consent/index.ts';
import { citizen, hubConsents, signedArtefact, until } from './support/consent.ts';
import { startTestFederation, type Backend, type TestFederation } from './support/federation.ts';

const SANDU_ANJI = 'AGR-522732-330523-001';
const SANDU_CHANGZHOU = 'AGR-522732-320400-001';
const HUB = '100000';
const SANDU = '522732';
const ANJI = '330523';

/**
 * Issue 12, item 4: consent the citizen gives. The hub signs a consent artefact on the citizen's
 * behalf; the requesting node attaches it; the provider verifies it offline against the hub's key,
 * counts its use (atomically) and refuses it once revoked or, single-use, spent. Real servers, real
 * HTTP. Until the hub's OpenID provider lands, the citizen is the `Person` its authentication would
 * return, handed to the hub's consent service in-process (the routes answer 401 without it).
 */
export function consentContract(backend: Backend): void {
  let t: TestFederation;
  let married: { idNumber: string; name: string };
  let other: { idNumber: string; name: string };

  beforeAll(async () => {
    t = await startTestFederation(backend);
    const db = new BetterSqlite3(t.f.registryPath(SANDU), { readonly: true });
    [married, other] = db.prepare("SELECT id_number AS idNumber, name FROM marriage WHERE marital_status = '20' LIMIT 2").all() as Array<typeof married>;
    db.close();
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
  const grant = (overrides: Partial<ConsentGrantInput> = {}, who = married) => hubConsents(t).grant(citizen(who.idNumber), grantInput(overrides));
  /** Anji's clerk asks Sandu for the marriage record, with a consent (artefact or id) or none. */
  const ask = (consent?: string, who = married, extra: Record<string, unknown> = {}) =>
    t.operator(ANJI, '/v1/operator/exchange', {
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

  describe('a consent the citizen granted at the hub', () => {
    it('is served, attached as the artefact or named by its id; the provider counts each use and the hub shows the count', async () => {
      const consent = await grant();
      expect(consent).toMatchObject({ status: 'active', useCount: 0, requester: ANJI, provider: SANDU, service: 'marriage.status', use: 'until-expiry' });
      const byArtefact = await ask(consent.artefact);
      expect(byArtefact.status).toBe(200);
      expect(byArtefact.json.response.data.maritalStatus).toBe('20');
      const byId = await ask(consent.id);
      expect(byId.status).toBe(200);
      expect(await sanduUses(consent.id)).toMatchObject({ uses: 2, revokedAt: null });
      // Both audit logs name the consent, never the citizen's number.
      const provided = (await t.auditEntries(SANDU)).at(-1);
      expect(provided).toMatchObject({ kind: 'exchange.provide', outcome: 'allowed', detail: { consent: consent.id, consentUses: 2 } });
      expect((await t.auditEntries(ANJI)).at(-1)).toMatchObject({ kind: 'exchange.request', outcome: 'allowed', detail: { consent: consent.id } });
      expect(JSON.stringify(await t.auditEntries(HUB))).not.toContain(married.idNumber);
      // The provider reports its count to the hub (outbox): the citizen sees it.
      const listed = await until(async () => {
        const { consents } = await hubConsents(t).list(citizen(married.idNumber), { limit: 50, offset: 0 });
        const found = consents.find((c) => c.id === consent.id);
        return found?.useCount === 2 ? found : undefined;
      }, 20_000, 'the use count at the hub');
      expect(listed.lastUsedAt).not.toBeNull();
    });

    it('a single-use consent is refused on its second use: CONSENT_USED', async () => {
      const consent = await grant({ use: 'single' });
      expect((await ask(consent.artefact)).status).toBe(200);
      const second = await ask(consent.artefact);
      expect(second.status).toBe(403);
      expect(second.json.code).toBe('CONSENT_USED');
      expect((await t.auditEntries(SANDU)).at(-1)).toMatchObject({ kind: 'exchange.provide', outcome: 'refused', code: 'CONSENT_USED', detail: { consent: consent.id } });
      expect(await sanduUses(consent.id)).toMatchObject({ uses: 1 });
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
      const revoked = await hubConsents(t).revoke(citizen(married.idNumber), consent.id);
      expect(revoked).toMatchObject({ status: 'revoked', revokedAt: expect.any(String) });
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
        await hubConsents(t).revoke(citizen(married.idNumber), consent.id);
      } finally {
        await sandu.start();
      }
      await until(async () => (await sanduUses(consent.id))?.revokedAt, 30_000, 'the retried revocation');
      const next = await raw(consent.artefact);
      expect(next.json.code).toBe('CONSENT_REVOKED');
    }, 120_000);
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

    it('another citizen: a consent is no good for someone else’s record', async () => {
      const consent = await grant();
      const r = await raw(consent.artefact, { subject: { type: 'idNumber', value: other.idNumber } });
      expect(r.json.code).toBe('CONSENT_INVALID');
      expect(r.json.detail).not.toContain(other.idNumber);
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
  });

  describe('the hub: who may grant what', () => {
    it('only a citizen, only for a grant that requires consent, within the agreement and the maximum', async () => {
      const clerk = { subject: 'p-clerk', kind: 'staff' as const, name: '窗口', node: ANJI, roles: ['clerk' as const], via: 'access-token' as const };
      await expect(hubConsents(t).grant(clerk, grantInput())).rejects.toMatchObject({ code: 'CONSENT_FORBIDDEN' });
      await expect(grant({ itemCode: 'N034', purpose: '户籍类证明开具', fields: ['name'] })).rejects.toMatchObject({ code: 'CONSENT_NOT_REQUIRED' });
      await expect(grant({ fields: ['maritalStatus', 'householdRelation'] })).rejects.toMatchObject({ code: 'FIELD_NOT_ALLOWED' });
      await expect(grant({ purpose: '市场营销' })).rejects.toMatchObject({ code: 'PURPOSE_NOT_ALLOWED' });
      await expect(grant({ agreementId: 'AGR-NO-SUCH' })).rejects.toMatchObject({ code: 'AGREEMENT_NOT_FOUND' });
      await expect(grant({ requester: '310118' })).rejects.toMatchObject({ code: 'NOT_A_PARTY' });
      await expect(grant({ expiresAt: new Date(Date.now() + 100 * 86_400_000).toISOString() })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    });

    it('a citizen sees and revokes only their own consents', async () => {
      const mine = await grant();
      const theirs = await grant({}, other);
      const { consents } = await hubConsents(t).list(citizen(married.idNumber), { limit: 200, offset: 0 });
      expect(consents.map((c) => c.id)).toContain(mine.id);
      expect(consents.map((c) => c.id)).not.toContain(theirs.id);
      await expect(hubConsents(t).revoke(citizen(married.idNumber), theirs.id)).rejects.toMatchObject({ code: 'CONSENT_NOT_FOUND' });
      expect((await hubConsents(t).list(citizen(other.idNumber), { limit: 200, offset: 0 })).consents.find((c) => c.id === theirs.id)?.status).toBe('active');
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

  describe('the hub restarted keeps consents', () => {
    it('grant, restart the hub: the citizen lists it, the node resolves it by id and the provider serves it', async () => {
      const consent = await grant();
      await t.f.hub.stop();
      await t.f.hub.start();
      const { consents } = await hubConsents(t).list(citizen(married.idNumber), { limit: 200, offset: 0 });
      expect(consents.find((c) => c.id === consent.id)).toMatchObject({ status: 'active', artefact: consent.artefact });
      const used = await ask(consent.id);
      expect(used.status).toBe(200);
      // A revocation after the restart still reaches the provider.
      await hubConsents(t).revoke(citizen(married.idNumber), consent.id);
      await until(async () => (await sanduUses(consent.id))?.revokedAt, 20_000, 'the revocation after a restart');
    }, 120_000);
  });
}
