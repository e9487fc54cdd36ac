import type { CaseState } from '../cases/index.ts';

/**
 * The demo seed's plan: which cases, exchanges, negotiations, consents and tracker reads the demo
 * federation gets, on which (working) day, by whom. Pure and deterministic for its input: the
 * executor (seed.ts) carries it out through the nodes' and the hub's own APIs.
 */

export const SANDU = '522732';
export const ANJI = '330523';
export const CHANGZHOU = '320400';
export const QINGPU = '310118';

const HOUSEHOLD = ['idNumber', 'name', 'sex', 'ethnicity', 'birthDate', 'householdDivision', 'householdAddress'];
const MARRIAGE = ['idNumber', 'name', 'maritalStatus', 'spouseIdNumber', 'spouseName', 'marriageRegistrationDate'];
const BUSINESS = ['creditCode', 'entityName', 'entityType', 'legalRepresentative', 'registeredCapital', 'establishmentDate', 'registrationStatus'];

export interface PlanPerson {
  readonly idNumber: string;
  readonly name: string;
}
export interface PlanBusiness {
  readonly creditCode: string;
  readonly entityName: string;
}

export interface PlanInput {
  /** How many cases in all (every state gets some as soon as there are 12). */
  readonly cases: number;
  /** Working days the history spans, oldest first; the last one is today (CST). */
  readonly days: readonly string[];
  /** The federation's nodes (the demo's four; routes naming others are left out). */
  readonly nodes: readonly string[];
  /** People and businesses of each node's sample registry. */
  readonly people: Readonly<Record<string, readonly PlanPerson[]>>;
  readonly businesses: Readonly<Record<string, readonly PlanBusiness[]>>;
  /** The citizens the seed enrols at the hub (they sign in): applicants of the cases that need them. */
  readonly citizens: ReadonlyArray<PlanPerson & { readonly node: string }>;
  /** The committed time limit of an item, in working days. */
  readonly committedDays: (itemCode: string) => number;
  readonly seed?: number;
}

/** Who takes a step: a staff member of a node by role (`clerk@<node>`…), the applicant, or the node's operator. */
export type StepActor = { readonly role: 'clerk' | 'approver' | 'supervisor'; readonly node: string } | { readonly role: 'citizen'; readonly node: string } | { readonly role: 'operator'; readonly node: string };

export type CaseStep =
  | { readonly kind: 'apply'; readonly day: number; readonly at: string }
  | { readonly kind: 'action'; readonly day: number; readonly at: string; readonly by: StepActor; readonly action: string; readonly input: Record<string, unknown>; readonly shipmentTo?: string }
  | { readonly kind: 'evidence'; readonly day: number; readonly at: string; readonly by: StepActor; readonly provider: string; readonly service: string; readonly purpose: string; readonly consent?: ConsentPlan }
  | { readonly kind: 'release'; readonly day: number; readonly refuse: boolean }
  | { readonly kind: 'thread'; readonly day: number; readonly at: string; readonly by: StepActor; readonly text: string };

export interface ConsentPlan {
  readonly requester: string;
  readonly provider: string;
  readonly agreementId: string;
  readonly itemCode: string;
  readonly service: string;
  readonly purpose: string;
  readonly fields: readonly string[];
}

export interface CasePlan {
  readonly index: number;
  readonly itemCode: string;
  readonly mode: 'online' | 'proxy' | 'joint';
  readonly accepting: string;
  readonly competent: readonly string[];
  readonly applicant: PlanPerson;
  /** The applicant signs in (an enrolled citizen). */
  readonly citizen: boolean;
  readonly target: CaseState;
  /** For open cases whose clock runs: the light the acceptance day aims at. */
  readonly light?: 'green' | 'yellow' | 'red';
  readonly steps: readonly CaseStep[];
}

export interface ExchangePlan {
  readonly day: number;
  readonly from: string;
  readonly provider: string;
  readonly service: string;
  readonly subject: { readonly type: 'idNumber' | 'creditCode'; readonly value: string };
  readonly purpose: string;
  readonly via?: 'bridge' | 'hub';
  readonly fields?: readonly string[];
  /** What the plan expects: the agreement allows it, or why it does not (for the report). */
  readonly expect: 'served' | 'outside-agreement' | 'purpose' | 'field' | 'consent';
}

