import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TongbanError } from '../errors/index.ts';
import { Catalog, makeLocalItem, nationalItems } from './catalog.ts';

describe('national item catalogue', () => {
  it('ships every row of the partial national list with a stable code', () => {
    const csvRows = readFileSync(new URL('../../data/catalog/national-items-partial.csv', import.meta.url), 'utf8')
      .trim()
      .split('\n')
      .slice(1);
    expect(nationalItems).toHaveLength(csvRows.length);
    expect(nationalItems).toHaveLength(44);
    expect(new Set(nationalItems.map((i) => i.code)).size).toBe(44);
    expect(nationalItems[0]).toMatchObject({ code: 'N001', name: '市场主体登记注册', confirmed: 'yes' });
  });

  it('keeps the modes the ministry fixed (housing fund: 购房提取 joint, 还清证明 proxy)', () => {
    const byName = (name: string) => nationalItems.find((i) => i.name === name)!;
    expect(byName('购房提取住房公积金')).toMatchObject({ modes: ['joint'], modeFixed: true });
    expect(byName('开具住房公积金个人住房贷款全部还清证明')).toMatchObject({ modes: ['proxy'], modeFixed: true });
    expect(byName('夫妻投靠户口迁移').modes).toEqual(['joint']);
  });

  it('says which rows are confirmed and which deadlines are unknown', () => {
    const confirmed = nationalItems.filter((i) => i.confirmed === 'yes').length;
    expect(confirmed).toBeGreaterThan(20);
    expect(nationalItems.some((i) => i.confirmed === 'no')).toBe(true);
    const marriage = nationalItems.find((i) => i.name === '婚姻登记')!;
    expect(marriage.deadline).toBeNull();
    expect(marriage.deadlineNote).toContain('later');
    expect(marriage.dataElements).toEqual(expect.arrayContaining(['idNumber', 'maritalStatus', 'spouseIdNumber']));
  });

  it('never promises more than the statutory limit', () => {
    for (const item of nationalItems) {
      const { statutoryDays, committedDays } = item.timeLimit;
      if (statutoryDays !== null) expect(committedDays).toBeLessThanOrEqual(statutoryDays);
    }
  });

  it('lets a region add a local item next to the national ones', () => {
    const local = makeLocalItem('522732', {
      localNumber: '001',
      name: '务工人员返乡创业补贴申领',
      ministry: '三都县人社局',
      audience: 'individual',
      modes: ['online'],
      dataElements: ['idNumber', 'name', 'socialInsuranceStatus'],
      timeLimit: { kind: 'promised', statutoryDays: 20, committedDays: 5, unit: 'working' },
    });
    expect(local).toMatchObject({ code: 'L522732-001', scope: 'local', ownerDivision: '522732' });
    const catalog = new Catalog([local]);
    expect(catalog.get('L522732-001')?.name).toBe('务工人员返乡创业补贴申领');
    expect(catalog.list({ scope: 'local' })).toHaveLength(1);
    expect(catalog.list({ mode: 'joint' }).every((i) => i.modes.includes('joint'))).toBe(true);
    expect(() => catalog.require('N999')).toThrow(TongbanError);
  });

  it('refuses a local item with unknown data elements or a promise beyond the law', () => {
    const bad = () =>
      makeLocalItem('522732', {
        localNumber: '002',
        name: '测试事项',
        ministry: '测试',
        audience: 'individual',
        modes: ['online'],
        dataElements: ['idNumber', 'shoeSize'],
        timeLimit: { kind: 'promised', statutoryDays: 20, committedDays: 30, unit: 'working' },
      });
    expect(bad).toThrow(TongbanError);
    try {
      bad();
    } catch (e) {
      const err = e as TongbanError;
      expect(err.code).toBe('VALIDATION_FAILED');
      expect(err.errors?.map((x) => x.path)).toEqual(expect.arrayContaining(['timeLimit.committedDays']));
    }
  });
});
