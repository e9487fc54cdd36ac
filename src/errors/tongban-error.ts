import { errorStatus, type ErrorCode } from './codes.ts';

/** RFC 9457 problem details as Tongban sends them. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail?: string;
  instance?: string;
  errors?: ReadonlyArray<{ path?: string; message: string }>;
}

const PROBLEM_BASE = 'https://tongban.dev/problems/';

/**
 * An error with a stable code. The message is public text (safe to show to the caller);
 * anything internal goes in `cause` and is never serialised.
 */
export class TongbanError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly errors: ReadonlyArray<{ path?: string; message: string }> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; errors?: ReadonlyArray<{ path?: string; message: string }> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TongbanError';
    this.code = code;
    this.status = errorStatus[code];
    this.errors = options.errors;
  }

  toProblem(instance?: string): Problem {
    return toProblem(this.code, this.message, { instance, errors: this.errors });
  }
}

export function toProblem(
  code: ErrorCode,
  detail: string,
  extra: { instance?: string | undefined; errors?: ReadonlyArray<{ path?: string; message: string }> | undefined } = {},
): Problem {
  const status = errorStatus[code];
  const problem: Problem = {
    type: PROBLEM_BASE + code.toLowerCase().replaceAll('_', '-'),
    title: titleOf(code),
    status,
    code,
    // Never leak internals of a server fault to the caller.
    detail: status >= 500 && code === 'INTERNAL' ? 'An internal error occurred.' : detail,
  };
  if (extra.instance) problem.instance = extra.instance;
  if (extra.errors && extra.errors.length > 0) problem.errors = extra.errors;
  return problem;
}

/** Words of codes that are abbreviations, written as such in titles ("CSRF rejected", "Key ID mismatch"). */
const ABBREVIATIONS = new Set(['CSRF', 'ID']);

function titleOf(code: ErrorCode): string {
  const words = code.split('_').map((word) => (ABBREVIATIONS.has(word) ? word : word.toLowerCase()));
  const first = words[0] ?? '';
  return [first.charAt(0).toUpperCase() + first.slice(1), ...words.slice(1)].join(' ');
}

export function isTongbanError(value: unknown): value is TongbanError {
  return value instanceof TongbanError;
}
