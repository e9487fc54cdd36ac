import { certificateTypeById, certificateTypeForItem } from '../certificates/index.ts';
import { buildCreditCode, divisions } from '../standards/index.ts';
import type { CertificateIssuerInput, FederationConfigInput } from './config.ts';

/** The password of every person the demo enrols at the hub: published, so demo material only (start-up warns). */
export const DEMO_PASSWORD = 'tongban-demo-password';
/** The demo administrators' node passphrase (dataadmin@, operator@): published like the password, and not the same, since the hub sees the password. */
export const DEMO_PASSPHRASE = 'tongban-demo-passphrase';

const HOUSEHOLD = ['idNumber', 'name', 'sex', 'ethnicity', 'birthDate', 'householdDivision', 'householdAddress'];
const INSURANCE = ['idNumber', 'name', 'socialInsuranceInsuredDivision', 'socialInsuranceStatus', 'contributionMonths', 'contributionStartDate'];
const MARRIAGE = ['idNumber', 'name', 'maritalStatus', 'spouseIdNumber', 'spouseName', 'marriageRegistrationDate'];
const BUSINESS = ['creditCode', 'entityName', 'entityType', 'legalRepresentative', 'registeredCapital', 'establishmentDate', 'registrationStatus'];

/**
 * The demo federation: the national hub and four places. Sandu county (Guizhou) sends workers
 * to Anji (Zhejiang) and Changzhou (Jiangsu), so it has direct bridges to both; everything
 * else, Qingpu (Shanghai) included, goes through the hub. A criminal-record certificate (N035)
 * decided in Anji or Changzhou uses Sandu's household record after the applicant has previewed it.
 */
export function demoFederation(overrides: Partial<FederationConfigInput> = {}): FederationConfigInput {
  const bridge = (id: string, partner: string, partnerName: string) => ({
    id,
    title: `三都水族自治县—${partnerName} 劳务协作跨省通办合作协议`,
    topology: 'bridge' as const,
    parties: ['522732', partner],
    security: '双方仅将数据用于协议所列事项；查询记录双方各自留存不少于三年；不得向第三方提供。',
    items: [
      {
        itemCode: 'N034',
        grants: [{ provider: '522732', service: 'household.residence-proof', requesters: [partner], fields: HOUSEHOLD, purposes: ['户籍类证明开具', '居住证办理'], consentRequired: false }],
      },
      {
        itemCode: 'N010',
        grants: [
          { provider: partner, service: 'social-insurance.contribution-history', requesters: ['522732'], fields: INSURANCE, purposes: ['养老保险关系转移接续'], consentRequired: false },
          { provider: '522732', service: 'social-insurance.contribution-history', requesters: [partner], fields: INSURANCE, purposes: ['养老保险关系转移接续'], consentRequired: false },
        ],
      },
      {
        itemCode: 'N037',
        grants: [{ provider: '522732', service: 'marriage.status', requesters: [partner], fields: MARRIAGE, purposes: ['婚姻登记'], consentRequired: true }],
      },
    ],
  });
  const config: FederationConfigInput = {
    dir: 'var/demo',
    portBase: 7700,
    directory: { refreshSeconds: 10, snapshotTtlSeconds: 3600 },
    audit: { checkpointSeconds: 10 },
    demoPeople: { password: DEMO_PASSWORD },
    hub: { division: '100000', name: '国家政务服务平台' },
    nodes: [
      { division: '522732', people: 3000, businesses: 300 },
      { division: '330523', people: 2000, businesses: 300 },
      // Changzhou signs with SM2 (国密), the others with Ed25519: both kinds interoperate.
      { division: '320400', people: 2000, businesses: 300, algorithm: 'SM2' },
      { division: '310118', people: 2000, businesses: 300 },
    ],
    agreements: [
      bridge('AGR-522732-330523-001', '330523', '安吉县'),
      bridge('AGR-522732-320400-001', '320400', '常州市'),
      {
        id: 'AGR-HUB-DELTA-001',
        title: '长三角与三都 市场主体及户籍信息跨省通办合作协议（经国家平台）',
        topology: 'hub',
        parties: ['522732', '330523', '320400', '310118'],
        items: [
          {
            itemCode: 'N001',
            grants: ['522732', '330523', '320400', '310118'].map((provider) => ({
              provider,
              service: 'business.registration',
              requesters: ['522732', '330523', '320400', '310118'].filter((p) => p !== provider),
              fields: BUSINESS,
              purposes: ['市场主体登记注册'],
              consentRequired: false,
            })),
          },
          {
            itemCode: 'N034',
            grants: [
              { provider: '522732', service: 'household.residence-proof', requesters: ['310118'], fields: HOUSEHOLD, purposes: ['户籍类证明开具'], consentRequired: false },
              { provider: '310118', service: 'household.residence-proof', requesters: ['522732'], fields: HOUSEHOLD, purposes: ['户籍类证明开具'], consentRequired: false },
            ],
          },
          {
            itemCode: 'N039',
            grants: [{ provider: '310118', service: 'social-insurance.contribution-history', requesters: ['522732'], fields: INSURANCE, purposes: ['社保参保缴费查询'], consentRequired: false }],
          },
        ],
      },
      {
        // Preview (EU once-only): the applicant sees Sandu's household record before the deciding node does.
        id: 'AGR-HUB-PREVIEW-001',
        title: '无犯罪记录证明开具 户籍信息共享（申请人预览，经国家平台）',
        topology: 'hub',
        parties: ['522732', '330523', '320400'],
        items: [
          {
            itemCode: 'N035',
            preview: true,
            grants: [{ provider: '522732', service: 'household.residence-proof', requesters: ['330523', '320400'], fields: HOUSEHOLD, purposes: ['无犯罪记录证明开具'], consentRequired: false }],
          },
        ],
      },
    ],
    ...overrides,
  };
  return { ...config, certificateIssuers: overrides.certificateIssuers ?? demoCertificateIssuers(config) };
}

/** Anji and Changzhou issue at least these (the scenario), whatever their agreements. */
const REQUIRED_TYPES: Readonly<Record<string, readonly string[]>> = {
  '330523': ['marriage', 'household-move', 'social-insurance', 'no-criminal-record'],
  '320400': ['marriage', 'household-move', 'social-insurance', 'no-criminal-record'],
};

/**
 * The demo's certificate issuers: every node, for the certificate types the items of its agreements
 * can yield (and Anji and Changzhou for the scenario), each under an illustrative authority
 * — `<place>政务服务管理局` — whose GB 32100 credit code is made up for the demo (a 机关 registered
 * in the node's division) with valid check characters.
 */
export function demoCertificateIssuers(config: Pick<FederationConfigInput, 'nodes' | 'agreements'>): CertificateIssuerInput[] {
  return config.nodes.flatMap((node) => {
    const yielded = (config.agreements ?? []).filter((a) => a.parties.includes(node.division)).flatMap((a) => a.items.map((i) => certificateTypeForItem(i.itemCode)?.id));
    const types = [...new Set([...(REQUIRED_TYPES[node.division] ?? []), ...yielded])].filter((id): id is string => id !== undefined && certificateTypeById(id) !== undefined).sort();
    if (types.length === 0) return [];
    const place = divisions.get(node.division)?.name ?? node.division;
    return [{ division: node.division, authority: `${place}政务服务管理局`, authorityCode: buildCreditCode('1', '1', node.division, `MB${node.division}`), types }];
  });
}
