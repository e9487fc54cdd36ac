import { divisions, PROVINCE_PREFIXES } from './divisions.ts';
import { mod11_2 } from './iso7064.ts';
import { fail, ok, type ValidationIssue, type ValidationResult } from './validation.ts';

/** What a valid GB 11643 citizen identity number says about its holder. */
export interface ResidentIdParsed {
  readonly addressCode: string;
  /** Name of the address code in today's table, or null: old codes stay valid in IDs. */
  readonly addressName: string | null;
  readonly province: string;
  readonly birthDate: string;
  readonly sequence: string;
  readonly sex: 'male' | 'female';
  readonly checkCharacter: string;
}

export interface ResidentIdOptions {
  /** Birth dates after this day are impossible; injected so tests can freeze time. */
  readonly today?: Date;
}

/**
 * Validates a citizen identity number (GB 11643-1999): 6-digit address code, 8-digit birth
 * date, 3-digit sequence (odd for men), ISO 7064 MOD 11-2 check character.
 * A lower-case x is accepted and normalised, as counters type it both ways.
 */
export function validateResidentId(input: string, options: ResidentIdOptions = {}): ValidationResult<ResidentIdParsed> {
  const value = input.trim().toUpperCase();
  if (value.length === 15 && /^\d{15}$/.test(value)) {
    return fail(value, [
      {
        code: 'LEGACY_15_DIGIT',
        message: 'This is a 15-digit first-generation number; it must be upgraded to the 18-digit form (see upgradeLegacyResidentId).',
      },
    ]);
  }
  if (value.length !== 18) {
    return fail(value, [{ code: 'LENGTH', message: `A resident ID number has 18 characters; this one has ${value.length}.` }]);
  }
  if (!/^\d{17}[\dX]$/.test(value)) {
    return fail(value, [
      { code: 'CHARACTERS', message: 'A resident ID number is 17 digits followed by a digit or X.' },
    ]);
  }

  const errors: ValidationIssue[] = [];
  const addressCode = value.slice(0, 6);
  const province = value.slice(0, 2);
  const birth = value.slice(6, 14);
  const sequence = value.slice(14, 17);
  const checkCharacter = value[17]!;

  if (!PROVINCE_PREFIXES.has(province)) {
    errors.push({ code: 'REGION', message: `The address code starts with ${province}, which is not a province-level code.` });
  }

  const birthDate = `${birth.slice(0, 4)}-${birth.slice(4, 6)}-${birth.slice(6, 8)}`;
  const birthIssue = checkBirthDate(birth, options.today ?? new Date());
  if (birthIssue) errors.push(birthIssue);

  const expected = mod11_2(value.slice(0, 17));
  if (expected !== checkCharacter) {
    errors.push({ code: 'CHECK_CHARACTER', message: `The check character should be ${expected}, not ${checkCharacter}.` });
  }

  const division = divisions.get(addressCode);
  const parsed: ResidentIdParsed = {
    addressCode,
    addressName: division ? (divisions.fullName(addressCode) ?? division.name) : null,
    province,
    birthDate,
    sequence,
    sex: Number(sequence) % 2 === 1 ? 'male' : 'female',
    checkCharacter,
  };
  return errors.length > 0 ? fail(value, errors, parsed) : ok(value, parsed);
}

function checkBirthDate(yyyymmdd: string, today: Date): ValidationIssue | null {
  const year = Number(yyyymmdd.slice(0, 4));
  const month = Number(yyyymmdd.slice(4, 6));
  const day = Number(yyyymmdd.slice(6, 8));
  const date = new Date(Date.UTC(year, month - 1, day));
  if (month < 1 || month > 12 || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    return { code: 'BIRTH_DATE', message: `${yyyymmdd.slice(0, 4)}-${yyyymmdd.slice(4, 6)}-${yyyymmdd.slice(6, 8)} is not a real date.` };
  }
  if (year < 1850) return { code: 'BIRTH_DATE', message: `A birth year of ${year} is not plausible.` };
  const todayUtc = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  if (date.getTime() > todayUtc) return { code: 'BIRTH_DATE', message: 'The birth date is in the future.' };
  return null;
}

/** Upgrades a 15-digit first-generation number (born 19xx) to the 18-digit form. */
export function upgradeLegacyResidentId(legacy: string): string | null {
  if (!/^\d{15}$/.test(legacy)) return null;
  const body = legacy.slice(0, 6) + '19' + legacy.slice(6);
  return body + mod11_2(body);
}

/** Completes 17 digits with their check character; used by the synthetic registries. */
export function withResidentIdCheck(first17: string): string {
  return first17 + mod11_2(first17);
}
