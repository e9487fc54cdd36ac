import { validateCreditCode } from './credit-code.ts';
import { mod37_36 } from './iso7064.ts';
import { fail, ok, type ValidationIssue, type ValidationResult } from './validation.ts';

/** GB/T 36904 prefix: the OID arc for Chinese e-licences. */
export const LICENSE_ID_PREFIX = '1.2.156.3005.2';

export interface LicenseIdParts {
  /** Licence type: the defining body's 18-char credit code followed by 3 digits. */
  readonly typeCode: string;
  /** The issuing body's unified social credit code. */
  readonly issuerCode: string;
  /** Serial assigned by the issuer: digits and capitals. */
  readonly serial: string;
  /** Three-digit version. */
  readonly version: string;
}

export interface LicenseIdParsed extends LicenseIdParts {
  readonly definingBodyCode: string;
  readonly checkCharacter: string;
}

/** Builds an e-licence identifier `1.2.156.3005.2.<type>.<issuer>.<serial>.<version>.<check>`. */
export function buildLicenseId(parts: LicenseIdParts): string {
  return [LICENSE_ID_PREFIX, parts.typeCode, parts.issuerCode, parts.serial, parts.version, licenseIdCheck(parts)].join('.');
}

function licenseIdCheck(parts: LicenseIdParts): string {
  return mod37_36(parts.typeCode + parts.issuerCode + parts.serial + parts.version);
}

/** Validates an e-licence identifier (GB/T 36904) and its ISO 7064 MOD 37,36 check. */
export function validateLicenseId(input: string): ValidationResult<LicenseIdParsed> {
  const value = input.trim().toUpperCase();
  if (!value.startsWith(LICENSE_ID_PREFIX + '.')) {
    return fail(value, [{ code: 'PREFIX', message: `An e-licence identifier starts with ${LICENSE_ID_PREFIX}.` }]);
  }
  const fields = value.slice(LICENSE_ID_PREFIX.length + 1).split('.');
  if (fields.length !== 5) {
    return fail(value, [
      { code: 'STRUCTURE', message: 'After the prefix an e-licence identifier has five parts: type, issuer, serial, version, check.' },
    ]);
  }
  const [typeCode, issuerCode, serial, version, checkCharacter] = fields as [string, string, string, string, string];
  const errors: ValidationIssue[] = [];
  if (!/^[0-9A-Z]{18}\d{3}$/.test(typeCode)) {
    errors.push({ code: 'TYPE_CODE', message: 'The licence type code is an 18-character credit code followed by 3 digits.' });
  } else if (!validateCreditCode(typeCode.slice(0, 18)).valid) {
    errors.push({ code: 'TYPE_CODE', message: `The defining body's credit code ${typeCode.slice(0, 18)} is not valid.` });
  }
  if (!validateCreditCode(issuerCode).valid) {
    errors.push({ code: 'ISSUER_CODE', message: `The issuer's credit code ${issuerCode} is not valid.` });
  }
  if (!/^[0-9A-Z]{1,64}$/.test(serial)) errors.push({ code: 'SERIAL', message: 'The serial is made of digits and capital letters.' });
  if (!/^\d{3}$/.test(version)) errors.push({ code: 'VERSION', message: 'The version has three digits.' });
  const parsed: LicenseIdParsed = {
    typeCode,
    issuerCode,
    serial,
    version,
    definingBodyCode: typeCode.slice(0, 18),
    checkCharacter,
  };
  if (errors.length === 0) {
    const expected = licenseIdCheck(parsed);
    if (expected !== checkCharacter) {
      errors.push({ code: 'CHECK_CHARACTER', message: `The check character should be ${expected}, not ${checkCharacter}.` });
    }
  }
  return errors.length > 0 ? fail(value, errors, parsed) : ok(value, parsed);
}
