import { describe, expect, it } from 'vitest';
import { generateSigningKey } from '../crypto/index.ts';
import { Agreement, checkAgreementSuccession, PolicyIndex, signAgreement, verifyAgreementSignatures, type AccessRequest } from './index.ts';

const agreement = Agreement.parse({
  id: 'AGR-522732-330523',
  version: 1,
  title: '三都—安吉 劳务协作跨省通办协议',
  parties: ['522732', '330523'],
  topology: 'bridge',
  validFrom: '2026-01-01T00:00:00.000Z',
  validUntil: '2028-01-01T00:00:00.000Z',
  items: [
    {
      itemCode: 'N034',
      grants: [
        {
          provider: '522732',
          service: 'household.residence-proof',
          requesters: ['330523'],
          fields: ['idNumber', 'name', 'householdDivision', 'householdAddress'],
          purposes: ['户籍类证明开具'],
          consentRequired: false,
        },
      ],
    },
    {
      itemCode: 'N037',
      grants: [
        {
          provider: '522732',
          service: 'marriage.status',
          requesters: ['330523'],
          fields: ['idNumber', 'name', 'maritalStatus'],
          purposes: ['婚姻登记'],
          consentRequired: true,
        },
      ],
    },
  ],
});

const base: AccessRequest = {
  agreementId: 'AGR-522732-330523',
  requester: '330523',
  provider: '522732',
  itemCode: 'N034',
  service: 'household.residence-proof',
  fields: ['name', 'householdDivision'],
  purpose: '户籍类证明开具',
  hasConsent: false,
};
const now = new Date('2026-11-30T00:00:00Z');

