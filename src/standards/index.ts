export type { ValidationIssue, ValidationResult } from './validation.ts';
export { mod11_2, mod37_36 } from './iso7064.ts';
export { validateResidentId, upgradeLegacyResidentId, withResidentIdCheck, type ResidentIdParsed } from './resident-id.ts';
export { validateCreditCode, buildCreditCode, organisationCodeCheck, creditCodeCheck, type CreditCodeParsed } from './credit-code.ts';
export { validateLicenseId, buildLicenseId, LICENSE_ID_PREFIX, type LicenseIdParts, type LicenseIdParsed } from './license-id.ts';
export {
  DivisionTable,
  divisions,
  isDivisionCode,
  PROVINCE_PREFIXES,
  type Division,
  type DivisionLevel,
  type DivisionSource,
  type DivisionTableData,
} from './divisions.ts';
export {
  dataDictionary,
  getDataElement,
  validateDataElement,
  validateRecord,
  type DataElement,
  type DataElementType,
} from './data-dictionary.ts';