export interface NegotiationPlan {
  readonly day: number;
  readonly convener: string;
  readonly partners: readonly string[];
  readonly agreementId: string;
  /** A template of the library, or terms written from scratch. */
  readonly origin: { readonly template: string; readonly items?: readonly string[] } | { readonly scratch: true; readonly itemCode: string; readonly title: string };
  /** How far it goes: proposed (one round), countered (several rounds), signed, active (registered). */
  readonly until: 'proposed' | 'countered' | 'signed' | 'active';
}

export interface StandaloneConsentPlan extends ConsentPlan {
  readonly day: number;
  readonly citizen: string;
  readonly revoke: boolean;
}

export interface SeedPlan {
  readonly days: readonly string[];
  readonly cases: readonly CasePlan[];
  readonly exchanges: readonly ExchangePlan[];
  readonly negotiations: readonly NegotiationPlan[];
  readonly consents: readonly StandaloneConsentPlan[];
  /** Citizens (ID numbers) who read their data tracker, on the last day. */
  readonly trackerReads: readonly string[];
}

interface Route {
  readonly itemCode: string;
  readonly mode: 'online' | 'proxy' | 'joint';
  readonly accepting: string;
  readonly competent: readonly string[];
  /** Whose registry the applicant comes from; `citizen`: an enrolled citizen of that node. */
  readonly applicantFrom: string;
  readonly citizen?: boolean;
  readonly evidence?: { readonly by: 'accepting' | 'competent'; readonly provider: string; readonly service: string; readonly purpose: string; readonly preview?: boolean; readonly consent?: ConsentPlan };
  /** The competent node that concludes (issues the certificate, if the item yields one). */
  readonly concludeAt: string;
  readonly certificate?: (applicant: PlanPerson, business: PlanBusiness | undefined) => Record<string, string>;
}

const marriageConsent = (requester: string): ConsentPlan => ({
  requester,
  provider: SANDU,
  agreementId: `AGR-${SANDU}-${requester}-001`,
  itemCode: 'N037',
  service: 'marriage.status',
  purpose: '婚姻登记',
  fields: MARRIAGE,
});

const insuranceFields = (months: number) => ({ socialInsuranceInsuredDivision: SANDU, contributionMonths: String(months), socialInsuranceStatus: '1' });

/**
 * The cross-region routes of the demo federation, each within an agreement of demoFederation():
 * household proofs for Sandu's workers in Anji and Changzhou (bridges) and Qingpu (hub), marriage
 * registration with consent, pension transfers handled jointly, the criminal-record certificate
 * with the applicant's preview, business registration among the Delta and insurance look-ups.
 */