describe('policy index', () => {
  const index = new PolicyIndex([agreement]);

  it('refuses a suspended or terminated agreement with its own code, and finds no grant under it; expiry wins over suspension', () => {
    const states = (state: 'active' | 'suspended' | 'terminated') => ({ stateOf: (id: string) => (id === agreement.id ? state : 'active') });
    expect(index.decide(base, now, states('active'))).toMatchObject({ allowed: true });
    expect(index.decide(base, now, states('suspended'))).toMatchObject({ allowed: false, code: 'AGREEMENT_SUSPENDED' });
    expect(index.decide(base, now, states('terminated'))).toMatchObject({ allowed: false, code: 'AGREEMENT_TERMINATED' });
    expect(index.decide(base, new Date('2028-01-01T00:00:00Z'), states('suspended'))).toMatchObject({ allowed: false, code: 'AGREEMENT_EXPIRED' });
    const query = { requester: '330523', provider: '522732', service: 'household.residence-proof' };
    expect(index.findGrant(query, now, states('active'))?.agreement.id).toBe(agreement.id);
    expect(index.findGrant(query, now, states('suspended'))).toBeUndefined();
  });

  it('names the suspending party in the refusal and says only it can resume; without that knowledge says a party', () => {
    const suspended = { stateOf: (id: string) => (id === agreement.id ? ('suspended' as const) : ('active' as const)), suspendedBy: (id: string) => (id === agreement.id ? '522732' : null) };
    const named = index.decide(base, now, suspended);
    expect(named).toMatchObject({ allowed: false, code: 'AGREEMENT_SUSPENDED' });
    expect(named.allowed ? '' : named.reason).toBe(`Agreement ${agreement.id} is suspended by 522732; only 522732 can resume it.`);
    const unnamed = index.decide(base, now, { stateOf: suspended.stateOf });
    expect(unnamed.allowed ? '' : unnamed.reason).toBe(`Agreement ${agreement.id} is suspended by a party; only that party can resume it.`);
  });

  it('allows exactly what the agreement grants', () => {
    const decision = index.decide(base, now);
    expect(decision).toMatchObject({ allowed: true, fields: ['name', 'householdDivision'] });
  });

  it.each([
    ['AGREEMENT_NOT_FOUND', { agreementId: 'AGR-NOPE' }, now],
    ['AGREEMENT_EXPIRED', {}, new Date('2028-01-01T00:00:00Z')],
    ['AGREEMENT_NOT_IN_FORCE', {}, new Date('2020-01-01T00:00:00Z')],
    ['NOT_A_PARTY', { requester: '320400' }, now],
    ['ITEM_NOT_IN_AGREEMENT', { itemCode: 'N029' }, now],
    ['SERVICE_NOT_IN_AGREEMENT', { service: 'social-insurance.contribution-history' }, now],
    ['SERVICE_NOT_IN_AGREEMENT', { requester: '522732', provider: '330523' }, now],
    ['FIELD_NOT_ALLOWED', { fields: ['name', 'maritalStatus'] }, now],
    ['PURPOSE_NOT_ALLOWED', { purpose: '好奇' }, now],
    ['CONSENT_REQUIRED', { itemCode: 'N037', service: 'marriage.status', fields: ['maritalStatus'], purpose: '婚姻登记' }, now],
  ] as const)('denies with %s', (code, change, at) => {
    const decision = index.decide({ ...base, ...change }, at);
    expect(decision.allowed).toBe(false);
    if (!decision.allowed) expect(decision.code).toBe(code);
  });

  it('allows a consent-bound service when consent is present', () => {
    const decision = index.decide({ ...base, itemCode: 'N037', service: 'marriage.status', fields: ['maritalStatus'], purpose: '婚姻登记', hasConsent: true }, now);
    expect(decision.allowed).toBe(true);
  });

  it('finds the grant in force for a requester, provider and service', () => {
    const found = index.findGrant({ requester: '330523', provider: '522732', service: 'marriage.status' }, now);
    expect(found).toMatchObject({ agreement: { id: 'AGR-522732-330523' }, itemCode: 'N037', grant: { consentRequired: true } });
    expect(index.findGrant({ requester: '522732', provider: '330523', service: 'marriage.status' }, now)).toBeUndefined();
    expect(index.findGrant({ requester: '330523', provider: '522732', service: 'marriage.status', itemCode: 'N034' }, now)).toBeUndefined();
    expect(index.findGrant({ requester: '330523', provider: '522732', service: 'marriage.status' }, new Date('2028-06-01T00:00:00Z'))).toBeUndefined();
  });

  it('keeps the newest version of an agreement', () => {
    const index2 = new PolicyIndex([agreement]);
    index2.add({ ...agreement, version: 2, items: [agreement.items[1]!] });
    index2.add(agreement);
    expect(index2.get(agreement.id)?.version).toBe(2);
    expect(index2.decide(base, now)).toMatchObject({ allowed: false, code: 'ITEM_NOT_IN_AGREEMENT' });
  });
});

describe('agreement model', () => {
  it('refuses grants to non-parties, a bridge of three, and an empty validity', () => {
    const bad = Agreement.safeParse({
      ...agreement,
      parties: ['522732', '330523', '320400'],
      validUntil: agreement.validFrom,
      items: [{ itemCode: 'N034', grants: [{ ...agreement.items[0]!.grants[0]!, requesters: ['310118'] }] }],
    });
    expect(bad.success).toBe(false);
    const messages = bad.error!.issues.map((i) => i.message);
    expect(messages).toEqual(expect.arrayContaining(['a bridge agreement has exactly two parties', 'validity must end after it starts', '310118 is not a party to the agreement']));
  });
});

