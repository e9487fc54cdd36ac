import { PublicJwk, type SigningKey } from '../crypto/index.ts';
import { TongbanError, validationError } from '../errors/index.ts';
import { getDataElement, validateDataElement, validateLicenseId } from '../standards/index.ts';
import { CertificateMetadata, nodeUrn } from './model.ts';
import { sdJwtInstance } from './sd-jwt.ts';
import type { CertificateField, CertificateType } from './types.ts';

const DAY_SECONDS = 86_400;

/** Start of a calendar date in China Standard Time, in seconds: metadata dates are Chinese dates. */
export const dateStartSeconds = (date: string): number => Date.parse(`${date}T00:00:00+08:00`) / 1000;

/**
 * Issues a certificate as an SD-JWT VC: GB/T 36903 metadata always visible, every personal field
 * in its own disclosure. Returns `<jwt>~<d1>~…~<dn>~` (all disclosures), the holder's copy.
 * A required field missing or a value its data element refuses → CERTIFICATE_NOT_ISSUABLE naming
 * it; unknown fields or metadata that contradicts the type or issuer → VALIDATION_FAILED.
 */
export async function issueCertificate(input: {
  key: SigningKey;
  issuer: string;
  type: CertificateType;
  metadata: CertificateMetadata;
  personal: Record<string, string>;
  status: { uri: string; idx: number };
  holderJwk?: PublicJwk;
  now: Date;
}): Promise<string> {
  const { key, issuer, type } = input;
  const parsedMetadata = CertificateMetadata.safeParse(input.metadata);
  if (!parsedMetadata.success) throw validationError(parsedMetadata.error);
  const metadata = parsedMetadata.data;
  checkMetadata(metadata, type, issuer);
  if (!key.kid.startsWith(issuer + ':')) throw new TongbanError('VALIDATION_FAILED', `The signing key ${key.kid} is not ${issuer}'s.`);
  const personal = checkPersonal(input.personal, type);
  if (!Number.isSafeInteger(input.status.idx) || input.status.idx < 0) throw new TongbanError('VALIDATION_FAILED', 'The status index is a non-negative integer.');
  if (!/^https?:\/\//.test(input.status.uri)) throw new TongbanError('VALIDATION_FAILED', 'The status list URI is an http(s) URL.');
  let holderJwk: PublicJwk | undefined;
  if (input.holderJwk !== undefined) {
    const parsed = PublicJwk.safeParse(input.holderJwk);
    if (!parsed.success) throw validationError(parsed.error);
    holderJwk = parsed.data;
  }

  const iat = Math.floor(input.now.getTime() / 1000);
  const payload = {
    iss: nodeUrn(issuer),
    vct: type.vct,
    iat,
    nbf: dateStartSeconds(metadata.validFrom),
    // validUntil is the last valid day: the certificate expires when it ends.
    exp: dateStartSeconds(metadata.validUntil) + DAY_SECONDS,
    jti: metadata.id,
    status: { status_list: { idx: input.status.idx, uri: input.status.uri } },
    ...(holderJwk ? { cnf: { jwk: holderJwk } } : {}),
    certificate: metadata,
    ...personal,
  };
  const frame = { _sd: Object.keys(personal) };
  return await sdJwtInstance({ key }).issue(payload, frame as never, { header: { kid: key.kid } });
}

function checkMetadata(metadata: CertificateMetadata, type: CertificateType, issuer: string): void {
  const problems: string[] = [];
  if (metadata.division !== issuer) problems.push(`division ${metadata.division} is not the issuer ${issuer}`);
  if (metadata.typeCode !== type.typeCode) problems.push(`typeCode is not ${type.typeCode} (${type.id})`);
  if (metadata.typeName !== type.name) problems.push(`typeName is not ${type.name}`);
  if (metadata.holderCodeType !== type.holderCodeType) problems.push(`holderCodeType is not ${type.holderCodeType}`);
  if (!type.items.includes(metadata.relatedItem)) problems.push(`item ${metadata.relatedItem} does not yield a ${type.name}`);
  const id = validateLicenseId(metadata.id);
  if (!id.valid) problems.push(`id is not a GB/T 36904 identifier: ${id.errors.map((e) => e.message).join(' ')}`);
  else {
    if (id.parsed?.typeCode !== type.typeCode) problems.push('id names another certificate type');
    if (id.parsed?.issuerCode !== metadata.authorityCode) problems.push('id names another issuing authority than authorityCode');
    if (id.parsed?.serial !== metadata.number) problems.push('id names another serial than number');
  }
  if (metadata.validFrom > metadata.validUntil) problems.push('validFrom is after validUntil');
  const days = (dateStartSeconds(metadata.validUntil) - dateStartSeconds(metadata.validFrom)) / DAY_SECONDS;
  if (days > type.validityDays) problems.push(`a ${type.name} is valid for at most ${type.validityDays} days`);
  if (problems.length > 0) throw new TongbanError('VALIDATION_FAILED', `Certificate metadata: ${problems.join('; ')}.`);
}

function checkPersonal(personal: Record<string, string>, type: CertificateType): Record<string, string> {
  const fields = new Map(type.fields.map((f) => [f.name, f]));
  const unknown = Object.keys(personal).filter((name) => !fields.has(name));
  if (unknown.length > 0) throw new TongbanError('VALIDATION_FAILED', `A ${type.name} has no field ${unknown.join(', ')}.`);
  const out: Record<string, string> = {};
  // In the type's order, so every issuance of a type lists its disclosures the same way.
  for (const field of type.fields) {
    const value = personal[field.name];
    if (value === undefined || (typeof value === 'string' && value.trim() === '')) {
      if (field.required) throw new TongbanError('CERTIFICATE_NOT_ISSUABLE', `A ${type.name} needs ${field.label} (${field.name}).`);
      continue;
    }
    if (typeof value !== 'string') throw new TongbanError('VALIDATION_FAILED', `${field.name} must be text.`);
    const issue = fieldIssue(field, value);
    if (issue) throw new TongbanError('CERTIFICATE_NOT_ISSUABLE', `${field.label} (${field.name}) is not valid: ${issue}`);
    out[field.name] = value;
  }
  return out;
}

/** Values are text on the certificate; integers and booleans are checked in their text form. */
function fieldIssue(field: CertificateField, value: string): string | undefined {
  if (value.length > 200) return 'at most 200 characters';
  const element = field.dataElement === undefined ? undefined : getDataElement(field.dataElement);
  if (!element) return undefined;
  if (element.type === 'integer') return /^\d{1,9}$/.test(value) ? undefined : 'a whole number';
  if (element.type === 'boolean') return value === 'true' || value === 'false' ? undefined : 'true or false';
  if (element.type === 'decimal') return /^-?\d+(\.\d+)?$/.test(value) ? undefined : 'a number';
  return validateDataElement(element.id, value)[0]?.message;
}