const ROUTES: readonly Route[] = [
  { itemCode: 'N034', mode: 'online', accepting: ANJI, competent: [SANDU], applicantFrom: SANDU, concludeAt: SANDU, evidence: { by: 'accepting', provider: SANDU, service: 'household.residence-proof', purpose: '户籍类证明开具' } },
  { itemCode: 'N034', mode: 'online', accepting: CHANGZHOU, competent: [SANDU], applicantFrom: SANDU, concludeAt: SANDU, evidence: { by: 'accepting', provider: SANDU, service: 'household.residence-proof', purpose: '户籍类证明开具' } },
  { itemCode: 'N034', mode: 'online', accepting: QINGPU, competent: [SANDU], applicantFrom: SANDU, concludeAt: SANDU, evidence: { by: 'accepting', provider: SANDU, service: 'household.residence-proof', purpose: '户籍类证明开具' } },
  { itemCode: 'N034', mode: 'proxy', accepting: ANJI, competent: [SANDU], applicantFrom: SANDU, concludeAt: SANDU },
  { itemCode: 'N034', mode: 'proxy', accepting: CHANGZHOU, competent: [SANDU], applicantFrom: SANDU, concludeAt: SANDU },
  {
    itemCode: 'N037', mode: 'online', accepting: SANDU, competent: [ANJI], applicantFrom: SANDU, citizen: true, concludeAt: ANJI,
    evidence: { by: 'competent', provider: SANDU, service: 'marriage.status', purpose: '婚姻登记', consent: marriageConsent(ANJI) },
    certificate: (p) => ({ spouseName: '韦' + p.name.slice(1), spouseIdNumber: p.idNumber, registrationDate: '2026-05-20' }),
  },
  {
    itemCode: 'N037', mode: 'online', accepting: SANDU, competent: [CHANGZHOU], applicantFrom: SANDU, citizen: true, concludeAt: CHANGZHOU,
    evidence: { by: 'competent', provider: SANDU, service: 'marriage.status', purpose: '婚姻登记', consent: marriageConsent(CHANGZHOU) },
    certificate: (p) => ({ spouseName: '蒙' + p.name.slice(1), spouseIdNumber: p.idNumber, registrationDate: '2026-10-01' }),
  },
  {
    itemCode: 'N010', mode: 'joint', accepting: ANJI, competent: [ANJI, SANDU], applicantFrom: SANDU, concludeAt: ANJI,
    evidence: { by: 'accepting', provider: SANDU, service: 'social-insurance.contribution-history', purpose: '养老保险关系转移接续' },
    certificate: () => insuranceFields(96),
  },
  {
    itemCode: 'N010', mode: 'joint', accepting: CHANGZHOU, competent: [CHANGZHOU, SANDU], applicantFrom: SANDU, concludeAt: CHANGZHOU,
    evidence: { by: 'accepting', provider: SANDU, service: 'social-insurance.contribution-history', purpose: '养老保险关系转移接续' },
    certificate: () => insuranceFields(120),
  },
  {
    itemCode: 'N010', mode: 'proxy', accepting: SANDU, competent: [ANJI], applicantFrom: ANJI, concludeAt: ANJI,
    evidence: { by: 'accepting', provider: ANJI, service: 'social-insurance.contribution-history', purpose: '养老保险关系转移接续' },
    certificate: () => ({ ...insuranceFields(60), socialInsuranceInsuredDivision: ANJI }),
  },
  {
    itemCode: 'N035', mode: 'online', accepting: ANJI, competent: [ANJI], applicantFrom: SANDU, citizen: true, concludeAt: ANJI,
    evidence: { by: 'accepting', provider: SANDU, service: 'household.residence-proof', purpose: '无犯罪记录证明开具', preview: true },
    certificate: () => ({ criminalRecord: 'false' }),
  },
  {
    itemCode: 'N035', mode: 'online', accepting: CHANGZHOU, competent: [CHANGZHOU], applicantFrom: SANDU, citizen: true, concludeAt: CHANGZHOU,
    evidence: { by: 'accepting', provider: SANDU, service: 'household.residence-proof', purpose: '无犯罪记录证明开具', preview: true },
    certificate: () => ({ criminalRecord: 'false' }),
  },
  {
    itemCode: 'N039', mode: 'online', accepting: SANDU, competent: [QINGPU], applicantFrom: QINGPU, concludeAt: QINGPU,
    evidence: { by: 'accepting', provider: QINGPU, service: 'social-insurance.contribution-history', purpose: '社保参保缴费查询' },
    certificate: () => ({ socialInsuranceInsuredDivision: QINGPU, contributionMonths: '48', socialInsuranceStatus: '1' }),
  },
  ...([
    [QINGPU, ANJI],
    [ANJI, QINGPU],
    [CHANGZHOU, QINGPU],
    [SANDU, CHANGZHOU],
  ] as const).map(
    ([accepting, competent]): Route => ({
      itemCode: 'N001', mode: 'online', accepting, competent: [competent], applicantFrom: competent, concludeAt: competent,
      certificate: (p, b) => ({ entityName: b?.entityName ?? `${p.name}商贸有限公司`, creditCode: b?.creditCode ?? '', legalRepresentative: p.name }),
    }),
  ),
  {
    itemCode: 'N001', mode: 'proxy', accepting: QINGPU, competent: [CHANGZHOU], applicantFrom: CHANGZHOU, concludeAt: CHANGZHOU,
    certificate: (p, b) => ({ entityName: b?.entityName ?? `${p.name}商贸有限公司`, creditCode: b?.creditCode ?? '', legalRepresentative: p.name }),
  },
];

