/** One reason a value failed a standard, with a stable machine code and a sentence for people. */
export interface ValidationIssue {
  readonly code: string;
  readonly message: string;
}

/**
 * Validators return values, never throw: a bad ID number is an expected outcome at a
 * service counter, not an exception.
 */
export type ValidationResult<T> =
  | { readonly valid: true; readonly value: string; readonly errors: readonly []; readonly parsed: T }
  | { readonly valid: false; readonly value: string; readonly errors: readonly ValidationIssue[]; readonly parsed: Partial<T> | null };

export function ok<T>(value: string, parsed: T): ValidationResult<T> {
  return { valid: true, value, errors: [], parsed };
}

export function fail<T>(value: string, errors: ValidationIssue[], parsed: Partial<T> | null = null): ValidationResult<T> {
  return { valid: false, value, errors, parsed };
}
