/** Output helpers: JSON for machines, plain lines for people. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function printLines(lines: readonly string[]): void {
  process.stdout.write(lines.join('\n') + '\n');
}

/** Exit codes: 0 ok, 1 a negative answer (invalid value, not found), 2 a usage or runtime error. */
export const EXIT = { ok: 0, negative: 1, error: 2 } as const;