/** Share of each state among the cases (the first twelve cases take one state each). */
const STATE_WEIGHTS: ReadonlyArray<readonly [CaseState, number]> = [
  ['applied', 8],
  ['pending_materials', 6],
  ['accepted', 10],
  ['rejected', 5],
  ['in_review', 14],
  ['special_procedure', 5],
  ['suspended', 5],
  ['returned', 5],
  ['decided', 7],
  ['concluded', 10],
  ['delivered', 18],
  ['withdrawn', 7],
];

/** Materials of the items the routes use (the national catalogue's acceptance criteria). */
const MATERIALS: Readonly<Record<string, ReadonlyArray<{ name: string; physical: boolean; required: boolean }>>> = {
  N001: [
    { name: '法定代表人身份证件', physical: true, required: true },
    { name: '申请表', physical: false, required: true },
    { name: '营业执照', physical: false, required: false },
  ],
  N010: [
    { name: '居民身份证', physical: true, required: true },
    { name: '申请表', physical: false, required: true },
    { name: '参保缴费凭证', physical: true, required: false },
  ],
  N034: [
    { name: '居民身份证', physical: true, required: true },
    { name: '申请表', physical: false, required: true },
  ],
  N035: [
    { name: '居民身份证', physical: true, required: true },
    { name: '申请表', physical: false, required: true },
  ],
  N037: [
    { name: '居民身份证', physical: true, required: true },
    { name: '申请表', physical: false, required: true },
    { name: '结婚证', physical: true, required: false },
  ],
  N039: [
    { name: '居民身份证', physical: false, required: true },
    { name: '申请表', physical: false, required: true },
  ],
};

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const REASONS = {
  requestMaterials: ['申请表未签字，请补充签字后的申请表', '身份证件复印件不清晰，请补充清晰的复印件', '缺少户口簿首页复印件'],
  reject: ['申请事项不属于本窗口受理范围', '申请人未能提供有效身份证件', '补正材料逾期未提交'],
  withdraw: ['申请人主动撤回申请', '申请人已在户籍地自行办理', '申请人信息填写有误，重新申请'],
  return: ['材料与受理清单不一致，请核对后重新提交', '申请表信息与证件不符，退回补正'],
  special: ['需要现场核查', '需要专家评审', '需要听证'],
  suspend: ['等待有关部门协查', '申请人申请中止审查'],
  grant: ['材料齐全，符合法定条件', '经审查，符合办理条件'],
  refuse: ['不符合法定条件', '经核查，申请人不具备办理资格'],
  accept: ['受理'],
};

const pickFrom = <T>(random: () => number, list: readonly T[]): T => list[Math.floor(random() * list.length)]!;

