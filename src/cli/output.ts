import stringWidth from 'string-width';

/**
 * Output helpers: tables and records for people by default, JSON (`--json`) for scripts.
 * Widths are measured in terminal columns (string-width), so Chinese names, which take two
 * columns per character, keep the columns aligned.
 */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function printLines(lines: readonly string[]): void {
  process.stdout.write(lines.join('\n') + '\n');
}

const padTo = (text: string, width: number) => text + ' '.repeat(Math.max(0, width - stringWidth(text)));

/** Rows under upper-case column headers, columns two spaces apart; the last column is not padded. */
export function formatTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string[] {
  const all = [headers.map((h) => h.toUpperCase()), ...rows.map((r) => r.map((cell) => cell.replace(/\s*\n\s*/g, ' ')))];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => stringWidth(r[i] ?? ''))));
  return all.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : padTo(cell, widths[i]!))).join('  ').trimEnd());
}

export function printTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>, empty = '(none)'): void {
  printLines(rows.length === 0 ? [empty] : formatTable(headers, rows));
}

/** One record as aligned "label  value" lines; entries with an undefined value are left out. */
export function formatRecord(entries: ReadonlyArray<readonly [string, string | undefined]>): string[] {
  const present = entries.filter((e): e is readonly [string, string] => e[1] !== undefined);
  const width = Math.max(0, ...present.map(([label]) => stringWidth(label)));
  return present.map(([label, value]) => `${padTo(label, width)}  ${value}`);
}

export function printRecord(entries: ReadonlyArray<readonly [string, string | undefined]>): void {
  printLines(formatRecord(entries));
}

/**
 * Exit codes, the same for every command (README "Exit codes"):
 * 0 done; 1 refused or invalid — the command ran and the answer is no (an invalid number, a code
 * not in a table, a node refusing the request, a broken audit chain); 2 usage — the command could
 * not be carried out as given (unknown command or flag, missing or malformed argument, a node or
 * folder that is not there, a node that does not answer).
 */
export const EXIT = { ok: 0, refused: 1, usage: 2 } as const;

/** A node answered with a problem: the request was understood and refused (exit 1). */
export class Refusal extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, status: number, message: string) {
    super(message);
    this.name = 'Refusal';
    this.code = code;
    this.status = status;
  }
}

/** A `--port` style option's value (0–65535). */
export function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`"${value}" is not a port number (0–65535).`);
  }
  return port;
}
