import { validateCreditCode } from './credit-code.ts';
import { divisions } from './divisions.ts';
import { validateResidentId } from './resident-id.ts';
import type { ValidationIssue } from './validation.ts';

/**
 * The shared data dictionary: the data elements nodes exchange, with one name in code,
 * labels in both languages, a type and a validator. Agreements, data services and item
 * requirements name elements by `id`, so every node reads a field the same way.
 */
export type DataElementType = 'string' | 'date' | 'integer' | 'decimal' | 'code' | 'boolean';

export interface DataElement {
  readonly id: string;
  readonly zh: string;
  readonly en: string;
  readonly type: DataElementType;
  /** Standard the values follow, where there is one. */
  readonly standard?: string;
  /** Allowed codes and their labels, for `code` elements with a closed list. */
  readonly codes?: Readonly<Record<string, string>>;
  /** Personal data the audit log must hash and the hub must never see in clear. */
  readonly personal: boolean;
  readonly maxLength?: number;
}

const SEX_CODES = { '0': '未知的性别', '1': '男', '2': '女', '9': '未说明的性别' } as const;

// GB/T 2261.2 marital status.
const MARITAL_CODES = {
  '10': '未婚',
  '20': '已婚',
  '21': '初婚',
  '22': '再婚',
  '23': '复婚',
  '30': '丧偶',
  '40': '离婚',
  '90': '未说明的婚姻状况',
} as const;

// GB/T 3304 ethnic groups (民族), codes 01–56, plus 97 other and 98 foreign-born naturalised.
const ETHNIC_NAMES =
  '汉族 蒙古族 回族 藏族 维吾尔族 苗族 彝族 壮族 布依族 朝鲜族 满族 侗族 瑶族 白族 土家族 哈尼族 哈萨克族 傣族 黎族 傈僳族 佤族 畲族 高山族 拉祜族 水族 东乡族 纳西族 景颇族 柯尔克孜族 土族 达斡尔族 仫佬族 羌族 布朗族 撒拉族 毛南族 仡佬族 锡伯族 阿昌族 普米族 塔吉克族 怒族 乌孜别克族 俄罗斯族 鄂温克族 德昂族 保安族 裕固族 京族 塔塔尔族 独龙族 鄂伦春族 赫哲族 门巴族 珞巴族 基诺族'.split(
    ' ',
  );
const ETHNIC_CODES: Record<string, string> = Object.fromEntries(
  ETHNIC_NAMES.map((name, i) => [String(i + 1).padStart(2, '0'), name]),
);
ETHNIC_CODES['97'] = '其他';
ETHNIC_CODES['98'] = '外国血统中国籍人士';

// GB/T 4761 relationship to household head (subset used by household registers).
const HOUSEHOLD_RELATION_CODES = {
  '01': '本人', '02': '户主', '10': '配偶', '20': '子', '30': '女', '50': '父母', '60': '祖父母或外祖父母', '99': '其他',
} as const;

const ELEMENTS: readonly DataElement[] = [
  { id: 'idNumber', zh: '公民身份号码', en: 'citizen ID number', type: 'code', standard: 'GB 11643-1999', personal: true },
  { id: 'name', zh: '姓名', en: 'name', type: 'string', personal: true, maxLength: 50 },
  { id: 'sex', zh: '性别', en: 'sex', type: 'code', standard: 'GB/T 2261.1', codes: SEX_CODES, personal: true },
  { id: 'ethnicity', zh: '民族', en: 'ethnic group', type: 'code', standard: 'GB/T 3304', codes: ETHNIC_CODES, personal: true },
  { id: 'birthDate', zh: '出生日期', en: 'date of birth', type: 'date', personal: true },
  { id: 'address', zh: '住址', en: 'address', type: 'string', personal: true, maxLength: 200 },
  { id: 'householdDivision', zh: '户籍地', en: 'place of household registration', type: 'code', standard: 'GB/T 2260', personal: true },
  { id: 'householdAddress', zh: '户籍地址', en: 'household registration address', type: 'string', personal: true, maxLength: 200 },
  { id: 'householdRelation', zh: '与户主关系', en: 'relation to household head', type: 'code', standard: 'GB/T 4761', codes: HOUSEHOLD_RELATION_CODES, personal: true },
  { id: 'maritalStatus', zh: '婚姻状况', en: 'marital status', type: 'code', standard: 'GB/T 2261.2', codes: MARITAL_CODES, personal: true },
  { id: 'spouseIdNumber', zh: '配偶公民身份号码', en: "spouse's citizen ID number", type: 'code', standard: 'GB 11643-1999', personal: true },
  { id: 'spouseName', zh: '配偶姓名', en: "spouse's name", type: 'string', personal: true, maxLength: 50 },
  { id: 'marriageRegistrationDate', zh: '婚姻登记日期', en: 'date of marriage registration', type: 'date', personal: true },
  { id: 'marriageRegistrationAuthority', zh: '婚姻登记机关', en: 'marriage registration authority', type: 'string', personal: false, maxLength: 100 },
  { id: 'phone', zh: '联系电话', en: 'telephone', type: 'string', personal: true, maxLength: 20 },
  { id: 'socialInsuranceInsuredDivision', zh: '参保地', en: 'place of social insurance', type: 'code', standard: 'GB/T 2260', personal: true },
  { id: 'socialInsuranceStatus', zh: '参保状态', en: 'insurance status', type: 'code', codes: { '1': '参保缴费', '2': '暂停缴费', '3': '终止参保' }, personal: true },
  { id: 'contributionMonths', zh: '累计缴费月数', en: 'months of contribution', type: 'integer', personal: true },
  { id: 'contributionStartDate', zh: '首次参保日期', en: 'first insured on', type: 'date', personal: true },
  { id: 'housingFundAccount', zh: '住房公积金个人账号', en: 'housing fund account', type: 'string', personal: true, maxLength: 32 },
  { id: 'housingFundBalance', zh: '住房公积金余额', en: 'housing fund balance (CNY)', type: 'decimal', personal: true },
  { id: 'creditCode', zh: '统一社会信用代码', en: 'unified social credit code', type: 'code', standard: 'GB 32100-2015', personal: false },
  { id: 'entityName', zh: '市场主体名称', en: 'registered entity name', type: 'string', personal: false, maxLength: 200 },
  { id: 'entityType', zh: '市场主体类型', en: 'entity type', type: 'string', personal: false, maxLength: 100 },
  { id: 'legalRepresentative', zh: '法定代表人', en: 'legal representative', type: 'string', personal: true, maxLength: 50 },
  { id: 'registeredCapital', zh: '注册资本（万元）', en: 'registered capital (10k CNY)', type: 'decimal', personal: false },
  { id: 'establishmentDate', zh: '成立日期', en: 'date of establishment', type: 'date', personal: false },
  { id: 'registrationAuthority', zh: '登记机关', en: 'registration authority', type: 'string', personal: false, maxLength: 100 },
  { id: 'businessScope', zh: '经营范围', en: 'business scope', type: 'string', personal: false, maxLength: 2000 },
  { id: 'registrationStatus', zh: '登记状态', en: 'registration status', type: 'code', codes: { '1': '存续', '2': '吊销', '3': '注销', '4': '迁出' }, personal: false },
  { id: 'divisionCode', zh: '行政区划代码', en: 'division code', type: 'code', standard: 'GB/T 2260', personal: false },
  { id: 'licenseId', zh: '证照标识', en: 'e-licence identifier', type: 'code', standard: 'GB/T 36904', personal: false },
  { id: 'criminalRecord', zh: '有无犯罪记录', en: 'has a criminal record', type: 'boolean', personal: true },
];