/** A time of day (CST) for the n-th step of a day: office hours, in order. */
function timeOfDay(n: number): string {
  const minutes = 9 * 60 + 10 + n * 17;
  return `${String(Math.min(17, Math.floor(minutes / 60))).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

/** The plan for `input`: deterministic for the same input. */
export function planSeed(input: PlanInput): SeedPlan {
  const random = rng(input.seed ?? 20261130);
  const last = input.days.length - 1;
  if (last < 12) throw new Error('the seed needs at least 13 working days of history');
  const present = new Set(input.nodes);
  const routes = ROUTES.filter((r) => present.has(r.accepting) && r.competent.every((c) => present.has(c)) && present.has(r.applicantFrom) && (!r.evidence || present.has(r.evidence.provider)));
  const citizensOf = (node: string) => input.citizens.filter((c) => c.node === node);
  const usable = routes.filter((r) => !r.citizen || citizensOf(r.applicantFrom).length > 0);
  if (usable.length === 0) throw new Error('no route of the demo seed fits this federation');
  // Applicants are drawn from each registry, past the first people (the enrolled citizens come first).
  const drawn = new Map<string, number>();
  const nextPerson = (node: string): PlanPerson => {
    const list = input.people[node] ?? [];
    const i = drawn.get(node) ?? 0;
    drawn.set(node, i + 1);
    return list[(input.citizens.length + i) % Math.max(1, list.length)]!;
  };
  const businessOf = (node: string, n: number): PlanBusiness | undefined => {
    const list = input.businesses[node] ?? [];
    return list.length > 0 ? list[n % list.length] : undefined;
  };

  const totalWeight = STATE_WEIGHTS.reduce((s, [, w]) => s + w, 0);
  const targets: CaseState[] = [];
  for (let i = 0; i < input.cases; i++) {
    if (i < STATE_WEIGHTS.length) {
      targets.push(STATE_WEIGHTS[i]![0]);
      continue;
    }
    let r = random() * totalWeight;
    let chosen: CaseState = 'delivered';
    for (const [state, weight] of STATE_WEIGHTS) if ((r -= weight) < 0) {
      chosen = state;
      break;
    }
    targets.push(chosen);
  }

  const cases: CasePlan[] = targets.map((target, index) => {
    const route = usable[index % usable.length]!;
    const citizens = citizensOf(route.applicantFrom);
    const applicant = route.citizen ? citizens[index % citizens.length]! : nextPerson(route.applicantFrom);
    // Some ordinary cases of each enrolled citizen too, so every citizen's console has several.
    const applicantFinal = !route.citizen && route.applicantFrom === SANDU && citizens.length > 0 && index % 7 === 0 ? citizens[index % citizens.length]! : applicant;
    const isCitizen = route.citizen === true || applicantFinal !== applicant;
    return planCase(index, route, target, applicantFinal, isCitizen, businessOf(route.competent[0]!, index), input, last, random);
  });

  const exchanges = planExchanges(input, last, random, present);
  const negotiations: NegotiationPlan[] = [
    { day: 2, convener: QINGPU, partners: [ANJI], agreementId: `AGR-${QINGPU}-${ANJI}-001`, origin: { template: 'yangtze-delta' }, until: 'active' },
    { day: 6, convener: CHANGZHOU, partners: [QINGPU], agreementId: `AGR-${CHANGZHOU}-${QINGPU}-001`, origin: { template: 'national-baseline' }, until: 'signed' },
    { day: last - 4, convener: ANJI, partners: [CHANGZHOU], agreementId: `AGR-${ANJI}-${CHANGZHOU}-001`, origin: { template: 'national-baseline', items: ['N034'] }, until: 'proposed' },
    { day: 8, convener: SANDU, partners: [QINGPU], agreementId: `AGR-${SANDU}-${QINGPU}-002`, origin: { scratch: true, itemCode: 'N010', title: '三都—青浦 养老保险关系转移接续合作协议' }, until: 'active' },
    { day: last - 6, convener: ANJI, partners: [CHANGZHOU, QINGPU], agreementId: `AGR-${ANJI}-DELTA-HOUSING-001`, origin: { scratch: true, itemCode: 'N040', title: '安吉—常州—青浦 住房公积金转移接续合作协议' }, until: 'countered' },
    { day: last - 2, convener: SANDU, partners: [CHANGZHOU], agreementId: `AGR-${SANDU}-${CHANGZHOU}-002`, origin: { scratch: true, itemCode: 'N042', title: '三都—常州 基本医疗保险关系转移接续合作协议' }, until: 'countered' },
  ].filter((n) => present.has(n.convener) && n.partners.every((p) => present.has(p))) as NegotiationPlan[];

  const consents: StandaloneConsentPlan[] = input.citizens
    .filter((c) => c.node === SANDU)
    .slice(0, 3)
    .flatMap((c, i) =>
      [ANJI, CHANGZHOU]
        .filter((requester) => present.has(requester))
        .map((requester, j) => ({ ...marriageConsent(requester), day: last - 3 - i - j, citizen: c.idNumber, revoke: (i + j) % 2 === 0 })),
    );
  return { days: input.days, cases, exchanges, negotiations, consents, trackerReads: input.citizens.map((c) => c.idNumber) };
}

function planCase(index: number, route: Route, target: CaseState, applicant: PlanPerson, citizen: boolean, business: PlanBusiness | undefined, input: PlanInput, last: number, random: () => number): CasePlan {
  const A = route.accepting;
  const competent = route.competent;
  const B = route.concludeAt;
  const limit = input.committedDays(route.itemCode);
  const materials = MATERIALS[route.itemCode] ?? [];
  const running = target === 'accepted' || target === 'in_review' || target === 'returned';
  let light: CasePlan['light'];
  // The acceptance day: for open cases whose clock runs, the light it should show today.
  let acceptDay: number;
  if (running) {
    const r = random();
    light = r < 0.3 ? 'red' : r < 0.5 ? 'yellow' : 'green';
    acceptDay = light === 'red' ? last - limit - 1 - Math.floor(random() * 6) : light === 'yellow' ? last - limit : last - Math.floor(random() * Math.max(1, limit));
    if (light === 'green' && limit === 0) light = 'yellow';
  } else if (target === 'applied' || target === 'pending_materials') {
    acceptDay = last - Math.floor(random() * (target === 'applied' ? 3 : 8));
  } else {
    acceptDay = 1 + Math.floor(random() * (last - 4));
  }
  acceptDay = Math.max(1, Math.min(last, acceptDay));
  const applyDay = Math.max(0, acceptDay - (random() < 0.4 ? 1 : 0));
  const steps: CaseStep[] = [];
  const counters = new Map<number, number>();
  const at = (day: number) => {
    const n = counters.get(day) ?? 0;
    counters.set(day, n + 1);
    return timeOfDay(n);
  };
  const clerk = (node: string): StepActor => ({ role: 'clerk', node });
  const approver = (node: string): StepActor => ({ role: 'approver', node });
  const act = (day: number, by: StepActor, action: string, input: Record<string, unknown> = {}, shipmentTo?: string) =>
    steps.push({ kind: 'action', day, at: at(day), by, action, input, ...(shipmentTo ? { shipmentTo } : {}) });
  let day = applyDay;
  // Later steps: a day or two apart, never past today.
  const later = (max = 2) => (day = Math.min(last, day + Math.floor(random() * (max + 1))));

  steps.push({ kind: 'apply', day, at: at(day) });
  const precheck = () =>
    act(day, clerk(A), 'precheck', { identityVerified: true, materials: materials.map((m) => ({ name: m.name, checked: true, ...(m.physical ? { note: '原件已核验' } : {}) })) });
  const fetchAtAccepting = () => {
    if (route.evidence?.by === 'accepting') steps.push({ kind: 'evidence', day, at: at(day), by: clerk(A), provider: route.evidence.provider, service: route.evidence.service, purpose: route.evidence.purpose });
  };
  const preview = route.evidence?.preview === true;

  if (target === 'applied') {
    fetchAtAccepting();
    if (!preview && random() < 0.5) precheck();
    return { index, itemCode: route.itemCode, mode: route.mode, accepting: A, competent, applicant, citizen, target, steps };
  }
  if (target === 'pending_materials' || (target === 'rejected' && random() < 0.5)) {
    act(day, clerk(A), 'request-materials', { reason: pickFrom(random, REASONS.requestMaterials), requestedMaterials: [materials[1]?.name ?? '申请表'] });
    if (target === 'pending_materials') return { index, itemCode: route.itemCode, mode: route.mode, accepting: A, competent, applicant, citizen, target, steps };
    later(3);
  }
  if (target === 'rejected') {
    act(day, clerk(A), 'reject', { reason: pickFrom(random, REASONS.reject) });
    return { index, itemCode: route.itemCode, mode: route.mode, accepting: A, competent, applicant, citizen, target, steps };
  }
  if (target === 'withdrawn' && random() < 0.5) {
    later(2);
    act(day, clerk(A), 'withdraw', { reason: pickFrom(random, REASONS.withdraw) });
    return { index, itemCode: route.itemCode, mode: route.mode, accepting: A, competent, applicant, citizen, target, steps };
  }

  // Up to acceptance at the accepting node.
  fetchAtAccepting();
  if (preview) steps.push({ kind: 'release', day, refuse: random() < 0.15 });
  precheck();
  day = acceptDay;
  act(day, clerk(A), 'accept');
  if (target === 'withdrawn') {
    later(2);
    act(day, clerk(A), 'withdraw', { reason: pickFrom(random, REASONS.withdraw) });
    return { index, itemCode: route.itemCode, mode: route.mode, accepting: A, competent, applicant, citizen, target, light, steps };
  }
  if (route.mode === 'proxy') {
    const physical = materials.filter((m) => m.physical).map((m) => m.name);
    act(day, clerk(A), 'ship', { shipment: { carrier: pickFrom(random, ['EMS', '顺丰速运', '中国邮政']), trackingNumber: `${route.itemCode}${String(100000 + index * 37).slice(-6)}${applicant.idNumber.slice(-4)}`, contents: physical.length > 0 ? physical : ['申请表'] } });
  }
  if (target === 'accepted') return { index, itemCode: route.itemCode, mode: route.mode, accepting: A, competent, applicant, citizen, target, light, steps };
  if (route.mode === 'proxy') {
    later(1);
    for (const node of competent) act(day, clerk(node), 'receive', {}, node);
  }
  if (target === 'returned') {
    if (!running || light !== 'green') later(1);
    act(day, approver(B), 'return', { reason: pickFrom(random, REASONS.return) });
    return { index, itemCode: route.itemCode, mode: route.mode, accepting: A, competent, applicant, citizen, target, light, steps };
  }
  if (route.evidence?.by === 'competent') {
    steps.push({ kind: 'evidence', day, at: at(day), by: approver(B), provider: route.evidence.provider, service: route.evidence.service, purpose: route.evidence.purpose, ...(route.evidence.consent ? { consent: route.evidence.consent } : {}) });
  }
  act(day, approver(B), 'start-review');
  if (A !== B && random() < 0.4) {
    steps.push({ kind: 'thread', day, at: at(day), by: approver(B), text: '请确认申请人提交的身份证件原件已核验。' });
    steps.push({ kind: 'thread', day, at: at(day), by: clerk(A), text: '已核验原件，复印件随件寄出。' });
  }
  if (target === 'in_review') return { index, itemCode: route.itemCode, mode: route.mode, accepting: A, competent, applicant, citizen, target, light, steps };
  if (target === 'special_procedure') {
    later(2);
    act(day, approver(B), 'start-special', { reason: pickFrom(random, REASONS.special) });
    return { index, itemCode: route.itemCode, mode: route.mode, accepting: A, competent, applicant, citizen, target, steps };
  }
  if (target === 'suspended') {
    later(2);
    act(day, random() < 0.3 ? { role: 'supervisor', node: B } : approver(B), 'suspend', { reason: pickFrom(random, REASONS.suspend) });
    return { index, itemCode: route.itemCode, mode: route.mode, accepting: A, competent, applicant, citizen, target, steps };
  }
  // A detour some decided cases took: a special procedure or a suspension, then back to review.
  const detour = random();
  if (detour < 0.15) {
    later(1);
    act(day, approver(B), 'start-special', { reason: pickFrom(random, REASONS.special) });
    later(3);
    act(day, approver(B), 'end-special');
  } else if (detour < 0.25) {
    later(1);
    act(day, approver(B), 'suspend', { reason: pickFrom(random, REASONS.suspend) });
    later(2);
    act(day, approver(B), 'resume');
  }
  later(Math.max(1, Math.min(4, limit)));
  const refuse = random() < 0.12;
  for (const [i, node] of competent.entries()) {
    act(day, approver(node), 'decide', { outcome: refuse && i === 0 ? 'refuse' : 'grant', reason: pickFrom(random, refuse && i === 0 ? REASONS.refuse : REASONS.grant) });
    if (refuse) break;
  }
  if (target === 'decided') return { index, itemCode: route.itemCode, mode: route.mode, accepting: A, competent, applicant, citizen, target, steps };
  later(1);
  const fields = !refuse && route.certificate ? route.certificate(applicant, business) : undefined;
  act(day, approver(B), 'conclude', {
    result: refuse ? { code: 'REFUSED', description: '不予许可' } : { code: 'GRANTED', description: '准予办理' },
    ...(fields ? { certificateFields: fields } : {}),
  });
  if (target === 'concluded') return { index, itemCode: route.itemCode, mode: route.mode, accepting: A, competent, applicant, citizen, target, steps };
  later(2);
  const method = pickFrom(random, ['online', 'post', 'counter'] as const);
  act(day, clerk(A), 'deliver', { method, ...(method === 'post' ? { trackingNumber: `EMS${String(9000000 + index * 131)}` } : {}) });
  return { index, itemCode: route.itemCode, mode: route.mode, accepting: A, competent, applicant, citizen, target, steps };
}

function planExchanges(input: PlanInput, last: number, random: () => number, present: ReadonlySet<string>): ExchangePlan[] {
  const out: ExchangePlan[] = [];
  const person = (node: string, n: number) => (input.people[node] ?? [])[n % Math.max(1, (input.people[node] ?? []).length)];
  const day = () => Math.floor(random() * (last + 1));
  for (let n = 0; n < 24; n++) {
    // Served over the bridges and through the hub.
    const sandu = person(SANDU, 40 + n);
    if (sandu && present.has(ANJI)) out.push({ day: day(), from: ANJI, provider: SANDU, service: 'household.residence-proof', subject: { type: 'idNumber', value: sandu.idNumber }, purpose: '居住证办理', via: 'bridge', expect: 'served' });
    if (sandu && present.has(QINGPU) && n % 2 === 0) out.push({ day: day(), from: QINGPU, provider: SANDU, service: 'household.residence-proof', subject: { type: 'idNumber', value: sandu.idNumber }, purpose: '户籍类证明开具', via: 'hub', expect: 'served' });
    const holders = [ANJI, CHANGZHOU, QINGPU, SANDU].filter((p) => present.has(p));
    const provider = holders[n % holders.length]!;
    const from = holders[(n + 1) % holders.length]!;
    const business = (input.businesses[provider] ?? [])[n];
    if (business && n % 3 === 0 && provider !== from) out.push({ day: day(), from, provider, service: 'business.registration', subject: { type: 'creditCode', value: business.creditCode }, purpose: '市场主体登记注册', via: 'hub', expect: 'served' });
  }
  // Refused: no agreement between the two, a purpose the agreement does not list, a field it does not grant, no consent.
  for (let n = 0; n < 8; n++) {
    const sandu = person(SANDU, 80 + n);
    const anji = person(ANJI, 80 + n);
    if (anji && present.has(CHANGZHOU)) out.push({ day: day(), from: CHANGZHOU, provider: ANJI, service: 'household.residence-proof', subject: { type: 'idNumber', value: anji.idNumber }, purpose: '户籍类证明开具', expect: 'outside-agreement' });
    if (sandu && present.has(ANJI)) out.push({ day: day(), from: ANJI, provider: SANDU, service: 'household.residence-proof', subject: { type: 'idNumber', value: sandu.idNumber }, purpose: '商业营销', via: 'bridge', expect: 'purpose' });
    if (sandu && present.has(CHANGZHOU) && n % 2 === 0) out.push({ day: day(), from: CHANGZHOU, provider: SANDU, service: 'household.residence-proof', subject: { type: 'idNumber', value: sandu.idNumber }, purpose: '户籍类证明开具', via: 'bridge', fields: [...HOUSEHOLD, 'householdRelation'], expect: 'field' });
    if (sandu && present.has(ANJI) && n % 2 === 1) out.push({ day: day(), from: ANJI, provider: SANDU, service: 'marriage.status', subject: { type: 'idNumber', value: sandu.idNumber }, purpose: '婚姻登记', via: 'bridge', expect: 'consent' });
  }
  void BUSINESS;
  return out.sort((a, b) => a.day - b.day);
}
