/**
 * The data services nodes publish, by stable id. Each says what identifies its subject and
 * which data dictionary elements it can deliver; agreements grant subsets of these fields.
 */
export interface ServiceDefinition {
  readonly id: string;
  readonly zh: string;
  readonly subject: 'idNumber' | 'creditCode';
  readonly fields: readonly string[];
}

export const serviceDefinitions: readonly ServiceDefinition[] = [
  {
    id: 'household.residence-proof',
    zh: '户籍信息核验',
    subject: 'idNumber',
    fields: ['idNumber', 'name', 'sex', 'ethnicity', 'birthDate', 'householdDivision', 'householdAddress', 'householdRelation'],
  },
  {
    id: 'marriage.status',
    zh: '婚姻状况查询',
    subject: 'idNumber',
    fields: ['idNumber', 'name', 'maritalStatus', 'spouseIdNumber', 'spouseName', 'marriageRegistrationDate', 'marriageRegistrationAuthority'],
  },
  {
    id: 'social-insurance.contribution-history',
    zh: '社保参保缴费记录',
    subject: 'idNumber',
    fields: ['idNumber', 'name', 'socialInsuranceInsuredDivision', 'socialInsuranceStatus', 'contributionMonths', 'contributionStartDate'],
  },
  {
    id: 'business.registration',
    zh: '市场主体登记信息',
    subject: 'creditCode',
    fields: ['creditCode', 'entityName', 'entityType', 'legalRepresentative', 'registeredCapital', 'establishmentDate', 'registrationAuthority', 'registrationStatus'],
  },
];

export const serviceDefinitionById: ReadonlyMap<string, ServiceDefinition> = new Map(serviceDefinitions.map((s) => [s.id, s]));
