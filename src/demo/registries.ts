import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { ServiceConfig } from '../services/index.ts';
import { buildCreditCode, divisions, withResidentIdCheck } from '../standards/index.ts';

/**
 * Synthetic registries for the demo federation: household register, marriage register,
 * social insurance and business register of one place, in an SQLite file standing in for
 * the region's existing systems. Deterministic for a given division and size.
 */

const SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤蒙'.split('');
const GIVEN = '伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬斌建国志强文华海燕秋菊春梅德福永康晓东晓燕佳怡子涵浩然欣怡宇轩梓涵一诺雨桐'.match(/.{1,2}/g)!;
/** Ethnic mix per place (GB/T 3304 codes); other places default to mostly Han. */
const ETHNIC_MIX: Record<string, Array<[string, number]>> = {
  '522732': [['25', 0.62], ['01', 0.2], ['09', 0.1], ['06', 0.08]],
};

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface RegistryOptions {
  readonly division: string;
  readonly people: number;
  readonly businesses: number;
}

export interface RegistrySummary {
  readonly people: number;
  readonly businesses: number;
  readonly marriages: number;
}

/** (Re)creates the registry file. */
export function generateRegistries(path: string, options: RegistryOptions): RegistrySummary {
  mkdirSync(dirname(path), { recursive: true });
  if (existsSync(path)) rmSync(path);
  const db = new BetterSqlite3(path);
  db.pragma('journal_mode = WAL');
  db.exec(`
    CREATE TABLE household (id_number TEXT PRIMARY KEY, name TEXT NOT NULL, sex TEXT NOT NULL, ethnicity TEXT NOT NULL,
      birth_date TEXT NOT NULL, household_division TEXT NOT NULL, household_address TEXT NOT NULL, household_relation TEXT NOT NULL);
    CREATE TABLE marriage (id_number TEXT PRIMARY KEY, name TEXT NOT NULL, marital_status TEXT NOT NULL, spouse_id_number TEXT,
      spouse_name TEXT, registration_date TEXT, registration_authority TEXT);
    CREATE TABLE social_insurance (id_number TEXT PRIMARY KEY, name TEXT NOT NULL, insured_division TEXT NOT NULL,
      status TEXT NOT NULL, contribution_months INTEGER NOT NULL, start_date TEXT NOT NULL);
    CREATE TABLE business (credit_code TEXT PRIMARY KEY, entity_name TEXT NOT NULL, entity_type TEXT NOT NULL,
      legal_representative TEXT NOT NULL, registered_capital REAL NOT NULL, establishment_date TEXT NOT NULL,
      registration_authority TEXT NOT NULL, registration_status TEXT NOT NULL);
  `);
  const random = rng(Number(options.division) * 7919 + options.people);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const place = divisions.get(options.division);
  const placeName = place?.name ?? options.division;
  const fullName = divisions.fullName(options.division) ?? placeName;
  const mix = ETHNIC_MIX[options.division] ?? [['01', 0.9], ['03', 0.05], ['08', 0.05]];
  const ethnicity = () => {
    let r = random();
    for (const [code, share] of mix) if ((r -= share) < 0) return code;
    return mix[0]![0];
  };

  const insertPerson = db.prepare('INSERT INTO household VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const insertMarriage = db.prepare('INSERT INTO marriage VALUES (?, ?, ?, ?, ?, ?, ?)');
  const insertInsurance = db.prepare('INSERT INTO social_insurance VALUES (?, ?, ?, ?, ?, ?)');
  const insertBusiness = db.prepare('INSERT INTO business VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const used = new Set<string>();
  const people: Array<{ id: string; name: string; sex: string; birth: string }> = [];
  let marriages = 0;

  db.transaction(() => {
    while (people.length < options.people) {
      const year = 1950 + Math.floor(random() * 56);
      const month = 1 + Math.floor(random() * 12);
      const day = 1 + Math.floor(random() * 28);
      const birth = `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
      const sequence = String(Math.floor(random() * 1000)).padStart(3, '0');
      const id = withResidentIdCheck(options.division + birth.replaceAll('-', '') + sequence);
      if (used.has(id)) continue;
      used.add(id);
      const sex = Number(sequence) % 2 === 1 ? '1' : '2';
      const name = pick(SURNAMES) + pick(GIVEN);
      people.push({ id, name, sex, birth });
      const street = `${pick(['城关镇', '新城街道', '人民路', '建设路', '东风路', '中心村'])}${1 + Math.floor(random() * 200)}号`;
      const relation = pick(['02', '02', '10', sex === '1' ? '20' : '30']);
      insertPerson.run(id, name, sex, ethnicity(), birth, options.division, `${fullName}${street}`, relation);
      const months = Math.max(0, Math.min(12 * (2025 - year - 18), Math.floor(random() * 360)));
      insertInsurance.run(id, name, options.division, months > 0 ? pick(['1', '1', '1', '2']) : '3', months, `${Math.max(year + 18, 1995)}-01-01`);
    }
    // Pair neighbours of opposite sex born within ten years as married couples.
    for (let i = 0; i < people.length; i++) {
      const person = people[i]!;
      const age = 2026 - Number(person.birth.slice(0, 4));
      const partner = people[i + 1];
      if (partner && age >= 22 && partner.sex !== person.sex && Math.abs(Number(partner.birth.slice(0, 4)) - Number(person.birth.slice(0, 4))) < 10 && random() < 0.7) {
        const registered = `${Math.max(Number(person.birth.slice(0, 4)), Number(partner.birth.slice(0, 4))) + 24}-05-20`;
        const authority = `${placeName}民政局婚姻登记处`;
        insertMarriage.run(person.id, person.name, '20', partner.id, partner.name, registered, authority);
        insertMarriage.run(partner.id, partner.name, '20', person.id, person.name, registered, authority);
        marriages++;
        i++;
      } else {
        insertMarriage.run(person.id, person.name, age < 22 ? '10' : pick(['10', '40', '30']), null, null, null, null);
      }
    }
    for (let i = 0; i < options.businesses; i++) {
      const owner = people[Math.floor(random() * people.length)]!;
      const body = 'MA' + Array.from({ length: 6 }, () => '0123456789ABCDEFGHJKLMNPQRTUWXY'[Math.floor(random() * 31)]).join('');
      const kind = random() < 0.6 ? '2' : '1';
      const code = buildCreditCode('9', kind, options.division, body);
      const trade = pick(['农业', '商贸', '电子', '服装', '餐饮', '建材', '茶业', '物流']);
      insertBusiness.run(
        code,
        `${placeName}${owner.name}${trade}${kind === '2' ? '经营部' : '有限公司'}`,
        kind === '2' ? '个体工商户' : '有限责任公司',
        owner.name,
        kind === '2' ? 5 : 50 + Math.floor(random() * 950),
        `${2005 + Math.floor(random() * 20)}-0${1 + Math.floor(random() * 9)}-1${Math.floor(random() * 9)}`,
        `${placeName}市场监督管理局`,
        pick(['1', '1', '1', '1', '3']),
      );
    }
  })();
  db.close();
  return { people: people.length, businesses: options.businesses, marriages };
}

/** The service configuration that maps the demo registry tables onto the data dictionary. */
export function demoServiceConfigs(registryPath: string): ServiceConfig[] {
  return [
    {
      id: 'household.residence-proof',
      adapter: {
        kind: 'sql',
        url: registryPath,
        table: 'household',
        key: 'id_number',
        columns: {
          idNumber: 'id_number',
          name: 'name',
          sex: 'sex',
          ethnicity: 'ethnicity',
          birthDate: 'birth_date',
          householdDivision: 'household_division',
          householdAddress: 'household_address',
          householdRelation: 'household_relation',
        },
      },
    },
    {
      id: 'marriage.status',
      adapter: {
        kind: 'sql',
        url: registryPath,
        table: 'marriage',
        key: 'id_number',
        columns: {
          idNumber: 'id_number',
          name: 'name',
          maritalStatus: 'marital_status',
          spouseIdNumber: 'spouse_id_number',
          spouseName: 'spouse_name',
          marriageRegistrationDate: 'registration_date',
          marriageRegistrationAuthority: 'registration_authority',
        },
      },
    },
    {
      id: 'social-insurance.contribution-history',
      adapter: {
        kind: 'sql',
        url: registryPath,
        table: 'social_insurance',
        key: 'id_number',
        columns: {
          idNumber: 'id_number',
          name: 'name',
          socialInsuranceInsuredDivision: 'insured_division',
          socialInsuranceStatus: 'status',
          contributionMonths: 'contribution_months',
          contributionStartDate: 'start_date',
        },
      },
    },
    {
      id: 'business.registration',
      adapter: {
        kind: 'sql',
        url: registryPath,
        table: 'business',
        key: 'credit_code',
        columns: {
          creditCode: 'credit_code',
          entityName: 'entity_name',
          entityType: 'entity_type',
          legalRepresentative: 'legal_representative',
          registeredCapital: 'registered_capital',
          establishmentDate: 'establishment_date',
          registrationAuthority: 'registration_authority',
          registrationStatus: 'registration_status',
        },
      },
    },
  ];
}

/** A few subjects of a registry file, for the CLI and the tests. */
export function sampleSubjects(path: string, limit = 5): { people: Array<{ idNumber: string; name: string; maritalStatus: string }>; businesses: Array<{ creditCode: string; entityName: string }> } {
  const db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
  try {
    const people = db
      .prepare('SELECT h.id_number AS idNumber, h.name AS name, m.marital_status AS maritalStatus FROM household h JOIN marriage m USING (id_number) ORDER BY h.rowid LIMIT ?')
      .all(limit) as Array<{ idNumber: string; name: string; maritalStatus: string }>;
    const businesses = db.prepare('SELECT credit_code AS creditCode, entity_name AS entityName FROM business ORDER BY rowid LIMIT ?').all(limit) as Array<{ creditCode: string; entityName: string }>;
    return { people, businesses };
  } finally {
    db.close();
  }
}
