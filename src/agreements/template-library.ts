import { AgreementTemplate } from './templates.ts';

const HOUSEHOLD = ['idNumber', 'name', 'sex', 'ethnicity', 'birthDate', 'householdDivision', 'householdAddress'];
const INSURANCE = ['idNumber', 'name', 'socialInsuranceInsuredDivision', 'socialInsuranceStatus', 'contributionMonths', 'contributionStartDate'];
const MARRIAGE = ['idNumber', 'name', 'maritalStatus', 'spouseIdNumber', 'spouseName', 'marriageRegistrationDate'];
const BUSINESS = ['creditCode', 'entityName', 'entityType', 'legalRepresentative', 'registeredCapital', 'establishmentDate', 'registrationStatus'];

/**
 * The shipped templates, drawn from the demo federation's agreements (src/federation/demo.ts)
 * and the national item list (data/catalog): a national baseline, the labour-cooperation bridge
 * of an outflow county with the places its workers go to (Sandu—Anji, Sandu—Changzhou), and the
 * Yangtze Delta alliance through the hub. Acceptance materials and time limits not written here
 * come from the national item list when a template is instantiated.
 */
export const templateLibrary: readonly AgreementTemplate[] = Object.freeze(
  [
    {
      id: 'national-baseline',
      version: 1,
      title: '跨省通办合作协议（全国基线）',
      description: 'The terms every cross-region agreement starts from: household certificates and social-insurance look-ups both ways, security duties and service levels.',
      items: [
        {
          itemCode: 'N034',
          mode: 'proxy',
          acceptingNodes: ['$all'],
          grants: [{ provider: '$each', service: 'household.residence-proof', requesters: ['$others'], fields: HOUSEHOLD, purposes: ['户籍类证明开具'], consentRequired: false }],
          steps: [{ party: '$each', steps: ['受理申请并核验材料', '调取户籍数据', '出具证明'] }],
        },
        {
          itemCode: 'N039',
          mode: 'online',
          grants: [{ provider: '$each', service: 'social-insurance.contribution-history', requesters: ['$others'], fields: INSURANCE, purposes: ['社保参保缴费查询'], consentRequired: false }],
        },
      ],
      security: '各方仅将数据用于协议所列事项；查询记录各方各自留存不少于三年；不得向第三方提供。',
      securityDuties: { incidentNotificationHours: 24, retentionDays: 1095, encryptionRequired: true },
      serviceLevels: { availabilityPercent: 99.5, responseSeconds: 5 },
      permissions: [
        { party: '$all', role: 'clerk', services: ['household.residence-proof', 'social-insurance.contribution-history'] },
        { party: '$all', role: 'approver', services: ['household.residence-proof', 'social-insurance.contribution-history'] },
      ],
    },
    {
      id: 'labour-cooperation',
      version: 1,
      title: '劳务协作跨省通办合作协议',
      description:
        'A bridge between a county that sends workers (the convener) and a place they work in: the county certifies household and marriage records, pension transfers run both ways (Sandu—Anji, Sandu—Changzhou).',
      extends: 'national-baseline',
      topology: 'bridge',
      items: [
        {
          itemCode: 'N034',
          mode: 'proxy',
          acceptingNodes: ['$partners'],
          decidingNodes: ['$convener'],
          grants: [{ provider: '$convener', service: 'household.residence-proof', requesters: ['$partners'], fields: HOUSEHOLD, purposes: ['户籍类证明开具', '居住证办理'], consentRequired: false }],
          steps: [
            { party: '$partners', steps: ['异地受理并核验材料', '寄递纸质材料'] },
            { party: '$convener', steps: ['调取户籍数据', '出具证明并送达'] },
          ],
        },
        {
          itemCode: 'N010',
          mode: 'joint',
          decidingNodes: ['$all'],
          grants: [{ provider: '$each', service: 'social-insurance.contribution-history', requesters: ['$others'], fields: INSURANCE, purposes: ['养老保险关系转移接续'], consentRequired: false }],
        },
        {
          itemCode: 'N037',
          mode: 'proxy',
          acceptingNodes: ['$partners'],
          decidingNodes: ['$convener'],
          grants: [{ provider: '$convener', service: 'marriage.status', requesters: ['$partners'], fields: MARRIAGE, purposes: ['婚姻登记'], consentRequired: true }],
        },
      ],
      permissions: [{ party: '$all', role: 'approver', services: ['household.residence-proof', 'social-insurance.contribution-history', 'marriage.status'] }],
    },
    {
      id: 'yangtze-delta',
      version: 1,
      title: '长三角跨省通办合作协议（经国家平台）',
      description: 'The Yangtze Delta alliance (长三角) through the national hub: business registration among all parties, on top of the national baseline, with tighter service levels.',
      extends: 'national-baseline',
      topology: 'hub',
      items: [
        {
          itemCode: 'N001',
          mode: 'proxy',
          acceptingNodes: ['$all'],
          grants: [{ provider: '$each', service: 'business.registration', requesters: ['$others'], fields: BUSINESS, purposes: ['市场主体登记注册'], consentRequired: false }],
        },
      ],
      securityDuties: { incidentNotificationHours: 12 },
      serviceLevels: { availabilityPercent: 99.9, responseSeconds: 3 },
      permissions: [{ party: '$all', role: 'clerk', services: ['household.residence-proof', 'social-insurance.contribution-history', 'business.registration'] }],
    },
  ].map((t) => Object.freeze(AgreementTemplate.parse(t))),
);
