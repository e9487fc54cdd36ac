import { describe, expect, it } from 'vitest';
import { upgradeLegacyResidentId, validateResidentId, withResidentIdCheck } from './resident-id.ts';

const today = new Date('2026-11-29T00:00:00Z');

describe('GB 11643 resident ID number', () => {
  it('accepts the published example 11010519491231002X and parses it', () => {
    const r = validateResidentId('11010519491231002X', { today });
    expect(r.valid).toBe(true);
    expect(r.parsed).toMatchObject({
      addressCode: '110105',
      addressName: '北京市朝阳区',
      birthDate: '1949-12-31',
      sequence: '002',
      sex: 'female',
      checkCharacter: 'X',
    });
  });

  it("accepts the standard's own example 440524188001010014 although 440524 is no longer in the table", () => {
    const r = validateResidentId('440524188001010014', { today });
    expect(r.valid).toBe(true);
    expect(r.parsed?.sex).toBe('male');
    expect(r.parsed?.addressName).toBeNull();
  });

  it('normalises a lower-case x', () => {
    const r = validateResidentId('11010519491231002x', { today });
    expect(r.valid).toBe(true);
    expect(r.value).toBe('11010519491231002X');
  });

  it('rejects a wrong check character and says which one is expected', () => {
    const r = validateResidentId('110105194912310021', { today });
    expect(r.valid).toBe(false);
    expect(r.errors).toEqual([{ code: 'CHECK_CHARACTER', message: 'The check character should be X, not 1.' }]);
  });

  it('rejects an impossible birth date such as 1978-02-29 even with a correct check character', () => {
    const id = withResidentIdCheck('52273219780229001');
    const r = validateResidentId(id, { today });
    expect(r.valid).toBe(false);
    expect(r.errors.map((e) => e.code)).toEqual(['BIRTH_DATE']);
    expect(r.errors[0]!.message).toContain('1978-02-29');
  });

  it('accepts 2000-02-29 (a leap year) and rejects 1900-02-29 (not one)', () => {
    expect(validateResidentId(withResidentIdCheck('52273220000229001'), { today }).valid).toBe(true);
    expect(validateResidentId(withResidentIdCheck('52273219000229001'), { today }).errors[0]?.code).toBe('BIRTH_DATE');
  });

  it('rejects a birth date in the future relative to the injected clock', () => {
    const r = validateResidentId(withResidentIdCheck('52273220261130001'), { today });
    expect(r.errors.map((e) => e.code)).toEqual(['BIRTH_DATE']);
  });

  it('rejects a region prefix that is not a province', () => {
    const r = validateResidentId(withResidentIdCheck('99273219900101001'), { today });
    expect(r.errors.map((e) => e.code)).toEqual(['REGION']);
  });

  it.each([
    ['11010519491231002', 'LENGTH'],
    ['11010519491231002X1', 'LENGTH'],
    ['', 'LENGTH'],
    ['1101051949123100AX', 'CHARACTERS'],
    ['110105194912310X2X', 'CHARACTERS'],
  ])('rejects %s with %s', (value, code) => {
    const r = validateResidentId(value, { today });
    expect(r.valid).toBe(false);
    expect(r.errors[0]?.code).toBe(code);
  });

  it('recognises a 15-digit legacy number and upgrades it', () => {
    const r = validateResidentId('110105491231002', { today });
    expect(r.errors[0]?.code).toBe('LEGACY_15_DIGIT');
    expect(upgradeLegacyResidentId('110105491231002')).toBe('11010519491231002X');
  });

  it('derives sex from the parity of the sequence', () => {
    expect(validateResidentId(withResidentIdCheck('52273219900101003'), { today }).parsed?.sex).toBe('male');
    expect(validateResidentId(withResidentIdCheck('52273219900101004'), { today }).parsed?.sex).toBe('female');
  });
});
