import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildCreditCode, buildLicenseId, dataDictionary, validateCreditCode, validateLicenseId } from '../standards/index.ts';
import { certificateTypeById, certificateTypeByVct, certificateTypeForItem, certificateTypes } from './index.ts';

const catalog = JSON.parse(readFileSync(new URL('../../data/catalog/national-items.json', import.meta.url), 'utf8')) as {
  items: Array<{ code: string; dataElements: string[] }>;
};
const items = new Map(catalog.items.map((i) => [i.code, i]));

describe('certificate types catalogue', () => {
  it('has the five types of the contract with their items and validity', () => {
    expect(certificateTypes.map((t) => [t.id, t.name, [...t.items], t.validityDays, t.holderCodeType])).toEqual([
      ['marriage', '结婚证', ['N037'], 36500, '111'],
      ['household-move', '户口迁移证明', ['N029', 'N030', 'N031', 'N032', 'N033'], 40, '111'],
      ['social-insurance', '社会保险参保缴费证明', ['N039', 'N010', 'N011'], 90, '111'],
      ['no-criminal-record', '无犯罪记录证明', ['N035'], 180, '111'],
      ['business-licence', '营业执照', ['N001', 'N002', 'N009'], 7300, '001'],
    ]);
  });

  it.each(certificateTypes.map((t) => [t.id, t] as const))('%s: a valid GB/T 36904 type code, known items, dictionary data elements', (_id, type) => {
    expect(type.vct).toBe(`urn:tongban:certificate:${type.id}`);
    expect(type.typeCode).toMatch(/^[0-9A-Z]{18}\d{3}$/);
    expect(validateCreditCode(type.typeCode.slice(0, 18)).valid).toBe(true);
    const id = buildLicenseId({ typeCode: type.typeCode, issuerCode: buildCreditCode('1', '1', '330523', '00000020'), serial: 'A1B2C3D4E5F6', version: '001' });
    const parsed = validateLicenseId(id);
    expect(parsed.errors).toEqual([]);
    expect(parsed.parsed?.typeCode).toBe(type.typeCode);
    for (const item of type.items) expect(items.has(item), item).toBe(true);
    const names = type.fields.map((f) => f.name);
    expect(new Set(names).size).toBe(names.length);
    for (const field of type.fields) {
      expect(field.name).toMatch(/^[a-z][A-Za-z]*$/);
      if (field.dataElement !== undefined) expect(dataDictionary.has(field.dataElement), field.dataElement).toBe(true);
      // Where the dictionary has an element by the field's own name, the field follows it.
      if (dataDictionary.has(field.name)) expect(field.dataElement).toBe(field.name);
    }
    const holder = type.holderCodeType === '111' ? ['holderName', 'holderIdNumber'] : ['entityName', 'creditCode'];
    for (const name of holder) expect(type.fields.find((f) => f.name === name)?.required, name).toBe(true);
    expect(certificateTypeById(type.id)).toBe(type);
    expect(certificateTypeByVct(type.vct)).toBe(type);
    for (const item of type.items) expect(certificateTypeForItem(item)).toBe(type);
  });

  it('type codes are distinct; unknown items, ids and vcts find nothing; the catalogue is frozen', () => {
    expect(new Set(certificateTypes.map((t) => t.typeCode)).size).toBe(certificateTypes.length);
    expect(certificateTypeForItem('N003')).toBeUndefined();
    expect(certificateTypeById('passport')).toBeUndefined();
    expect(certificateTypeByVct('urn:tongban:certificate:passport')).toBeUndefined();
    expect(Object.isFrozen(certificateTypes)).toBe(true);
    expect(Object.isFrozen(certificateTypes[0]!.fields[0])).toBe(true);
  });
});
