import type { z } from 'zod';
import { TongbanError } from './tongban-error.ts';

/** A schema failure at a boundary, as one VALIDATION_FAILED error listing every issue. */
export function validationError(error: z.ZodError, code: 'VALIDATION_FAILED' | 'CONFIG_INVALID' = 'VALIDATION_FAILED'): TongbanError {
  const errors = error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
  return new TongbanError(code, errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join('; '), { errors });
}
