/**
 * Builds data/catalog/national-items.json from data/catalog/national-items-partial.csv
 * (the national cross-province list as far as public sources confirm it, copied from
 * shared/data). The CSV gives name, ministry, audience, deadline, the mode where a ministry
 * fixed it, and how well the row is confirmed. Tongban adds what a node needs to run the
 * item: stable code, possible modes, data elements, time limits. Those additions are
 * Tongban's defaults (marked `defaults: true`), for each region to localise.
 *
 * Run `npm run build:catalog`; the output is committed.
 */
import { readFileSync, writeFileSync } from 'node:fs';

type Mode = 'online' | 'proxy' | 'joint';

function parseCsv(text: string): Array<Record<string, string>> {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { cell += '"'; i++; }
      else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { row.push(cell); cell = ''; }
    else if (ch === '\n') { row.push(cell.replace(/\r$/, '')); rows.push(row); row = []; cell = ''; }
    else cell += ch;
  }
  if (cell !== '' || row.length > 0) { row.push(cell); rows.push(row); }
  const [header, ...body] = rows;
  return body.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i] ?? ''])));
}

const PERSON = ['idNumber', 'name'];
const HOUSEHOLD = ['sex', 'ethnicity', 'birthDate', 'householdDivision', 'householdAddress', 'householdRelation'];
const SOCIAL = ['socialInsuranceInsuredDivision', 'socialInsuranceStatus', 'contributionMonths', 'contributionStartDate'];
const FUND = ['housingFundAccount', 'housingFundBalance'];
const ENTITY = ['creditCode', 'entityName', 'entityType', 'legalRepresentative', 'registrationStatus'];
const REGISTRATION = ['registeredCapital', 'establishmentDate', 'registrationAuthority', 'businessScope'];

function dataElements(name: string, audience: string): string[] {
  if (audience === 'enterprise') {
    const base = [...ENTITY];
    if (/登记|设立|注册/.test(name)) base.push(...REGISTRATION);
    if (/公积金/.test(name)) base.push(...FUND);
    return base;
  }
  const elements = [...PERSON];
  if (/户口|户籍|入户|身份证/.test(name)) elements.push(...HOUSEHOLD);
  if (/夫妻|婚姻/.test(name)) elements.push('maritalStatus', 'spouseIdNumber', 'spouseName');
  if (/婚姻/.test(name)) elements.push('marriageRegistrationDate', 'householdDivision');
  if (/养老|社会保障|社保|失业|医疗|就医|门诊|职业资格/.test(name)) elements.push(...SOCIAL);
  if (/公积金/.test(name)) elements.push(...FUND);
  if (/犯罪/.test(name)) elements.push('criminalRecord', 'householdDivision');
  if (/公证/.test(name)) elements.push('address');
  return [...new Set(elements)];
}

function possibleModes(name: string, hint: string): { modes: Mode[]; modeFixed: boolean } {
  if (hint === 'online' || hint === 'proxy' || hint === 'joint') return { modes: [hint], modeFixed: true };
  // Household moves: filed at the destination, the two bureaus settle it between them.
  if (/户口迁移|入户/.test(name)) return { modes: ['joint'], modeFixed: false };
  if (/转移接续|购房/.test(name)) return { modes: ['joint', 'proxy'], modeFixed: false };
  if (/查询|核验|挂失|备案/.test(name)) return { modes: ['online'], modeFixed: false };
  return { modes: ['online', 'proxy'], modeFixed: false };
}

interface TimeLimit {
  kind: 'immediate' | 'promised';
  statutoryDays: number | null;
  committedDays: number;
  unit: 'working' | 'calendar';
}

function timeLimit(name: string, modes: Mode[]): TimeLimit {
  if (/查询|核验|挂失|启用/.test(name)) return { kind: 'immediate', statutoryDays: null, committedDays: 0, unit: 'working' };
  if (/公证/.test(name)) return { kind: 'promised', statutoryDays: 15, committedDays: 10, unit: 'working' };
  if (/证明|出具|开具|备案/.test(name)) return { kind: 'promised', statutoryDays: 20, committedDays: 3, unit: 'working' };
  // Joint or centralised handling: 45 days by law (行政许可法 art. 43).
  if (modes.length === 1 && modes[0] === 'joint') return { kind: 'promised', statutoryDays: 45, committedDays: 20, unit: 'working' };
  return { kind: 'promised', statutoryDays: 20, committedDays: 10, unit: 'working' };
}

interface MaterialSpec {
  name: string;
  kind: 'electronic' | 'physical';
  required: boolean;
}

/** Acceptance criteria (受理标准): the materials a counter checks, the same everywhere. */
function materials(name: string, audience: string, modes: Mode[]): MaterialSpec[] {
  const paper = modes.includes('proxy') || modes.includes('joint');
  const list: MaterialSpec[] = [
    { name: audience === 'enterprise' ? '法定代表人身份证件' : '居民身份证', kind: paper ? 'physical' : 'electronic', required: true },
    { name: '申请表', kind: 'electronic', required: true },
  ];
  if (audience === 'enterprise') list.push({ name: '营业执照', kind: 'electronic', required: !/设立|注册/.test(name) });
  if (/户口迁移|入户/.test(name)) list.push({ name: '户口簿', kind: 'physical', required: true });
  if (/夫妻投靠|婚姻/.test(name)) list.push({ name: '结婚证', kind: 'physical', required: /夫妻/.test(name) });
  if (/购房/.test(name)) list.push({ name: '购房合同', kind: 'physical', required: true });
  if (/公证/.test(name)) list.push({ name: '公证事项证明材料原件', kind: 'physical', required: true });
  if (/转移接续/.test(name)) list.push({ name: '参保缴费凭证', kind: 'physical', required: false });
  return list;
}

const rows = parseCsv(readFileSync('data/catalog/national-items-partial.csv', 'utf8'));
const items = rows.map((row) => {
  const seq = Number(row.seq);
  const name = row.name_zh!;
  const deadline = /^\d{4}-\d{2}-\d{2}$/.test(row.deadline!) ? row.deadline! : null;
  const { modes, modeFixed } = possibleModes(name, row.mode_hint!);
  return {
    code: 'N' + String(seq).padStart(3, '0'),
    scope: 'national',
    name,
    ministry: row.ministry,
    audience: row.audience,
    deadline,
    deadlineNote: deadline ? null : row.deadline,
    modes,
    modeFixed,
    dataElements: dataElements(name, row.audience!),
    timeLimit: timeLimit(name, modes),
    materials: materials(name, row.audience!, modes),
    confirmed: row.confirmed,
    source: row.source,
    defaults: true,
    version: 1,
  };
});
const out = {
  list: '国办发〔2020〕35号 全国高频政务服务“跨省通办”事项清单 (partial)',
  note:
    'Rows confirmed as far as public sources go (see `confirmed` and `source`); the official annex has 140 rows. ' +
    'Codes N001… are Tongban codes, stable across localisations; modes without `modeFixed`, data elements and time limits are Tongban defaults.',
  items,
};
writeFileSync('data/catalog/national-items.json', JSON.stringify(out, null, 1) + '\n');
console.log(`wrote ${items.length} items`);
