/**
 * The certificate types (证照类型) Tongban issues: a small catalogue. Type codes are illustrative
 * (a valid GB 32100 credit code of the defining body followed by three digits); the real national
 * codes replace them.
 */
export interface CertificateField {
  readonly name: string;
  readonly label: string;
  /** The data dictionary element the value follows, where there is one. */
  readonly dataElement?: string;
  readonly required: boolean;
}

export interface CertificateType {
  readonly id: 'marriage' | 'household-move' | 'social-insurance' | 'no-criminal-record' | 'business-licence';
  /** `urn:tongban:certificate:<id>` */
  readonly vct: string;
  /** 21 characters, for buildLicenseId. */
  readonly typeCode: string;
  readonly name: string;
  readonly nameEn: string;
  /** Catalogue item codes whose granted cases yield this certificate. */
  readonly items: readonly string[];
  /** GB/T 36903 holder code type: 111 citizen ID number, 001 unified social credit code. */
  readonly holderCodeType: '111' | '001';
  /** Personal fields, every one selectively disclosable. */
  readonly fields: readonly CertificateField[];
  readonly validityDays: number;
}

// Illustrative defining bodies (机关, registered under 100000): 民政部, 公安部, 人力资源社会保障部, 市场监管总局.
const CIVIL_AFFAIRS = '11100000000000131E';
const PUBLIC_SECURITY = '1110000000000014X6';
const HUMAN_RESOURCES = '111000000000001586';
const MARKET_REGULATION = '111000000000001661';

const holderName: CertificateField = { name: 'holderName', label: '持证人姓名', dataElement: 'name', required: true };
const holderIdNumber: CertificateField = { name: 'holderIdNumber', label: '持证人公民身份号码', dataElement: 'idNumber', required: true };

const types: readonly CertificateType[] = [
  {
    id: 'marriage',
    vct: 'urn:tongban:certificate:marriage',
    typeCode: CIVIL_AFFAIRS + '001',
    name: '结婚证',
    nameEn: 'marriage certificate',
    items: ['N037'],
    holderCodeType: '111',
    fields: [
      holderName,
      holderIdNumber,
      { name: 'spouseName', label: '配偶姓名', dataElement: 'spouseName', required: true },
      { name: 'spouseIdNumber', label: '配偶公民身份号码', dataElement: 'spouseIdNumber', required: true },
      { name: 'registrationDate', label: '登记日期', dataElement: 'marriageRegistrationDate', required: true },
    ],
    validityDays: 36500,
  },
  {
    id: 'household-move',
    vct: 'urn:tongban:certificate:household-move',
    typeCode: PUBLIC_SECURITY + '001',
    name: '户口迁移证明',
    nameEn: 'household registration transfer certificate',
    items: ['N029', 'N030', 'N031', 'N032', 'N033'],
    holderCodeType: '111',
    fields: [
      holderName,
      holderIdNumber,
      { name: 'fromDivision', label: '迁出地', dataElement: 'householdDivision', required: true },
      { name: 'toDivision', label: '迁入地', dataElement: 'divisionCode', required: true },
    ],
    validityDays: 40,
  },
  {
    id: 'social-insurance',
    vct: 'urn:tongban:certificate:social-insurance',
    typeCode: HUMAN_RESOURCES + '001',
    name: '社会保险参保缴费证明',
    nameEn: 'social insurance contribution certificate',
    items: ['N039', 'N010', 'N011'],
    holderCodeType: '111',
    fields: [
      holderName,
      holderIdNumber,
      { name: 'socialInsuranceInsuredDivision', label: '参保地', dataElement: 'socialInsuranceInsuredDivision', required: true },
      { name: 'contributionMonths', label: '累计缴费月数', dataElement: 'contributionMonths', required: true },
      { name: 'socialInsuranceStatus', label: '参保状态', dataElement: 'socialInsuranceStatus', required: true },
    ],
    validityDays: 90,
  },
  {
    id: 'no-criminal-record',
    vct: 'urn:tongban:certificate:no-criminal-record',
    typeCode: PUBLIC_SECURITY + '002',
    name: '无犯罪记录证明',
    nameEn: 'certificate of no criminal record',
    items: ['N035'],
    holderCodeType: '111',
    fields: [holderName, holderIdNumber, { name: 'criminalRecord', label: '有无犯罪记录', dataElement: 'criminalRecord', required: true }],
    validityDays: 180,
  },
  {
    id: 'business-licence',
    vct: 'urn:tongban:certificate:business-licence',
    typeCode: MARKET_REGULATION + '001',
    name: '营业执照',
    nameEn: 'business licence',
    items: ['N001', 'N002', 'N009'],
    holderCodeType: '001',
    fields: [
      { name: 'entityName', label: '市场主体名称', dataElement: 'entityName', required: true },
      { name: 'creditCode', label: '统一社会信用代码', dataElement: 'creditCode', required: true },
      { name: 'legalRepresentative', label: '法定代表人', dataElement: 'legalRepresentative', required: true },
      { name: 'entityType', label: '市场主体类型', dataElement: 'entityType', required: false },
    ],
    validityDays: 7300,
  },
];

function freezeType(type: CertificateType): CertificateType {
  return Object.freeze({ ...type, items: Object.freeze([...type.items]), fields: Object.freeze(type.fields.map((f) => Object.freeze({ ...f }))) });
}

export const certificateTypes: readonly CertificateType[] = Object.freeze(types.map(freezeType));

const byItem = new Map(certificateTypes.flatMap((t) => t.items.map((item) => [item, t] as const)));
const byId = new Map(certificateTypes.map((t) => [t.id as string, t]));
const byVct = new Map(certificateTypes.map((t) => [t.vct, t]));

export function certificateTypeForItem(itemCode: string): CertificateType | undefined {
  return byItem.get(itemCode);
}

export function certificateTypeById(id: string): CertificateType | undefined {
  return byId.get(id);
}

export function certificateTypeByVct(vct: string): CertificateType | undefined {
  return byVct.get(vct);
}