describe('agreement signatures', () => {
  it('verify when every party signed the canonical form, with Ed25519 and SM2 keys alike', async () => {
    const sandu = await generateSigningKey('Ed25519', '522732');
    const anji = await generateSigningKey('SM2', '330523');
    const keys: Record<string, { kid: string; jwk: typeof sandu.publicJwk }[]> = {
      '522732': [{ kid: sandu.kid, jwk: sandu.publicJwk }],
      '330523': [{ kid: anji.kid, jwk: anji.publicJwk }],
    };
    const keysOf = (d: string) => keys[d] ?? [];
    // Key order in the JSON must not matter: the canonical form is signed.
    const reordered = Object.fromEntries(Object.entries(agreement).reverse()) as typeof agreement;
    const signatures = [await signAgreement(agreement, '522732', sandu), await signAgreement(reordered, '330523', anji)];
    expect(await verifyAgreementSignatures({ agreement, signatures }, keysOf)).toEqual({ ok: true });

    expect(await verifyAgreementSignatures({ agreement, signatures: signatures.slice(0, 1) }, keysOf)).toEqual({ ok: false, reason: 'not signed by 330523', missing: ['330523'] });
    const changed = { ...agreement, title: agreement.title + '（修订）' };
    expect((await verifyAgreementSignatures({ agreement: changed, signatures }, keysOf)).ok).toBe(false);
    const outsider = await generateSigningKey('Ed25519', '320400');
    const extra = await signAgreement(agreement, '320400', outsider);
    expect(await verifyAgreementSignatures({ agreement, signatures: [...signatures, extra] }, keysOf)).toEqual({ ok: false, reason: '320400 signed but is not a party' });
    // A party signing with a key the directory does not list for it.
    const rogue = await signAgreement(agreement, '330523', outsider);
    expect(await verifyAgreementSignatures({ agreement, signatures: [signatures[0]!, rogue] }, keysOf)).toEqual({
      ok: false,
      reason: 'the signature of 330523 is by an unknown key',
    });
  });
});

describe('agreement succession (a new version needs the parties of the version in force)', () => {
  it('refuses a takeover by other parties, a same-version change and a rollback; accepts a co-signed version', async () => {
    const keys = await Promise.all(['522732', '330523', '320400', '310118'].map((d) => generateSigningKey('Ed25519', d)));
    const keyOf = (d: string) => keys.find((k) => k.kid.startsWith(`${d}:`))!;
    const keysOf = (d: string) => [{ kid: keyOf(d).kid, jwk: keyOf(d).publicJwk }];
    const grant = (provider: string, requester: string) => ({ provider, service: 'household.residence-proof', requesters: [requester], fields: ['name'], purposes: ['户籍类证明开具'], consentRequired: false });
    const v1 = Agreement.parse({ id: 'AGR-T-1', version: 1, title: 't', parties: ['522732', '330523'], topology: 'bridge', validFrom: '2026-01-01T00:00:00Z', validUntil: '2027-01-01T00:00:00Z', items: [{ itemCode: 'N034', grants: [grant('522732', '330523')] }] });
    const sign = async (a: Agreement, by: string[]) => ({ agreement: a, signatures: await Promise.all(by.map((d) => signAgreement(a, d, keyOf(d)))) });
    const held = await sign(v1, ['522732', '330523']);
    expect(await checkAgreementSuccession(undefined, held, keysOf)).toEqual({ ok: true, unchanged: false });
    expect(await checkAgreementSuccession(held, held, keysOf)).toEqual({ ok: true, unchanged: true });

    const takeover = Agreement.parse({ ...v1, version: 2, parties: ['320400', '310118'], items: [{ itemCode: 'N034', grants: [grant('320400', '310118')] }] });
    expect(await checkAgreementSuccession(held, await sign(takeover, ['320400', '310118']), keysOf)).toMatchObject({ ok: false, code: 'AGREEMENT_NOT_COSIGNED' });
    // With the former parties' signatures too, the new parties' version is legitimate.
    expect(await checkAgreementSuccession(held, await sign(takeover, ['320400', '310118', '522732', '330523']), keysOf)).toEqual({ ok: true, unchanged: false });

    const changed = Agreement.parse({ ...v1, title: 'changed' });
    expect(await checkAgreementSuccession(held, await sign(changed, ['522732', '330523']), keysOf)).toMatchObject({ ok: false, code: 'AGREEMENT_VERSION_CONFLICT' });
    const v2 = await sign(Agreement.parse({ ...v1, version: 2 }), ['522732', '330523']);
    expect(await checkAgreementSuccession(v2, held, keysOf)).toMatchObject({ ok: false, code: 'AGREEMENT_VERSION_CONFLICT' });
    expect(await checkAgreementSuccession(held, v2, keysOf)).toEqual({ ok: true, unchanged: false });
  });
});
