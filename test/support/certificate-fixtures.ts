// Test fixtures for e-certificates: issuer keys, a trust list, metadata and personal values that
// pass every check issueCertificate makes.
import { randomInt } from 'node:crypto';
import {
  certificateTypeById,
  issueCertificate,
  type CertificateMetadata,
  type CertificateType,
  type TrustList,
} from '../../src/certificates/index.ts';
import { generateSigningKey, type PublicJwk, type SigningAlgorithm, type SigningKey } from '../../src/crypto/index.ts';
import { buildCreditCode, buildLicenseId, withResidentIdCheck } from '../../src/standards/index.ts';

export const ANJI = '330523';
export const CHANGZHOU = '320400';

/** Illustrative issuing authorities (机关 registered at each division). */
export const authorityOf = (division: string) => ({
  authority: `${division} 政务服务管理局`,
  authorityCode: buildCreditCode('1', '1', division, '00000020'),
});

export const idNumber = (first17: string) => withResidentIdCheck(first17);
export const HOLDER_ID = idNumber('33052319900101001');
export const SPOUSE_ID = idNumber('32040019920202002');

export function statusUri(division: string, list = 'l1'): string {
  return `https://node-${division}.example/v1/certificates/status-lists/${list}`;
}

/** The calendar date (China Standard Time) of an instant, plus `days`. */
export function chinaDate(at: Date, days = 0): string {
  return new Date(at.getTime() + 8 * 3600_000 + days * 86_400_000).toISOString().slice(0, 10);
}

export function metadataFor(type: CertificateType, issuer: string, now: Date, overrides: Partial<CertificateMetadata> = {}): CertificateMetadata {
  const { authority, authorityCode } = authorityOf(issuer);
  const serial = Array.from({ length: 12 }, () => '0123456789ABCDEFGHJKLMNPQRTUWXY'[randomInt(31)]).join('');
  const issuedOn = chinaDate(now);
  return {
    id: buildLicenseId({ typeCode: type.typeCode, issuerCode: authorityCode, serial, version: '001' }),
    number: serial,
    typeCode: type.typeCode,
    typeName: type.name,
    authority,
    authorityCode,
    issuedOn,
    validFrom: issuedOn,
    validUntil: chinaDate(now, type.validityDays - 1),
    division: issuer,
    holderCodeType: type.holderCodeType,
    relatedItem: type.items[0]!,
    caseId: 'case-1',
    ...overrides,
  };
}

export const personalValues: Record<CertificateType['id'], Record<string, string>> = {
  marriage: { holderName: '张三', holderIdNumber: HOLDER_ID, spouseName: '李四', spouseIdNumber: SPOUSE_ID, registrationDate: '2024-05-20' },
  'household-move': { holderName: '张三', holderIdNumber: HOLDER_ID, fromDivision: ANJI, toDivision: CHANGZHOU },
  'social-insurance': {
    holderName: '张三',
    holderIdNumber: HOLDER_ID,
    socialInsuranceInsuredDivision: ANJI,
    contributionMonths: '86',
    socialInsuranceStatus: '1',
  },
  'no-criminal-record': { holderName: '张三', holderIdNumber: HOLDER_ID, criminalRecord: 'false' },
  'business-licence': {
    entityName: '安吉白茶有限公司',
    creditCode: buildCreditCode('9', '1', ANJI, '12345678'),
    legalRepresentative: '王五',
    entityType: '有限责任公司',
  },
};

export interface IssuerFixture {
  division: string;
  key: SigningKey;
}

export async function issuerFixture(division: string, algorithm: SigningAlgorithm): Promise<IssuerFixture> {
  return { division, key: await generateSigningKey(algorithm, division) };
}

/** A trust list naming each issuer for `types` (vct values; default all) with its current key. */
export function trustListFor(
  issuers: readonly IssuerFixture[],
  options: { now: Date; types?: readonly string[]; hub?: string; version?: number } = { now: new Date() },
): TrustList {
  const vcts = options.types ?? ['marriage', 'household-move', 'social-insurance', 'no-criminal-record', 'business-licence'].map((id) => certificateTypeById(id)!.vct);
  return {
    issuer: options.hub ?? '100000',
    version: options.version ?? 1,
    issuedAt: options.now.toISOString(),
    nextUpdate: new Date(options.now.getTime() + 3600_000).toISOString(),
    issuers: issuers.map(({ division, key }) => ({
      division,
      name: `node ${division}`,
      ...authorityOf(division),
      types: [...vcts],
      keys: [{ kid: key.kid, jwk: key.publicJwk, from: new Date(options.now.getTime() - 86_400_000).toISOString() }],
    })),
  };
}

/** Issues a certificate of `typeId` at `issuer` with the fixture values. */
export async function issueFixture(
  issuer: IssuerFixture,
  typeId: CertificateType['id'],
  now: Date,
  options: { holderJwk?: PublicJwk; idx?: number; metadata?: Partial<CertificateMetadata>; personal?: Record<string, string>; key?: SigningKey } = {},
): Promise<string> {
  const type = certificateTypeById(typeId)!;
  return await issueCertificate({
    key: options.key ?? issuer.key,
    issuer: issuer.division,
    type,
    metadata: metadataFor(type, issuer.division, now, options.metadata),
    personal: options.personal ?? personalValues[typeId],
    status: { uri: statusUri(issuer.division), idx: options.idx ?? 7 },
    ...(options.holderJwk ? { holderJwk: options.holderJwk } : {}),
    now,
  });
}
