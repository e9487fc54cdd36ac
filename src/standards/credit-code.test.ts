import { describe, expect, it } from 'vitest';
import { buildCreditCode, creditCodeCheck, validateCreditCode } from './credit-code.ts';

describe('GB 32100 unified social credit code', () => {
  // Published codes: the examples in DOMAIN.md and large, publicly listed companies.
  it.each([
    ['91370406L24894136J', '工商', '企业', '370406'],
    ['11100000000013338W', '机构编制', '机关', '100000'],
    ['11220000013544541J', '机构编制', '机关', '220000'],
    ['914403001922038216', '工商', '企业', '440300'],
    ['91330100799655058B', '工商', '企业', '330100'],
    ['9144030071526726XG', '工商', '企业', '440300'],
    // More published codes of listed companies (both checks verify), national to district level.
    ['91110000710925462X', '工商', '企业', '110000'],
    ['91110108551385082Q', '工商', '企业', '110108'],
    ['91440300708461136T', '工商', '企业', '440300'],
    ['91330100716105852F', '工商', '企业', '330100'],
    ['91310000717854505W', '工商', '企业', '310000'],
  ])('accepts %s', (code, department, type, area) => {
    const r = validateCreditCode(code);
    expect(r.errors).toEqual([]);
    expect(r.valid).toBe(true);
    expect(r.parsed).toMatchObject({ departmentName: department, organisationTypeName: type, areaCode: area });
  });

  it('parses the embedded organisation code and names the area', () => {
    const r = validateCreditCode('914403001922038216');
    expect(r.parsed?.organisationCode).toBe('19220382-1');
    expect(r.parsed?.areaName).toBe('广东省深圳市');
  });

  it('rejects a wrong final check character', () => {
    const r = validateCreditCode('91370406L24894136K');
    expect(r.valid).toBe(false);
    expect(r.errors).toEqual([{ code: 'CHECK_CHARACTER', message: 'The check character should be J, not K.' }]);
  });

  it('rejects a code whose final check is right but whose organisation-code check is wrong', () => {
    // Change the organisation code's check digit (position 17) and recompute the final check,
    // so only the GB 11714 check can catch it.
    const real = '91370406L24894136J';
    const tampered = buildCreditCode('9', '1', '370406', 'L2489413').slice(0, 16) + '7';
    const code = tampered + creditCodeCheck(tampered);
    expect(code).not.toBe(real);
    const r = validateCreditCode(code);
    expect(r.valid).toBe(false);
    expect(r.errors.map((e) => e.code)).toEqual(['ORGANISATION_CODE_CHECK']);
    expect(r.errors[0]!.message).toContain('expected 6');
  });

  it.each(['I', 'O', 'S', 'V', 'Z'])('rejects the letter %s that the alphabet excludes', (letter) => {
    const r = validateCreditCode('91370406L2489413' + letter + 'J');
    expect(r.valid).toBe(false);
    expect(r.errors[0]?.code).toBe('CHARACTERS');
    expect(r.errors[0]?.message).toContain(`'${letter}'`);
  });

  it('rejects wrong lengths', () => {
    expect(validateCreditCode('91370406L24894136').errors[0]?.code).toBe('LENGTH');
    expect(validateCreditCode('91370406L24894136JJ').errors[0]?.code).toBe('LENGTH');
  });

  it('rejects an unassigned registration department or organisation type', () => {
    const dept = 'B1370406L2489413' + '6';
    expect(validateCreditCode(dept + creditCodeCheck(dept)).errors.map((e) => e.code)).toEqual(['DEPARTMENT']);
    const type = '95370406L2489413' + '6';
    expect(validateCreditCode(type + creditCodeCheck(type)).errors.map((e) => e.code)).toEqual(['ORGANISATION_TYPE']);
  });

  it('checks the registration area against GB/T 2260 (current and retired codes, national 100000)', () => {
    const withArea = (area: string) => validateCreditCode(buildCreditCode('9', '1', area, 'MA6DQ3K1'));
    // Current county, national level, a retired district in the table (闸北区, 2015).
    for (const area of ['522732', '100000', '310108']) expect(withArea(area).errors, area).toEqual([]);
    // A retired district the table does not list (杭州市下城区, 2021) is still under a known prefecture.
    expect(withArea('330103').valid).toBe(true);
    // No such province (99), no such prefecture under a real province (5299xx), no such province (83), all zeros.
    for (const area of ['999999', '990101', '529901', '830000', '000000']) {
      const r = withArea(area);
      expect(r.valid, area).toBe(false);
      expect(r.errors.map((e) => e.code)).toEqual(['AREA_CODE']);
    }
  });

  it('builds codes that validate', () => {
    const code = buildCreditCode('9', '2', '522732', 'MA6DQ3K1');
    expect(validateCreditCode(code).valid).toBe(true);
  });
});

