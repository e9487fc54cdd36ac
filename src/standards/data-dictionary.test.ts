import { describe, expect, it } from 'vitest';
import { dataDictionary, validateDataElement, validateRecord } from './data-dictionary.ts';

describe('data dictionary', () => {
  it('defines the shared elements with zh and en labels', () => {
    for (const [id, zh] of [
      ['idNumber', '公民身份号码'],
      ['name', '姓名'],
      ['sex', '性别'],
      ['ethnicity', '民族'],
      ['birthDate', '出生日期'],
      ['address', '住址'],
      ['householdDivision', '户籍地'],
      ['maritalStatus', '婚姻状况'],
      ['creditCode', '统一社会信用代码'],
    ] as const) {
      expect(dataDictionary.get(id)?.zh).toBe(zh);
      expect(dataDictionary.get(id)?.en.length).toBeGreaterThan(2);
    }
  });

  it('has the 56 ethnic groups of GB/T 3304', () => {
    const codes = dataDictionary.get('ethnicity')!.codes!;
    expect(codes['01']).toBe('汉族');
    expect(codes['25']).toBe('水族');
    expect(codes['56']).toBe('基诺族');
    expect(Object.keys(codes).filter((c) => Number(c) <= 56)).toHaveLength(56);
  });

  it('validates values by type and standard', () => {
    expect(validateDataElement('idNumber', '11010519491231002X')).toEqual([]);
    expect(validateDataElement('idNumber', '110105194912310021')[0]?.code).toBe('CHECK_CHARACTER');
    expect(validateDataElement('creditCode', '91370406L24894136J')).toEqual([]);
    expect(validateDataElement('householdDivision', '522732')).toEqual([]);
    expect(validateDataElement('householdDivision', '310108')).toEqual([]); // retired, still a valid record value
    expect(validateDataElement('householdDivision', '999999')[0]?.code).toBe('CODE');
    expect(validateDataElement('maritalStatus', '20')).toEqual([]);
    expect(validateDataElement('maritalStatus', '25')[0]?.code).toBe('CODE');
    expect(validateDataElement('birthDate', '1990-02-30')[0]?.code).toBe('TYPE');
    expect(validateDataElement('birthDate', '1990-02-28')).toEqual([]);
    expect(validateDataElement('contributionMonths', 12.5)[0]?.code).toBe('TYPE');
    expect(validateDataElement('name', '  ')[0]?.code).toBe('EMPTY');
    expect(validateDataElement('name', 'x'.repeat(51))[0]?.code).toBe('TOO_LONG');
    expect(validateDataElement('nope', 'x')[0]?.code).toBe('UNKNOWN_ELEMENT');
  });

  it('validates a record and names the failing element', () => {
    expect(validateRecord({ idNumber: '11010519491231002X', name: '张三', sex: '2' })).toEqual([]);
    const issues = validateRecord({ idNumber: '11010519491231002X', sex: '3', birthDate: 19491231 });
    expect(issues.map((i) => i.path)).toEqual(['sex', 'birthDate']);
  });
});
