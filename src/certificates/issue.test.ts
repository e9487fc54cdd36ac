import { beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey } from '../crypto/index.ts';
import { ANJI, CHANGZHOU, issueFixture, issuerFixture, metadataFor, personalValues, statusUri, type IssuerFixture } from '../../test/support/certificate-fixtures.ts';
import { certificateTypeById, certificateTypes, decodeCertificate, issueCertificate, presentCertificate } from './index.ts';

const now = new Date('2026-03-10T02:00:00Z');
let anji: IssuerFixture;
beforeAll(async () => {
  anji = await issuerFixture(ANJI, 'Ed25519');
});

const without = (record: Record<string, string>, name: string) => Object.fromEntries(Object.entries(record).filter(([k]) => k !== name));

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  await expect(promise).rejects.toMatchObject({ name: 'TongbanError', code });
}

describe('issueCertificate', () => {
  it.each(certificateTypes.map((t) => [t.id] as const))('issues a %s whose disclosures carry exactly the personal fields', async (id) => {
    const issued = await issueFixture(anji, id, now);
    const decoded = decodeCertificate(issued);
    expect(decoded.disclosures).toEqual(personalValues[id]);
    expect(decoded.issuer).toBe(ANJI);
    expect(decoded.boundJwk).toBeUndefined();
    expect(decoded.payload.nbf).toBe(Date.parse(`${decoded.metadata.validFrom}T00:00:00+08:00`) / 1000);
  });

  it('an optional field may be left out; a required one missing or invalid is CERTIFICATE_NOT_ISSUABLE naming it', async () => {
    const noType = without(personalValues['business-licence'], 'entityType');
    const issued = await issueFixture(anji, 'business-licence', now, { personal: noType });
    expect(Object.keys(decodeCertificate(issued).disclosures)).not.toContain('entityType');
    const noSpouse = without(personalValues.marriage, 'spouseIdNumber');
    await expect(issueFixture(anji, 'marriage', now, { personal: noSpouse })).rejects.toMatchObject({ code: 'CERTIFICATE_NOT_ISSUABLE', message: expect.stringContaining('spouseIdNumber') });
    await expectCode(issueFixture(anji, 'marriage', now, { personal: { ...personalValues.marriage, spouseName: '  ' } }), 'CERTIFICATE_NOT_ISSUABLE');
    await expect(issueFixture(anji, 'marriage', now, { personal: { ...personalValues.marriage, holderIdNumber: '330523199001010010' } })).rejects.toMatchObject({
      code: 'CERTIFICATE_NOT_ISSUABLE',
      message: expect.stringContaining('holderIdNumber'),
    });
    await expectCode(issueFixture(anji, 'social-insurance', now, { personal: { ...personalValues['social-insurance'], contributionMonths: 'many' } }), 'CERTIFICATE_NOT_ISSUABLE');
    await expectCode(issueFixture(anji, 'no-criminal-record', now, { personal: { ...personalValues['no-criminal-record'], criminalRecord: 'no' } }), 'CERTIFICATE_NOT_ISSUABLE');
  });

  it('refuses fields the type does not have and metadata that contradicts the type, the issuer or itself', async () => {
    await expectCode(issueFixture(anji, 'marriage', now, { personal: { ...personalValues.marriage, phone: '123' } }), 'VALIDATION_FAILED');
    const marriage = certificateTypeById('marriage')!;
    const other = certificateTypeById('household-move')!;
    for (const metadata of [
      { typeCode: other.typeCode },
      { typeName: other.name },
      { division: CHANGZHOU },
      { holderCodeType: '001' as const },
      { relatedItem: 'N029' },
      { id: metadataFor(marriage, ANJI, now).id }, // another serial than `number`
      { id: metadataFor(other, ANJI, now).id },
      { validUntil: '2126-03-10' }, // longer than 36500 days
      { validFrom: '2026-04-01', validUntil: '2026-03-31' },
      { issuedOn: '2026-13-01' },
    ]) {
      await expectCode(issueFixture(anji, 'marriage', now, { metadata }), 'VALIDATION_FAILED');
    }
  });

  it("refuses to sign with another node's key and a bad status reference", async () => {
    const type = certificateTypeById('marriage')!;
    const base = { issuer: ANJI, type, metadata: metadataFor(type, ANJI, now), personal: personalValues.marriage, now };
    const changzhouKey = await generateSigningKey('Ed25519', CHANGZHOU);
    await expectCode(issueCertificate({ ...base, key: changzhouKey, status: { uri: statusUri(ANJI), idx: 0 } }), 'VALIDATION_FAILED');
    await expectCode(issueCertificate({ ...base, key: anji.key, status: { uri: statusUri(ANJI), idx: -1 } }), 'VALIDATION_FAILED');
    await expectCode(issueCertificate({ ...base, key: anji.key, status: { uri: 'file:///etc/passwd', idx: 0 } }), 'VALIDATION_FAILED');
  });

  it('binds a holder key in cnf', async () => {
    const holder = await generateSigningKey('Ed25519', 'holder');
    const issued = await issueFixture(anji, 'marriage', now, { holderJwk: holder.publicJwk });
    expect(decodeCertificate(issued).boundJwk).toEqual(holder.publicJwk);
  });
});

describe('presentCertificate', () => {
  it('refuses field names the type does not have or the certificate does not carry', async () => {
    const issued = await issueFixture(anji, 'marriage', now);
    await expectCode(presentCertificate(issued, { disclose: ['holderName', 'phone'], now }), 'VALIDATION_FAILED');
    const noType = without(personalValues['business-licence'], 'entityType');
    const licence = await issueFixture(anji, 'business-licence', now, { personal: noType });
    await expectCode(presentCertificate(licence, { disclose: ['entityType'], now }), 'VALIDATION_FAILED');
  });

  it('keeps the chosen disclosures only, byte for byte', async () => {
    const issued = await issueFixture(anji, 'marriage', now);
    const presented = await presentCertificate(issued, { disclose: ['spouseName'], now });
    const all = issued.split('~');
    const spouse = all.slice(1, -1).filter((d) => Buffer.from(d, 'base64url').toString().includes('spouseName'));
    expect(presented).toBe(`${all[0]}~${spouse[0]}~`);
  });
});

describe('decodeCertificate', () => {
  it('throws CERTIFICATE_MALFORMED for anything that is not a certificate', () => {
    for (const junk of ['', 'a~', 'x.y.z~', `${Buffer.from('{}').toString('base64url')}.e30.c2ln~`]) {
      expect(() => decodeCertificate(junk)).toThrow(expect.objectContaining({ code: 'CERTIFICATE_MALFORMED' }));
    }
  });
});