export const dataDictionary: ReadonlyMap<string, DataElement> = new Map(ELEMENTS.map((e) => [e.id, Object.freeze(e)]));

export function getDataElement(id: string): DataElement | undefined {
  return dataDictionary.get(id);
}

/** Validates one value against its data element; an empty list means valid. */
export function validateDataElement(id: string, value: unknown): ValidationIssue[] {
  const element = dataDictionary.get(id);
  if (!element) return [{ code: 'UNKNOWN_ELEMENT', message: `'${id}' is not in the data dictionary.` }];
  const label = `${element.zh} (${element.id})`;
  switch (element.type) {
    case 'string':
      if (typeof value !== 'string') return [{ code: 'TYPE', message: `${label} must be text.` }];
      if (value.trim() === '') return [{ code: 'EMPTY', message: `${label} must not be empty.` }];
      if (element.maxLength && [...value].length > element.maxLength) {
        return [{ code: 'TOO_LONG', message: `${label} has at most ${element.maxLength} characters.` }];
      }
      return [];
    case 'integer':
      return Number.isSafeInteger(value) ? [] : [{ code: 'TYPE', message: `${label} must be a whole number.` }];
    case 'decimal':
      return typeof value === 'number' && Number.isFinite(value) ? [] : [{ code: 'TYPE', message: `${label} must be a number.` }];
    case 'boolean':
      return typeof value === 'boolean' ? [] : [{ code: 'TYPE', message: `${label} must be true or false.` }];
    case 'date':
      return typeof value === 'string' && isIsoDate(value) ? [] : [{ code: 'TYPE', message: `${label} must be a date as YYYY-MM-DD.` }];
    case 'code':
      return validateCodeElement(element, label, value);
  }
}

function validateCodeElement(element: DataElement, label: string, value: unknown): ValidationIssue[] {
  if (typeof value !== 'string') return [{ code: 'TYPE', message: `${label} must be a code given as text.` }];
  if (element.codes) {
    return value in element.codes ? [] : [{ code: 'CODE', message: `${value} is not a code of ${label}.` }];
  }
  switch (element.standard) {
    case 'GB 11643-1999':
      return [...validateResidentId(value).errors];
    case 'GB 32100-2015':
      return [...validateCreditCode(value).errors];
    case 'GB/T 2260':
      // Retired codes are accepted: old records keep them.
      return divisions.get(value) ? [] : [{ code: 'CODE', message: `${value} is not a GB/T 2260 division code.` }];
    default:
      return value.trim() === '' ? [{ code: 'EMPTY', message: `${label} must not be empty.` }] : [];
  }
}

/** Validates a record of named elements; issues carry the element id as path. */
export function validateRecord(record: Readonly<Record<string, unknown>>): Array<ValidationIssue & { path: string }> {
  return Object.entries(record).flatMap(([id, value]) =>
    value === null || value === undefined ? [] : validateDataElement(id, value).map((issue) => ({ ...issue, path: id })),
  );
}

function isIsoDate(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const date = new Date(value + 'T00:00:00Z');
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(value);
}
