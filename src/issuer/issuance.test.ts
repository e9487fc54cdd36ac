import { describe, expect, it } from 'vitest';
import { openCase, type Case, type Evidence } from '../cases/index.ts';
import { certificateFormOf } from './issuance.ts';

const applicant = { node: '522732', id: '11010519491231002X', role: 'applicant' as const };

function marriageCase(evidence: Evidence[]): Case {
  const c = openCase(
    {
      id: 'C-522732-ISSUE1',
      itemCode: 'N037',
      itemName: '内地居民婚姻登记',
      mode: 'online',
      applicant: { idNumber: '11010519491231002X', name: '张三' },
      acceptingNode: '522732',
      competentNodes: ['522732'],
      materials: [],
      timeLimit: { unit: 'working', statutoryDays: 20, committedDays: 10 },
    },
    applicant,
    '2026-11-30T01:00:00.000Z',
  );
  return { ...c, evidence };
}

const entry = (data: Record<string, unknown>, preview?: Evidence['preview']): Evidence => ({
  provider: '330523',
  service: 'civil-affairs.marriage-record',
  requestId: crypto.randomUUID(),
  fetchedAt: '2026-11-30T01:00:00.000Z',
  fetchedBy: '522732',
  data,
  ...(preview ? { preview } : {}),
});

describe('the certificate form of a case', () => {
  it('fills a field from released evidence (by its name or its data element), the newest first', () => {
    const form = certificateFormOf(marriageCase([entry({ spouseName: '李四' }), entry({ spouseName: '王五', marriageRegistrationDate: '2020-05-20' }, 'released')]))!;
    expect(form.vct).toBe('urn:tongban:certificate:marriage');
    expect(Object.fromEntries(form.fields.map((f) => [f.name, f.value]))).toEqual({ spouseName: '王五', spouseIdNumber: undefined, registrationDate: '2020-05-20' });
  });

  it('never takes a value from evidence held for the applicant’s preview or refused by them', () => {
    const form = certificateFormOf(marriageCase([entry({ spouseName: '李四' }), entry({ spouseName: '赵六', spouseIdNumber: '330523199207080036' }, 'pending'), entry({ marriageRegistrationDate: '2020-05-20' }, 'refused')]))!;
    const values = Object.fromEntries(form.fields.map((f) => [f.name, f.value]));
    expect(values).toEqual({ spouseName: '李四', spouseIdNumber: undefined, registrationDate: undefined });
  });
});
