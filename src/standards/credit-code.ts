import { divisions, PROVINCE_PREFIXES } from './divisions.ts';
import { fail, ok, type ValidationIssue, type ValidationResult } from './validation.ts';

/** GB 32100 alphabet: digits and capitals without I, O, S, V, Z. */
const ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const CODE_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28] as const;
const ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2] as const;

/**
 * Registration departments (position 1) and organisation types (position 2) as assigned by
 * GB 32100-2015 and its later allocations.
 */
const DEPARTMENTS: Readonly<Record<string, { name: string; types: Readonly<Record<string, string>> }>> = {
  '1': { name: '机构编制', types: { '1': '机关', '2': '事业单位', '3': '中央编办直接管理机构编制的群众团体', '9': '其他' } },
  '2': { name: '外交', types: { '1': '外国常驻新闻机构', '9': '其他' } },
  '3': {
    name: '司法行政',
    types: { '1': '律师执业机构', '2': '公证处', '3': '基层法律服务所', '4': '司法鉴定机构', '5': '仲裁委员会', '9': '其他' },
  },
  '4': { name: '文化', types: { '1': '外国在华文化中心', '9': '其他' } },
  '5': { name: '民政', types: { '1': '社会团体', '2': '民办非企业单位', '3': '基金会', '9': '其他' } },
  '6': { name: '旅游', types: { '1': '外国旅游部门常驻代表机构', '2': '港澳台地区旅游部门常驻内地（大陆）代表机构', '9': '其他' } },
  '7': { name: '宗教', types: { '1': '宗教活动场所', '2': '宗教院校', '9': '其他' } },
  '8': { name: '工会', types: { '1': '基层工会', '9': '其他' } },
  '9': { name: '工商', types: { '1': '企业', '2': '个体工商户', '3': '农民专业合作社' } },
  A: { name: '中央军委改革和编制办公室', types: { '1': '军队事业单位', '9': '其他' } },
  N: { name: '农业', types: { '1': '组级集体经济组织', '2': '村级集体经济组织', '3': '乡镇级集体经济组织', '9': '其他' } },
  Y: { name: '其他', types: { '1': '其他' } },
};

export interface CreditCodeParsed {
  readonly department: string;
  readonly departmentName: string | null;
  readonly organisationType: string;
  readonly organisationTypeName: string | null;
  readonly areaCode: string;
  readonly areaName: string | null;
  /** The embedded GB 11714 organisation code, formatted XXXXXXXX-C. */
  readonly organisationCode: string;
  readonly checkCharacter: string;
}

/**
 * Validates a unified social credit code (GB 32100-2015): alphabet, department and type,
 * the embedded GB 11714 organisation code's own check, and the final MOD 31 check.
 */
export function validateCreditCode(input: string): ValidationResult<CreditCodeParsed> {
  const value = input.trim().toUpperCase();
  if (value.length !== 18) {
    return fail(value, [{ code: 'LENGTH', message: `A unified social credit code has 18 characters; this one has ${value.length}.` }]);
  }
  const excluded = [...value].filter((ch) => !ALPHABET.includes(ch));
  if (excluded.length > 0) {
    const shown = [...new Set(excluded)].map((c) => `'${c}'`).join(', ');
    return fail(value, [
      {
        code: 'CHARACTERS',
        message: `${shown} cannot appear in a unified social credit code (its alphabet has no I, O, S, V or Z).`,
      },
    ]);
  }

  const errors: ValidationIssue[] = [];
  const department = value[0]!;
  const organisationType = value[1]!;
  const dept = DEPARTMENTS[department];
  const typeName = dept?.types[organisationType] ?? null;
  if (!dept) {
    errors.push({ code: 'DEPARTMENT', message: `'${department}' is not an assigned registration department code.` });
  } else if (!typeName) {
    errors.push({ code: 'ORGANISATION_TYPE', message: `'${organisationType}' is not an organisation type under department ${department} (${dept.name}).` });
  }

  const areaCode = value.slice(2, 8);
  if (!/^\d{6}$/.test(areaCode)) {
    errors.push({ code: 'AREA_CODE', message: `Positions 3–8 must be a six-digit division code; found ${areaCode}.` });
  } else if (!isRegistrationArea(areaCode)) {
    errors.push({ code: 'AREA_CODE', message: `Positions 3–8 (${areaCode}) are not a GB/T 2260 division code, current or retired.` });
  }

  const orgBody = value.slice(8, 16);
  const orgCheck = value[16]!;
  const expectedOrgCheck = organisationCodeCheck(orgBody);
  if (expectedOrgCheck !== orgCheck) {
    errors.push({
      code: 'ORGANISATION_CODE_CHECK',
      message: `The embedded organisation code ${orgBody}-${orgCheck} fails its GB 11714 check: expected ${expectedOrgCheck}.`,
    });
  }

  const expected = creditCodeCheck(value.slice(0, 17));
  if (expected !== value[17]) {
    errors.push({ code: 'CHECK_CHARACTER', message: `The check character should be ${expected}, not ${value[17]}.` });
  }

  const parsed: CreditCodeParsed = {
    department,
    departmentName: dept?.name ?? null,
    organisationType,
    organisationTypeName: typeName,
    areaCode,
    areaName: divisions.fullName(areaCode) ?? null,
    organisationCode: `${orgBody}-${orgCheck}`,
    checkCharacter: value[17]!,
  };
  return errors.length > 0 ? fail(value, errors, parsed) : ok(value, parsed);
}

/** National registration authorities (e.g. the State Council's organs) register under 100000. */
const NATIONAL_AREA = '100000';

/**
 * Positions 3–8 name the division of the registering authority (GB/T 2260). A code keeps the
 * division it was issued under after that division is retired, so retired codes stay valid; and
 * as the shipped table lists only some retired counties, a county code under a known prefecture
 * of a known province is accepted too. Anything else — an unknown province or prefecture — is not
 * a division code.
 */
function isRegistrationArea(code: string): boolean {
  if (code === NATIONAL_AREA || divisions.get(code)) return true;
  if (!PROVINCE_PREFIXES.has(code.slice(0, 2))) return false;
  return code.slice(4) !== '00' && divisions.get(code.slice(0, 4) + '00') !== undefined;
}

/** GB 11714 check: weights 3,7,9,10,5,8,4,2; c = 11 − Σ mod 11; 10 → X, 11 → 0. */
export function organisationCodeCheck(body8: string): string {
  let sum = 0;
  for (let i = 0; i < 8; i++) sum += charValue36(body8[i]!) * ORG_WEIGHTS[i]!;
  const c = 11 - (sum % 11);
  return c === 10 ? 'X' : c === 11 ? '0' : String(c);
}

/** GB 32100 final check over the first 17 characters: 31 − Σ mod 31, 31 → 0. */
export function creditCodeCheck(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += ALPHABET.indexOf(first17[i]!) * CODE_WEIGHTS[i]!;
  const c = 31 - (sum % 31);
  return ALPHABET[c === 31 ? 0 : c]!;
}

/** GB 11714 values letters A–Z as 10–35. */
function charValue36(ch: string): number {
  const code = ch.charCodeAt(0);
  return code <= 57 ? code - 48 : code - 55;
}

/** Builds a valid code from its parts; used by the synthetic business register. */
export function buildCreditCode(department: string, type: string, areaCode: string, orgBody8: string): string {
  const first17 = department + type + areaCode + orgBody8 + organisationCodeCheck(orgBody8);
  return first17 + creditCodeCheck(first17);
}
