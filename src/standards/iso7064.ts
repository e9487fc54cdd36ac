/**
 * ISO 7064 check character systems used by Chinese identifiers.
 * MOD 11-2 (pure system) guards the resident ID number (GB 11643);
 * MOD 37,36 (hybrid system) guards the e-licence identifier (GB/T 36904).
 */

const MOD11_2_CHECK = '10X98765432';
const MOD11_2_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] as const;

/** Check character for 17 decimal digits under ISO 7064 MOD 11-2. */
export function mod11_2(digits17: string): string {
  if (!/^\d{17}$/.test(digits17)) throw new RangeError('mod11_2 needs exactly 17 digits');
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(digits17.charCodeAt(i) - 48) * MOD11_2_WEIGHTS[i]!;
  return MOD11_2_CHECK[sum % 11]!;
}

const ALNUM36 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** Check character over digits and capital letters under ISO 7064 MOD 37,36 (hybrid). */
export function mod37_36(data: string): string {
  const m = 36;
  let p = m;
  for (const ch of data) {
    const v = ALNUM36.indexOf(ch);
    if (v < 0) throw new RangeError(`mod37_36: '${ch}' is not a digit or capital letter`);
    let s = (p + v) % m;
    if (s === 0) s = m;
    p = (s * 2) % (m + 1);
  }
  return ALNUM36[(m + 1 - p) % m]!;
}
