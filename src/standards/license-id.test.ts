import { describe, expect, it } from 'vitest';
import { buildLicenseId, validateLicenseId } from './license-id.ts';
import { mod37_36 } from './iso7064.ts';

const EXAMPLE = '1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F';

describe('GB/T 36904 e-licence identifier', () => {
  it('accepts the published example and parses its parts', () => {
    const r = validateLicenseId(EXAMPLE);
    expect(r.valid).toBe(true);
    expect(r.parsed).toMatchObject({
      typeCode: '11100000000013338W032',
      definingBodyCode: '11100000000013338W',
      issuerCode: '11220000013544541J',
      serial: '2430599',
      version: '001',
      checkCharacter: 'F',
    });
  });

  it('builds the same identifier from its parts', () => {
    expect(
      buildLicenseId({ typeCode: '11100000000013338W032', issuerCode: '11220000013544541J', serial: '2430599', version: '001' }),
    ).toBe(EXAMPLE);
  });

  it('rejects a wrong check character', () => {
    const r = validateLicenseId(EXAMPLE.slice(0, -1) + 'G');
    expect(r.errors).toEqual([{ code: 'CHECK_CHARACTER', message: 'The check character should be F, not G.' }]);
  });

  it('catches a single changed serial digit through the check character', () => {
    const r = validateLicenseId(EXAMPLE.replace('2430599', '2430598'));
    expect(r.errors.map((e) => e.code)).toEqual(['CHECK_CHARACTER']);
  });

  it('rejects a wrong prefix, a missing part, a bad issuer code and a bad version', () => {
    expect(validateLicenseId('1.2.156.3005.3.' + EXAMPLE.slice(15)).errors[0]?.code).toBe('PREFIX');
    expect(validateLicenseId('1.2.156.3005.2.11100000000013338W032.11220000013544541J.001.F').errors[0]?.code).toBe('STRUCTURE');
    expect(validateLicenseId(EXAMPLE.replace('11220000013544541J', '11220000013544541K')).errors.map((e) => e.code)).toContain('ISSUER_CODE');
    expect(validateLicenseId(EXAMPLE.replace('.001.', '.01.')).errors.map((e) => e.code)).toContain('VERSION');
  });

  it('MOD 37,36 detects every single-character substitution of the example', () => {
    const data = '11100000000013338W03211220000013544541J2430599001';
    const check = mod37_36(data);
    const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
    for (let i = 0; i < data.length; i++) {
      for (const ch of alphabet) {
        if (ch === data[i]) continue;
        expect(mod37_36(data.slice(0, i) + ch + data.slice(i + 1))).not.toBe(check);
      }
    }
  });
});
